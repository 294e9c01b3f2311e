package orderapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// ErrNotFound is returned for an order that does not exist in the tenant.
var ErrNotFound = errors.New("orderapi: order not found")

// Client calls the order service's admin API for other services. It is safe
// for concurrent use.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the order API at baseURL (scheme and host).
// hc must carry the admin token (the platform's HTTPClient does); nil means
// a default client.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("order", baseURL, hc)}
}

// Get returns the order with the given ID, for the tenant in ctx, through
// GET /api/v1/admin/orders/{id}. An unknown order is ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/orders/" + url.PathEscape(id), Out: &o})
	if apiclient.IsStatus(err, http.StatusNotFound) {
		return Order{}, fmt.Errorf("%w: %w", ErrNotFound, err) // the answer stays in the chain
	}
	return o, err
}
