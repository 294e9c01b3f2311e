package paymentapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the payment service's admin API for the tenant in ctx. It is
// safe for concurrent use. Every call is idempotent (Authorize by order ID,
// Capture and Refund by key, Void by nature), so apiclient retries them on
// a lost connection or a 502/503/504.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host). A
// nil hc means a client with apiclient.DefaultTimeout; hc must carry the
// admin token (the platform's clients do).
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("payment", baseURL, hc)}
}

// Authorize authorizes r.Amount for r.OrderID (POST /api/v1/admin/payments).
// A repeat for the same order returns the first outcome: the same payment,
// or the same decline. A decline is a *DeclinedError, a provider timeout
// ErrTimeout (the payment is then failed and voided at the provider).
func (c *Client) Authorize(ctx context.Context, r AuthorizeRequest) (Payment, error) {
	var p Payment
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/payments", Body: r, Out: &p, Idempotent: true})
	return p, mapError(err)
}

// Capture captures r.Amount of the order's authorization
// (POST /api/v1/admin/payments/{order_id}/capture).
func (c *Client) Capture(ctx context.Context, orderID string, r CaptureRequest) (Payment, error) {
	var p Payment
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: orderPath(orderID) + "/capture", Body: r, Out: &p, Idempotent: true})
	return p, mapError(err)
}

// Void voids the order's authorization (POST /api/v1/admin/payments/{order_id}/void).
// It is idempotent; a failed payment is returned unchanged, and a pending
// one is voided before its authorization can complete.
func (c *Client) Void(ctx context.Context, orderID string) (Payment, error) {
	var p Payment
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: orderPath(orderID) + "/void", Out: &p, Idempotent: true})
	return p, mapError(err)
}

// Refund refunds r.Amount of the order's captured amount
// (POST /api/v1/admin/payments/{order_id}/refunds). More than captured and
// not yet refunded is ErrRefundExceedsCaptured.
func (c *Client) Refund(ctx context.Context, orderID string, r RefundRequest) (Payment, error) {
	var p Payment
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: orderPath(orderID) + "/refunds", Body: r, Out: &p, Idempotent: true})
	return p, mapError(err)
}

// Get returns the order's payment (GET /api/v1/admin/payments/{order_id}).
func (c *Client) Get(ctx context.Context, orderID string) (Payment, error) {
	var p Payment
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: orderPath(orderID), Out: &p})
	return p, mapError(err)
}

// ListParams filters and pages GET /api/v1/admin/payments; zero values are unset.
type ListParams struct {
	Status Status
	Cursor string
	Limit  int
}

// List returns one page of payments, newest first.
func (c *Client) List(ctx context.Context, lp ListParams) (PaymentList, error) {
	q := url.Values{}
	if lp.Status != "" {
		q.Set("status", string(lp.Status))
	}
	if lp.Cursor != "" {
		q.Set("cursor", lp.Cursor)
	}
	if lp.Limit > 0 {
		q.Set("limit", strconv.Itoa(lp.Limit))
	}
	path := "/api/v1/admin/payments"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l PaymentList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &l})
	return l, mapError(err)
}

// Audit returns the counts of payments needing attention
// (GET /api/v1/admin/payments/audit).
func (c *Client) Audit(ctx context.Context) (Audit, error) {
	var a Audit
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/payments/audit", Out: &a})
	return a, mapError(err)
}

// ProvidersPath is the operation Providers calls.
const ProvidersPath = "/api/v1/payments/providers"

// Providers returns the payment providers this deployment offers
// (GET /api/v1/payments/providers): a checkout naming another is refused
// before anything is written.
func (c *Client) Providers(ctx context.Context) (Providers, error) {
	var p Providers
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: ProvidersPath, Out: &p})
	return p, mapError(err)
}

func orderPath(orderID string) string {
	return "/api/v1/admin/payments/" + url.PathEscape(orderID)
}

// mapError turns the service's problem answers into the contract's errors,
// keeping the *apiclient.Error in the chain for callers that want it.
func mapError(err error) error {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case CodeDeclined:
		reason := e.Detail
		if len(e.Errors) > 0 {
			if s, ok := e.Errors[0].Value.(string); ok && s != "" {
				reason = s
			}
		}
		return &DeclinedError{Reason: reason, Err: e}
	case CodeTimeout:
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case CodeNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case CodeRefundExceedsCaptured:
		return fmt.Errorf("%w: %w", ErrRefundExceedsCaptured, err)
	}
	return err
}
