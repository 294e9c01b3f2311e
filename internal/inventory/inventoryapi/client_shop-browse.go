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
// MaxAvailabilitySKUs SKUs; the answer lists them in the order given, and
// none for none.
func (c *Client) Availability(ctx context.Context, skus []string) (AvailabilityList, error) {
	path := "/api/v1/availability"
	if len(skus) > 0 {
		path += "?" + url.Values{"sku": skus}.Encode()
	}
	var out AvailabilityList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, mapError(err)
}
