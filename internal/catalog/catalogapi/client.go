package catalogapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// DefaultTimeout bounds one call of a Client built without an http.Client.
const DefaultTimeout = 5 * time.Second

// ErrNotFound matches (with errors.Is) an *Error for a 404 answer.
var ErrNotFound = errors.New("catalogapi: not found")

// Error is a problem answer from the catalog API. It wraps the answer as
// the other services' clients give theirs (*apiclient.Error), so a caller
// classing errors by status or code treats every client alike.
type Error struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// problem is the same answer as an *apiclient.Error.
	problem *apiclient.Error
}

// Unwrap returns the answer as an *apiclient.Error.
func (e *Error) Unwrap() error {
	if e.problem == nil {
		return nil // not a typed nil: errors.As must not match it
	}
	return e.problem
}

func (e *Error) Error() string {
	return fmt.Sprintf("catalog api: %d %s: %s", e.Status, e.Code, e.Detail)
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Client calls the catalog API: the public reads other services and the
// storefront make, and the admin operations (adminclient.go). It is safe for
// concurrent use. Reads are idempotent, so a failed connection or a
// 502/503/504 is retried twice with a short backoff.
type Client struct {
	base string
	http *http.Client
	// api makes the admin calls, over the same http.Client.
	api *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host, e.g.
// "http://catalog:8080"). A nil hc means a client with DefaultTimeout.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{base: baseURL, http: hc, api: apiclient.New("catalog", baseURL, hc)}
}

// ListParams filters and pages GET /api/v1/products; zero values are unset.
type ListParams struct {
	Limit    int
	Cursor   string
	Category string
	MinPrice *int64
	MaxPrice *int64
	Sort     string
}

// Product returns the active product with the given ID or slug, for the
// tenant in ctx.
func (c *Client) Product(ctx context.Context, idOrSlug string) (Product, error) {
	var p Product
	err := c.get(ctx, "/api/v1/products/"+url.PathEscape(idOrSlug), &p)
	return p, err
}

// Products returns one page of active products for the tenant in ctx.
func (c *Client) Products(ctx context.Context, lp ListParams) (ProductList, error) {
	q := url.Values{}
	if lp.Limit > 0 {
		q.Set("limit", strconv.Itoa(lp.Limit))
	}
	if lp.Cursor != "" {
		q.Set("cursor", lp.Cursor)
	}
	if lp.Category != "" {
		q.Set("category", lp.Category)
	}
	if lp.MinPrice != nil {
		q.Set("min_price", strconv.FormatInt(*lp.MinPrice, 10))
	}
	if lp.MaxPrice != nil {
		q.Set("max_price", strconv.FormatInt(*lp.MaxPrice, 10))
	}
	if lp.Sort != "" {
		q.Set("sort", lp.Sort)
	}
	path := "/api/v1/products"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l ProductList
	err := c.get(ctx, path, &l)
	return l, err
}

// Categories returns the category tree of the tenant in ctx (GET
// /api/v1/categories): the roots, each with its children, ordered by
// position then name.
func (c *Client) Categories(ctx context.Context) (CategoryList, error) {
	var l CategoryList
	err := c.get(ctx, "/api/v1/categories", &l)
	return l, err
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return fmt.Errorf("catalog api GET %s: %w", path, err)
	}
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retry, err := c.try(ctx, tenant, path, out)
		if err == nil || !retry || attempt == 3 {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 4
	}
}

// try makes one request and says whether a failure is worth retrying.
func (c *Client) try(ctx context.Context, tenant, path string, out any) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, fmt.Errorf("catalog api GET %s: %w", path, err)
	}
	req.Header.Set(tenancy.Header, tenant)
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("catalog api GET %s: %w", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return true, fmt.Errorf("catalog api GET %s: read body: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		e := &Error{Status: res.StatusCode}
		_ = json.Unmarshal(body, e) // a non-problem body still yields the status
		e.Status = res.StatusCode
		e.problem = &apiclient.Error{}
		_ = json.Unmarshal(body, e.problem)
		e.problem.Status, e.problem.Service = res.StatusCode, "catalog"
		if e.problem.Code == "" {
			e.problem.Code = http.StatusText(res.StatusCode)
		}
		switch res.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true, e
		}
		return false, e
	}
	if err := json.Unmarshal(body, out); err != nil {
		return false, fmt.Errorf("catalog api GET %s: decode: %w", path, err)
	}
	return false, nil
}
