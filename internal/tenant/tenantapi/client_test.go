package tenantapi

import (
	"errors"
	"testing"

	"github.com/mercato/mercato/internal/platform/web"
)

// The Client is the HTTP server's tenant resolver and origin policy without
// importing the server: its method set and its error are checked here.
var (
	_ web.TenantResolver = (*Client)(nil)
	_ web.OriginPolicy   = (*Client)(nil)
)

func TestErrUnknownTenantIsTheServers(t *testing.T) {
	t.Parallel()
	if !errors.Is(ErrUnknownTenant, web.ErrUnknownTenant) {
		t.Fatalf("ErrUnknownTenant = %v, want an error matching web.ErrUnknownTenant", ErrUnknownTenant)
	}
}
