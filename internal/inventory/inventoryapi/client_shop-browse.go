package inventoryapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Availability returns whether each SKU can be bought, and how many are
// left when few are (GET /api/v1/availability): a public read, the one
// the storefront's product pages make as their guest. At most
// MaxAvailabilitySKUs SKUs; the answer lists them in the order given.
func (c *Client) Availability(ctx context.Context, skus []string) (AvailabilityList, error) {
	q := url.Values{"sku": skus}
	var out AvailabilityList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/availability?" + q.Encode(), Out: &out})
	return out, mapError(err)
}
