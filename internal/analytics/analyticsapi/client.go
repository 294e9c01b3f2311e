package analyticsapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the analytics reports for the admin pages. It is safe for
// concurrent use; the staff member's token comes from the context
// (apiclient.WithToken).
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host). A
// nil hc means a client with apiclient's default timeout.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("analytics", baseURL, hc)}
}

// Base is the path of the reports.
const Base = "/api/v1/admin/analytics"

// Query is a report's period: From and To (YYYY-MM-DD), or Days ending
// today; Currency, or the store's most used.
type Query struct {
	From, To string
	Days     int
	Currency string
	Limit    int
}

// Values is q as query parameters.
func (q Query) Values() url.Values {
	v := url.Values{}
	if q.From != "" || q.To != "" {
		v.Set("from", q.From)
		v.Set("to", q.To)
	} else if q.Days > 0 {
		v.Set("days", strconv.Itoa(q.Days))
	}
	if q.Currency != "" {
		v.Set("currency", q.Currency)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func (c *Client) get(ctx context.Context, path string, q Query, out any) error {
	if v := q.Values().Encode(); v != "" {
		path += "?" + v
	}
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: Base + path, Out: out})
}

// Summary returns a period's figures (GET …/summary).
func (c *Client) Summary(ctx context.Context, q Query) (Summary, error) {
	var out Summary
	return out, c.get(ctx, "/summary", q, &out)
}

// Series returns revenue per day (GET …/series).
func (c *Client) Series(ctx context.Context, q Query) (Series, error) {
	var out Series
	return out, c.get(ctx, "/series", q, &out)
}

// Products returns the best-selling products (GET …/products).
func (c *Client) Products(ctx context.Context, q Query) (TopList, error) {
	var out TopList
	return out, c.get(ctx, "/products", q, &out)
}

// Categories returns the best-selling categories (GET …/categories).
func (c *Client) Categories(ctx context.Context, q Query) (TopList, error) {
	var out TopList
	return out, c.get(ctx, "/categories", q, &out)
}

// Funnel returns the cart-to-order funnel (GET …/funnel).
func (c *Client) Funnel(ctx context.Context, q Query) (Funnel, error) {
	var out Funnel
	return out, c.get(ctx, "/funnel", q, &out)
}

// Customers returns new and returning customers (GET …/customers).
func (c *Client) Customers(ctx context.Context, q Query) (Customers, error) {
	var out Customers
	return out, c.get(ctx, "/customers", q, &out)
}
