package reviewapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the review API for the storefront and admin pages and other
// services. It is safe for concurrent use. Errors are *apiclient.Error for
// problem answers: test them with apiclient.IsCode(err, "not_a_buyer") and
// friends. A buyer's calls take the customer's access token from the
// context (apiclient.WithToken) or the order token given.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host, e.g.
// "http://review:8080"). A nil hc means a client with apiclient's default
// timeout.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("review", baseURL, hc)}
}

const (
	base      = "/api/v1/reviews"
	adminBase = "/api/v1/admin/reviews"
)

// ProductReviews returns a page of a product's published reviews, newest
// first (GET /api/v1/reviews?product_id=…).
func (c *Client) ProductReviews(ctx context.Context, productID, cursor string, limit int) (ReviewList, error) {
	q := url.Values{"product_id": {productID}}
	var out ReviewList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(base, q, cursor, limit), Out: &out})
	return out, err
}

// Ratings returns the ratings of products, in the order given (GET
// /api/v1/reviews/ratings); at most 100 at once.
func (c *Client) Ratings(ctx context.Context, productIDs []string) (RatingList, error) {
	var out RatingList
	if len(productIDs) == 0 {
		return RatingList{Items: []Rating{}}, nil
	}
	path := base + "/ratings?" + url.Values{"product_id": {strings.Join(productIDs, ",")}}.Encode()
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, err
}

// Create writes the buyer's review of an order line (POST /api/v1/reviews),
// with orderToken for a guest ("" for a signed-in customer, whose token the
// context carries). idempotencyKey makes a form sent twice one review.
func (c *Client) Create(ctx context.Context, orderToken string, in ReviewCreate, idempotencyKey string) (Review, error) {
	var out Review
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: base, Body: in, Out: &out,
		IdempotencyKey: idempotencyKey, Header: tokenHeader(orderToken)})
	return out, err
}

// Update edits the buyer's own review (PATCH /api/v1/reviews/{id}); a
// review that is not theirs is a 404 review_not_found.
func (c *Client) Update(ctx context.Context, orderToken, id string, in ReviewUpdate, idempotencyKey string) (Review, error) {
	var out Review
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: base + "/" + url.PathEscape(id), Body: in, Out: &out,
		IdempotencyKey: idempotencyKey, Header: tokenHeader(orderToken)})
	return out, err
}

// Delete removes the buyer's own review (DELETE /api/v1/reviews/{id}).
// Deleting is idempotent for its author: a review already gone is a 404
// review_not_found, which callers may take as done.
func (c *Client) Delete(ctx context.Context, orderToken, id string) error {
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: base + "/" + url.PathEscape(id), Idempotent: true,
		Header: tokenHeader(orderToken)})
}

// OrderReviews returns the buyer's reviews of an order and the lines they
// may review now (GET /api/v1/reviews/orders/{order_id}).
func (c *Client) OrderReviews(ctx context.Context, orderID, orderToken string) (OrderReviews, error) {
	var out OrderReviews
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: base + "/orders/" + url.PathEscape(orderID), Out: &out,
		Header: tokenHeader(orderToken)})
	return out, err
}

// AdminReviews returns a page of the store's reviews of one status, newest
// first (GET /api/v1/admin/reviews).
func (c *Client) AdminReviews(ctx context.Context, status Status, cursor string, limit int) (ReviewList, error) {
	q := url.Values{"status": {string(status)}}
	var out ReviewList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(adminBase, q, cursor, limit), Out: &out})
	return out, err
}

// AdminReview returns a review as staff see it (GET
// /api/v1/admin/reviews/{id}); an unknown one is a 404 review_not_found.
func (c *Client) AdminReview(ctx context.Context, id string) (Review, error) {
	var out Review
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/" + url.PathEscape(id), Out: &out})
	return out, err
}

// Approve publishes a review (POST /api/v1/admin/reviews/{id}/approve).
func (c *Client) Approve(ctx context.Context, id, reason string) (Review, error) {
	return c.admin(ctx, http.MethodPost, id, "/approve", Approve{Reason: reason})
}

// Reject refuses a pending review with a reason (…/reject).
func (c *Client) Reject(ctx context.Context, id, reason string) (Review, error) {
	return c.admin(ctx, http.MethodPost, id, "/reject", Moderate{Reason: reason})
}

// Hide takes a published review down with a reason (…/hide).
func (c *Client) Hide(ctx context.Context, id, reason string) (Review, error) {
	return c.admin(ctx, http.MethodPost, id, "/hide", Moderate{Reason: reason})
}

// Reply sets the store's public answer to a review; "" removes it
// (PUT …/reply).
func (c *Client) Reply(ctx context.Context, id, body string) (Review, error) {
	return c.admin(ctx, http.MethodPut, id, "/reply", Reply{Body: body})
}

// admin makes a moderation call answered with the review. Each is
// idempotent (repeating it changes nothing more), so it is retried like a
// read.
func (c *Client) admin(ctx context.Context, method, id, suffix string, body any) (Review, error) {
	var out Review
	err := c.c.Do(ctx, apiclient.Call{Method: method, Path: adminBase + "/" + url.PathEscape(id) + suffix, Body: body,
		Out: &out, Idempotent: true})
	return out, err
}

// Settings returns the store's review settings (GET
// /api/v1/admin/reviews/settings).
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	var out Settings
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/settings", Out: &out})
	return out, err
}

// PutSettings replaces the store's review settings.
func (c *Client) PutSettings(ctx context.Context, s Settings) (Settings, error) {
	var out Settings
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPut, Path: adminBase + "/settings", Body: s, Out: &out, Idempotent: true})
	return out, err
}

func tokenHeader(orderToken string) http.Header {
	if orderToken == "" {
		return nil
	}
	return http.Header{"X-Order-Token": {orderToken}}
}

// withQuery returns path with q and the page's cursor and limit, when set.
func withQuery(path string, q url.Values, cursor string, limit int) string {
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return path + "?" + q.Encode()
}
