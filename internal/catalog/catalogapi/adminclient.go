package catalogapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// The admin operations of the catalog API, for the admin UI. They carry the
// credentials of the http.Client or the context (see apiclient), never
// their own. A problem answer is an *Error, as from the public reads:
// errors.Is(err, ErrNotFound) for any 404 (the product, or the category a
// body names: the code tells which), and the *apiclient.Error with the
// answer's fields is in its chain.

// AdminListParams filters and pages GET /api/v1/admin/products; zero values
// are unset.
type AdminListParams struct {
	// Status keeps only products with this status.
	Status Status
	// SKU lists only the product owning this SKU (none or one).
	SKU    string
	Cursor string
	Limit  int
}

// AdminProducts returns one page of the tenant's products of every status,
// newest first (GET /api/v1/admin/products).
func (c *Client) AdminProducts(ctx context.Context, p AdminListParams) (ProductList, error) {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.SKU != "" {
		q.Set("sku", p.SKU)
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	path := "/api/v1/admin/products"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out ProductList
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, answer(err)
}

// AdminProduct returns a product of any status by ID (GET
// /api/v1/admin/products/{id}).
func (c *Client) AdminProduct(ctx context.Context, id string) (Product, error) {
	var out Product
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/products/" + url.PathEscape(id), Out: &out})
	return out, answer(err)
}

// CreateProduct creates a product (POST /api/v1/admin/products). The
// service answers a repeat with the same idempotencyKey with the first
// outcome, so a resent form makes one product; "" sends none.
func (c *Client) CreateProduct(ctx context.Context, p ProductCreate, idempotencyKey string) (Product, error) {
	var out Product
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/products", Body: p, Out: &out, IdempotencyKey: idempotencyKey})
	return out, answer(err)
}

// UpdateProduct changes the fields u sets (PATCH
// /api/v1/admin/products/{id}).
func (c *Client) UpdateProduct(ctx context.Context, id string, u ProductUpdate) (Product, error) {
	var out Product
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: "/api/v1/admin/products/" + url.PathEscape(id), Body: u, Out: &out})
	return out, answer(err)
}

// ArchiveProduct archives a product (DELETE /api/v1/admin/products/{id}):
// products are never deleted.
func (c *Client) ArchiveProduct(ctx context.Context, id string) error {
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: "/api/v1/admin/products/" + url.PathEscape(id)})
	return answer(err)
}

// AdminCategories returns every category of the tenant in one flat list,
// each with its parent (GET /api/v1/admin/categories); Categories gives the
// tree.
func (c *Client) AdminCategories(ctx context.Context) (CategoryList, error) {
	var out CategoryList
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/categories", Out: &out})
	return out, answer(err)
}

// AdminCategory returns a category by ID (GET /api/v1/admin/categories/{id}).
func (c *Client) AdminCategory(ctx context.Context, id string) (Category, error) {
	var out Category
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/categories/" + url.PathEscape(id), Out: &out})
	return out, answer(err)
}

// CreateCategory creates a category (POST /api/v1/admin/categories); a
// repeat with the same idempotencyKey gets the first outcome ("" sends
// none).
func (c *Client) CreateCategory(ctx context.Context, cc CategoryCreate, idempotencyKey string) (Category, error) {
	var out Category
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/categories", Body: cc, Out: &out, IdempotencyKey: idempotencyKey})
	return out, answer(err)
}

// UpdateCategory changes the fields u sets (PATCH
// /api/v1/admin/categories/{id}).
func (c *Client) UpdateCategory(ctx context.Context, id string, u CategoryUpdate) (Category, error) {
	var out Category
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: "/api/v1/admin/categories/" + url.PathEscape(id), Body: u, Out: &out})
	return out, answer(err)
}

// DeleteCategory deletes a category without children or products (DELETE
// /api/v1/admin/categories/{id}); otherwise the answer is a 409
// category_has_children or category_in_use.
func (c *Client) DeleteCategory(ctx context.Context, id string) error {
	err := c.api.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: "/api/v1/admin/categories/" + url.PathEscape(id)})
	return answer(err)
}

// answer makes a problem answer an *Error wrapping it, as the public reads
// give theirs; any other error (no connection, breaker open) is returned as
// it is.
func answer(err error) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) || err != error(ae) {
		return err
	}
	return &Error{Status: ae.Status, Code: ae.Code, Detail: ae.Detail, problem: ae}
}
