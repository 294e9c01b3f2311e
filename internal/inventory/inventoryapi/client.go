package inventoryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the inventory's admin API (services call it with the admin
// token the platform's client adds, the admin UI with the signed-in
// person's). It is safe for concurrent use.
//
// Reserve, Commit, Release and Restock are idempotent by their own keys
// (order ID, reference), so a failed connection or a 502/503/504 is retried.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the inventory API at baseURL (scheme and
// host, e.g. "http://inventory:8080"). A nil hc means apiclient's default.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New(Source, strings.TrimSuffix(baseURL, "/"), hc)}
}

// Reserve holds stock for an order: all lines or none. A repeat for the
// same order returns the existing reservation, whatever its lines. A line
// that no single location can serve fails with *OutOfStockError.
func (c *Client) Reserve(ctx context.Context, r ReserveRequest) (Reservation, error) {
	var out Reservation
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/inventory/reservations", Body: r, Out: &out, Idempotent: true})
	if err != nil {
		return Reservation{}, reserveError(err, r)
	}
	return out, nil
}

// reserveError turns a 409 out_of_stock into *OutOfStockError, taking the
// SKU and what is available from the problem's first field error
// (value the SKU, message "only N available").
func reserveError(err error, r ReserveRequest) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Code != "out_of_stock" {
		return mapError(err)
	}
	oos := &OutOfStockError{Err: ae}
	if len(ae.Errors) > 0 {
		f := ae.Errors[0]
		oos.SKU, _ = f.Value.(string)
		_, _ = fmt.Sscanf(f.Message, "only %d available", &oos.Available)
	}
	for _, l := range r.Lines {
		if l.SKU == oos.SKU {
			oos.Requested += l.Quantity
		}
	}
	return oos
}

// Commit takes a held reservation's stock off the shelf (the order is
// confirmed). Committing a committed reservation returns it unchanged; a
// released or expired one fails with ErrReservationClosed, an unknown order
// with ErrNotFound.
func (c *Client) Commit(ctx context.Context, orderID string) (Reservation, error) {
	var out Reservation
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/inventory/orders/" + url.PathEscape(orderID) + "/reservation/commit", Out: &out, Idempotent: true})
	if err != nil {
		return Reservation{}, mapError(err)
	}
	return out, nil
}

// Release frees a held reservation's stock (cancel, payment failure).
// Releasing a released or expired reservation returns it unchanged; a
// committed one fails with ErrReservationClosed (return its stock with
// Restock), an unknown order with ErrNotFound.
func (c *Client) Release(ctx context.Context, orderID, reason string) (Reservation, error) {
	var out Reservation
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/inventory/orders/" + url.PathEscape(orderID) + "/reservation/release",
		Body: ReleaseRequest{Reason: reason}, Out: &out, Idempotent: true})
	if err != nil {
		return Reservation{}, mapError(err)
	}
	return out, nil
}

// Reservation returns the reservation of an order, or ErrNotFound.
func (c *Client) Reservation(ctx context.Context, orderID string) (Reservation, error) {
	var out Reservation
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/inventory/orders/" + url.PathEscape(orderID) + "/reservation", Out: &out})
	if err != nil {
		return Reservation{}, mapError(err)
	}
	return out, nil
}

// Restock puts returned units back on hand, once per reference.
func (c *Client) Restock(ctx context.Context, r RestockRequest) error {
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/inventory/restocks", Body: r, Out: &RestockResult{}, Idempotent: true})
	return mapError(err)
}

// Stock returns a SKU's stock level (GET /api/v1/admin/inventory/{sku}),
// or ErrNotFound when the inventory has never recorded stock for it.
func (c *Client) Stock(ctx context.Context, sku string) (StockLevel, error) {
	var out StockLevel
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/inventory/" + url.PathEscape(sku), Out: &out})
	if err != nil {
		return StockLevel{}, mapError(err)
	}
	return out, nil
}

// Adjust changes a SKU's stock on hand (POST
// /api/v1/admin/inventory/{sku}/adjustments). An adjustment is not
// idempotent: with an idempotencyKey the service answers a repeat with the
// first outcome (so a resent form adjusts once) and the call is retried;
// with "" it is neither. Taking on_hand below what is reserved fails with a
// 409 insufficient_stock *apiclient.Error.
func (c *Client) Adjust(ctx context.Context, sku string, a Adjustment, idempotencyKey string) (StockLevel, error) {
	var out StockLevel
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/inventory/" + url.PathEscape(sku) + "/adjustments",
		Body: a, Out: &out, IdempotencyKey: idempotencyKey})
	if err != nil {
		return StockLevel{}, mapError(err)
	}
	return out, nil
}

// SetThreshold sets a SKU's low-stock threshold (PUT
// /api/v1/admin/inventory/{sku}/threshold).
func (c *Client) SetThreshold(ctx context.Context, sku string, threshold int64) (StockLevel, error) {
	var out StockLevel
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPut, Path: "/api/v1/admin/inventory/" + url.PathEscape(sku) + "/threshold",
		Body: Threshold{Threshold: threshold}, Out: &out, Idempotent: true})
	if err != nil {
		return StockLevel{}, mapError(err)
	}
	return out, nil
}

// ListParams pages a list; zero values are unset.
type ListParams struct {
	Cursor string
	Limit  int
	// Low lists only SKUs at or below their threshold (stock lists only).
	Low bool
	// SKU lists only this SKU's movements (movement lists only).
	SKU string
}

func (p ListParams) query() string {
	q := url.Values{}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Low {
		q.Set("low", "true")
	}
	if p.SKU != "" {
		q.Set("sku", p.SKU)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// List returns a page of stock levels by SKU (GET /api/v1/admin/inventory);
// with p.Low only the SKUs at or below their threshold.
func (c *Client) List(ctx context.Context, p ListParams) (StockList, error) {
	var out StockList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/inventory" + p.query(), Out: &out})
	return out, mapError(err)
}

// Movements returns a page of the ledger, newest first (GET
// /api/v1/admin/inventory/movements): one SKU's when p.SKU is set, else
// every SKU's.
func (c *Client) Movements(ctx context.Context, p ListParams) (MovementList, error) {
	var out MovementList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/inventory/movements" + p.query(), Out: &out})
	return out, mapError(err)
}

// Audit counts violations of the inventory's invariants for the tenant.
func (c *Client) Audit(ctx context.Context) (Audit, error) {
	var out Audit
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/inventory/audit", Out: &out})
	return out, mapError(err)
}

// mapError makes the contract's sentinels match: a 404 wraps ErrNotFound,
// a 409 reservation_closed ErrReservationClosed. The *apiclient.Error stays
// in the chain for callers that want the detail.
func mapError(err error) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case ae.Code == "reservation_closed":
		return fmt.Errorf("%w: %w", ErrReservationClosed, err)
	}
	return err
}
