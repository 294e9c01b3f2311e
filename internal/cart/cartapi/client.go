package cartapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// ErrNotFound is returned (wrapped) by Client.Get for an unknown cart, or
// one of another tenant.
var ErrNotFound = errors.New("cartapi: cart not found")

// Client reads carts through the cart service's HTTP API, for other
// services. It is safe for concurrent use.
type Client struct {
	api *apiclient.Client
}

// NewClient returns a client for the cart API at baseURL (scheme and host,
// e.g. "http://cart:8080"). A nil hc means apiclient's default client.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{api: apiclient.New("cart", baseURL, hc)}
}

// Get returns the cart with the given ID for the tenant in ctx, with its
// current prices and totals. An unknown cart is ErrNotFound; other problem
// answers are *apiclient.Error.
func (c *Client) Get(ctx context.Context, id string) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/carts/" + url.PathEscape(id), Out: &out})
	if apiclient.IsStatus(err, http.StatusNotFound) {
		return Cart{}, fmt.Errorf("get cart: %w: %w", ErrNotFound, err)
	}
	if err != nil {
		return Cart{}, fmt.Errorf("get cart: %w", err)
	}
	return out, nil
}
