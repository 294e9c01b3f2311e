package searchapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the search service's public API. It is safe for concurrent
// use; every call is a read, so a failed connection or a 502/503/504 is
// retried.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the search API at baseURL (scheme and
// host, e.g. "http://search:8080"). A nil hc means apiclient's default.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New(Source, strings.TrimSuffix(baseURL, "/"), hc)}
}

// Search runs a search of the store the context's tenant names.
func (c *Client) Search(ctx context.Context, q Query) (Results, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", q.Q)
	set("category", q.Category)
	if q.PriceMin > 0 {
		set("price_min", strconv.FormatInt(q.PriceMin, 10))
	}
	if q.PriceMax > 0 {
		set("price_max", strconv.FormatInt(q.PriceMax, 10))
	}
	if q.InStock {
		set("in_stock", "true")
	}
	if q.Rating > 0 {
		set("rating", strconv.FormatInt(q.Rating, 10))
	}
	set("sort", q.Sort)
	set("cursor", q.Cursor)
	if q.Limit > 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	path := "/api/v1/search"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out Results
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out, Idempotent: true})
	return out, err
}

// Suggest returns up to limit products whose titles start as q does.
func (c *Client) Suggest(ctx context.Context, q string, limit int) (Suggestions, error) {
	v := url.Values{"q": {q}}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out Suggestions
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/search/suggestions?" + v.Encode(), Out: &out, Idempotent: true})
	return out, err
}

// ConsumerConcurrency is how many events each of the search service's
// consumers applies at once (mercato bench search feeds its consumer path
// as many at a time). Their order does not matter: every projection write
// keeps the newest by the event's own version (a product's updated_at, a
// stock event's time, a rating's Version), and concurrent refreshes share
// index batches.
const ConsumerConcurrency = 4
