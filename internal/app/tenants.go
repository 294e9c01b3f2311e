package app

import (
	"net/http"

	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// newTenantResolver resolves request tenants through the tenant service's
// API, in process or remote, with the client's cache in front.
func newTenantResolver(base string, hc *http.Client) web.TenantResolver {
	return tenantapi.NewClient(base, hc)
}
