package tenantapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// StorePath is the store's own resource in the admin API: its settings,
// plan and hosts.
const StorePath = "/api/v1/admin/store"

// Store returns the store in ctx (an admin operation: services call it with
// the platform's token). Services that must agree with the store's
// settings read them here, e.g. the currency every price is in.
func (c *Client) Store(ctx context.Context) (Store, error) {
	var s Store
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: StorePath, Out: &s}); err != nil {
		return Store{}, fmt.Errorf("read store settings: %w", err)
	}
	return s, nil
}
