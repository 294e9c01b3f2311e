package cartapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// ErrNotFound is returned (wrapped) by the Client's cart operations for an
// unknown cart, or one of another tenant.
var ErrNotFound = errors.New("cartapi: cart not found")

// Client calls the cart service's HTTP API: other services read carts
// through it, the storefront changes them. It is safe for concurrent use.
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
	return c.get(ctx, "/api/v1/carts/"+url.PathEscape(id))
}

// Lines is Get without the totals: the cart service does not ask pricing
// for them. For a caller that quotes the lines itself.
func (c *Client) Lines(ctx context.Context, id string) (Cart, error) {
	return c.get(ctx, "/api/v1/carts/"+url.PathEscape(id)+"?totals=false")
}

func (c *Client) get(ctx context.Context, path string) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	if apiclient.IsStatus(err, http.StatusNotFound) {
		return Cart{}, fmt.Errorf("get cart: %w: %w", ErrNotFound, err)
	}
	if err != nil {
		return Cart{}, fmt.Errorf("get cart: %w", err)
	}
	return out, nil
}

// The storefront's operations, for the UI: the cart ID is the credential, so
// they need no other. A problem answer keeps its *apiclient.Error in the
// chain; an unknown cart (404 cart_not_found) also matches ErrNotFound,
// while an unknown line is the 404 line_not_found alone.

// Create makes an open cart, with the lines and fields cc sets (POST
// /api/v1/carts). The service answers a repeat with the same
// idempotencyKey with the first cart when the caller is signed in; a
// guest's key is not kept (anyone could send it), so "" is as good for a
// guest.
func (c *Client) Create(ctx context.Context, cc CartCreate, idempotencyKey string) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/carts", Body: cc, Out: &out, IdempotencyKey: idempotencyKey})
	return out, cartError("create cart", err)
}

// Update sets the cart's email, coupon or destination: the fields u sets,
// an empty string clearing one (PATCH /api/v1/carts/{id}). A coupon or
// destination pricing refuses is a 422 with pricing's code
// (unknown_coupon…).
func (c *Client) Update(ctx context.Context, id string, u CartUpdate) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: "/api/v1/carts/" + url.PathEscape(id), Body: u, Out: &out})
	return out, cartError("update cart", err)
}

// AddItem adds a line, or adds to the quantity of the line that holds the
// SKU (POST /api/v1/carts/{id}/items). It is not retried: a repeat would
// add again.
func (c *Client) AddItem(ctx context.Context, id string, it Item) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/carts/" + url.PathEscape(id) + "/items", Body: it, Out: &out})
	return out, cartError("add to cart", err)
}

// SetQuantity sets the quantity of a line (PATCH
// /api/v1/carts/{id}/items/{line}).
func (c *Client) SetQuantity(ctx context.Context, id, line string, quantity int64) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: "/api/v1/carts/" + url.PathEscape(id) + "/items/" + url.PathEscape(line),
		Body: ItemUpdate{Quantity: quantity}, Out: &out})
	return out, cartError("set cart line quantity", err)
}

// RemoveItem takes a line out of the cart (DELETE
// /api/v1/carts/{id}/items/{line}) and returns the cart as it is then.
func (c *Client) RemoveItem(ctx context.Context, id, line string) (Cart, error) {
	var out Cart
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: "/api/v1/carts/" + url.PathEscape(id) + "/items/" + url.PathEscape(line), Out: &out})
	return out, cartError("remove cart line", err)
}

// ListParams filters and pages GET /api/v1/admin/carts; zero values are
// unset.
type ListParams struct {
	// Status keeps only carts with this status (StatusOpen,
	// StatusCheckedOut).
	Status string
	Cursor string
	Limit  int
}

// AdminCarts returns one page of the tenant's carts, most recently changed
// first (GET /api/v1/admin/carts): an admin operation.
func (c *Client) AdminCarts(ctx context.Context, p ListParams) (CartList, error) {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	path := "/api/v1/admin/carts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out CartList
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	if err != nil {
		return CartList{}, fmt.Errorf("list carts: %w", err)
	}
	return out, nil
}

// cartError wraps err with what was being done, and with ErrNotFound for
// an unknown cart.
func cartError(doing string, err error) error {
	switch {
	case err == nil:
		return nil
	case apiclient.IsStatus(err, http.StatusNotFound) && !apiclient.IsCode(err, "line_not_found"):
		return fmt.Errorf("%s: %w: %w", doing, ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
