package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// access is the catalog's authorization table: the staff roles that may
// call each admin operation, by huma OperationID; the platform enforces it
// (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. Staff keep the catalog (products and
// categories); support may only read it.
var access = map[string][]auth.Role{
	"admin-create-product":  editors,
	"admin-list-products":   readers,
	"admin-get-product":     readers,
	"admin-update-product":  editors,
	"admin-archive-product": editors,
	"admin-create-category": editors,
	"admin-list-categories": readers,
	"admin-get-category":    readers,
	"admin-update-category": editors,
	"admin-delete-category": editors,
}

// The role sets of access.
var (
	readers = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport}
	editors = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff}
)

// Routes registers the catalog's operations: the public storefront reads
// under /api/v1/products and /api/v1/categories, and the admin CRUD under
// /api/v1/admin/… (the roles in access, enforced by the platform); and,
// beside the API, the demo images under /media/demo/.
func (s *Service) Routes(api *web.API) {
	api.Tag("catalog", "The storefront's catalog: active products with their variants and prices, and the "+
		"category tree. Anyone may read it; draft and archived products are not shown.")
	api.Tag("catalog admin", "Products of every status, their variants (SKUs) and prices, and categories.")
	// The demo products' pictures, until the media service serves uploads.
	api.Handle("GET "+demoImagePrefix+"{name}", http.HandlerFunc(s.serveDemoImage))
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"catalog"}
		return web.Public(op)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"catalog admin"}
		// A copy: web.Roles keeps the slice.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}

	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "list-products",
		Method:      http.MethodGet,
		Path:        "/api/v1/products",
		Summary:     "List active products",
		Description: "Lists the store's active products, a page at a time: pass next_cursor back as cursor " +
			"(with the same sort and filters) for the next page; it is absent on the last page. " +
			"min_price and max_price bound a product's lowest variant price (its price_from), in minor " +
			"units, both inclusive; the price sorts use that price too. category takes a category ID " +
			"or slug and includes products of its descendant categories.",
		Responses: jsonResponse[catalogapi.ProductList](api, "A page of active products."),
	}), ansInvalidCursor, ansCategoryNotFound), s.listPublicProducts)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "get-product",
		Method:      http.MethodGet,
		Path:        "/api/v1/products/{id_or_slug}",
		Summary:     "Get an active product by ID or slug",
		Description: "An active product of the store with its variants, prices and categories, by its ID or its slug. " +
			"Draft and archived products are not found.",
		Responses: jsonResponse[catalogapi.Product](api, "The product."),
	}), ansProductNotFound), s.getPublicProduct)
	huma.Register(api, pub(huma.Operation{
		OperationID: "list-categories",
		Method:      http.MethodGet,
		Path:        "/api/v1/categories",
		Summary:     "Get the category tree",
		Description: "The root categories, each with its children, ordered by position then name.",
	}), s.categoryTree)

	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-create-product",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/products",
		Summary:     "Create a product",
		Description: "Creates a product with at least one variant. SKUs are unique in the store (422 sku_taken) and " +
			"so are slugs (one is made from the title when absent). The plan limits the number of products: " +
			"403 plan_limit_reached. Only active products are shown in the storefront.",
		DefaultStatus: http.StatusCreated,
	}), ansSKUTaken, ansSlugTaken, ansCategoryNotFound, ansPlanLimit), s.createProduct)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-list-products",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/products",
		Summary:     "List products of every status, newest first",
		Description: "Products of every status (draft, active, archived), newest first, a page at a time: pass " +
			"next_cursor back as cursor. With sku, only the product owning that SKU (an empty list when none does).",
	}), ansInvalidCursor), s.adminListProducts)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-product",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/products/{id}",
		Summary:     "Get a product of any status",
		Description: "A product of any status, with its variants, prices and categories.",
	}), ansProductNotFound), s.adminGetProduct)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-update-product",
		Method:      http.MethodPatch,
		Path:        "/api/v1/admin/products/{id}",
		Summary:     "Update a product",
		Description: "A partial update: absent fields stay. variants, when given, replace all variants; " +
			"a variant keeps its ID while its SKU stays. Setting status archived archives the product.",
	}), ansProductNotFound, ansSKUTaken, ansSlugTaken, ansCategoryNotFound, ansTransition, ansConflict), s.updateProduct)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID:   "admin-archive-product",
		Method:        http.MethodDelete,
		Path:          "/api/v1/admin/products/{id}",
		Summary:       "Archive a product",
		Description:   "Products are archived, never deleted: orders and stock still refer to their SKUs.",
		DefaultStatus: http.StatusNoContent,
	}), ansProductNotFound, ansConflict), s.archiveProduct)

	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-create-category",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/categories",
		Summary:     "Create a category",
		Description: "Creates a category, at the root or under a parent. Slugs are unique in the store (made from " +
			"the name when absent).",
		DefaultStatus: http.StatusCreated,
	}), ansSlugTaken, ansCategoryNotFound), s.createCategory)
	huma.Register(api, adm(huma.Operation{
		OperationID: "admin-list-categories",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/categories",
		Summary:     "List categories (flat)",
		Description: "Every category of the store in one flat list, with each one's parent; GET /api/v1/categories gives the tree.",
	}), s.adminListCategories)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-category",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/categories/{id}",
		Summary:     "Get a category",
		Description: "One category with its parent, position and slug.",
	}), ansCategoryNotFound), s.adminGetCategory)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-update-category",
		Method:      http.MethodPatch,
		Path:        "/api/v1/admin/categories/{id}",
		Summary:     "Update a category",
		Description: "A partial update: absent fields stay. Moving a category under itself or one of its descendants " +
			"is refused (422 category_cycle).",
	}), ansCategoryNotFound, ansSlugTaken, ansCategoryCycle, ansConflict), s.updateCategory)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-delete-category",
		Method:      http.MethodDelete,
		Path:        "/api/v1/admin/categories/{id}",
		Summary:     "Delete a category without children or products",
		Description: "Deletes a category that has no child categories and no products, archived ones included " +
			"(409 category_has_children, category_in_use).",
		DefaultStatus: http.StatusNoContent,
	}), ansCategoryNotFound, ansCategoryHasChildren, ansCategoryInUse), s.deleteCategory)
}

// listInput is the query of GET /api/v1/products.
type listInput struct {
	Limit    int    `query:"limit" minimum:"1" doc:"Page size: default 20; larger than the maximum (100) is capped."`
	Cursor   string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
	Category string `query:"category" maxLength:"100" doc:"Category ID or slug; includes descendant categories."`
	MinPrice int64  `query:"min_price" minimum:"0" doc:"Lowest variant price at least this, in minor units."`
	MaxPrice int64  `query:"max_price" minimum:"0" doc:"Lowest variant price at most this, in minor units."`
	Sort     string `query:"sort" enum:"newest,price_asc,price_desc,title" default:"newest"`

	// huma cannot tell an absent integer from 0; Resolve records presence.
	hasMin, hasMax bool
}

// Resolve notes which price bounds were given and checks they make sense.
func (in *listInput) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	q := u.Query()
	in.hasMin, in.hasMax = q.Has("min_price"), q.Has("max_price")
	if in.hasMin && in.hasMax && in.MaxPrice < in.MinPrice {
		return []error{&huma.ErrorDetail{Location: "query.max_price", Message: "must not be below min_price", Value: in.MaxPrice}}
	}
	return nil
}

func (in *listInput) query() ListQuery {
	lq := ListQuery{Limit: in.Limit, Cursor: in.Cursor, Category: in.Category, Sort: Sort(in.Sort)}
	if in.hasMin {
		lq.MinPrice = &in.MinPrice
	}
	if in.hasMax {
		lq.MaxPrice = &in.MaxPrice
	}
	return lq
}

type adminListInput struct {
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 20; larger than the maximum (100) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
	Status string `query:"status" enum:"draft,active,archived" doc:"Only products with this status."`
	SKU    string `query:"sku" maxLength:"64" doc:"Only the product that has a variant with this SKU (none or one): how an import finds what it updates."`
}

type productPath struct {
	ID string `path:"id" maxLength:"100"`
}

type categoryPath struct {
	ID string `path:"id" maxLength:"100"`
}

type productOutput struct {
	Body catalogapi.Product
}

type productListOutput struct {
	Body catalogapi.ProductList
}

type categoryOutput struct {
	Body catalogapi.Category
}

type categoryListOutput struct {
	Body catalogapi.CategoryList
}

// cachedJSON is a public response body served from the page cache: encoded
// once, then copied out as bytes. Its operation declares the real schema
// (see jsonResponse), so the OpenAPI document is unchanged.
type cachedJSON struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// cached answers with the tenant's cached page for key, or builds, encodes
// and caches it. Errors are not cached.
func (s *Service) cached(ctx context.Context, key string, build func() (any, error)) (*cachedJSON, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	if body, ok := s.pages.Get(tenant, key); ok {
		return &cachedJSON{ContentType: "application/json", Body: body}, nil
	}
	version := s.pages.Version(tenant) // before reading: see cache.Pages
	v, err := build()
	if err != nil {
		return nil, s.problem(err)
	}
	body, err := encodeJSON(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	s.pages.Put(tenant, key, version, body)
	return &cachedJSON{ContentType: "application/json", Body: body}, nil
}

// jsonResponse declares a 200 response with T's schema, for operations that
// answer with cachedJSON.
func jsonResponse[T any](api huma.API, description string) map[string]*huma.Response {
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[T](), true, "")
	return map[string]*huma.Response{"200": {
		Description: description,
		Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
	}}
}

func (s *Service) listPublicProducts(ctx context.Context, in *listInput) (*cachedJSON, error) {
	lq := in.query()
	return s.cached(ctx, lq.cacheKey(s.pageSize(lq.Limit)), func() (any, error) { return s.listProducts(ctx, lq) })
}

func (s *Service) getPublicProduct(ctx context.Context, in *struct {
	IDOrSlug string `path:"id_or_slug" maxLength:"100"`
}) (*cachedJSON, error) {
	return s.cached(ctx, "product|"+in.IDOrSlug, func() (any, error) { return s.PublicProduct(ctx, in.IDOrSlug) })
}

func (s *Service) categoryTree(ctx context.Context, _ *struct{}) (*categoryListOutput, error) {
	tree, err := s.CategoryTree(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &categoryListOutput{Body: catalogapi.CategoryList{Items: tree}}, nil
}

func (s *Service) createProduct(ctx context.Context, in *struct {
	Body catalogapi.ProductCreate
}) (*struct {
	Location string `header:"Location"`
	Body     catalogapi.Product
}, error) {
	p, err := s.CreateProduct(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct {
		Location string `header:"Location"`
		Body     catalogapi.Product
	}{Location: "/api/v1/admin/products/" + p.ID, Body: p}, nil
}

func (s *Service) adminListProducts(ctx context.Context, in *adminListInput) (*productListOutput, error) {
	l, err := s.AdminProducts(ctx, AdminListQuery{Limit: in.Limit, Cursor: in.Cursor, Status: catalogapi.Status(in.Status), SKU: in.SKU})
	if err != nil {
		return nil, s.problem(err)
	}
	return &productListOutput{Body: l}, nil
}

func (s *Service) adminGetProduct(ctx context.Context, in *productPath) (*productOutput, error) {
	p, err := s.Product(ctx, in.ID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &productOutput{Body: p}, nil
}

func (s *Service) updateProduct(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body catalogapi.ProductUpdate
}) (*productOutput, error) {
	p, err := s.UpdateProduct(ctx, in.ID, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &productOutput{Body: p}, nil
}

func (s *Service) archiveProduct(ctx context.Context, in *productPath) (*struct{}, error) {
	if _, err := s.ArchiveProduct(ctx, in.ID); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

func (s *Service) createCategory(ctx context.Context, in *struct {
	Body catalogapi.CategoryCreate
}) (*categoryOutput, error) {
	c, err := s.CreateCategory(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &categoryOutput{Body: c}, nil
}

func (s *Service) adminListCategories(ctx context.Context, _ *struct{}) (*categoryListOutput, error) {
	cs, err := s.Categories(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &categoryListOutput{Body: catalogapi.CategoryList{Items: cs}}, nil
}

func (s *Service) adminGetCategory(ctx context.Context, in *categoryPath) (*categoryOutput, error) {
	c, err := s.Category(ctx, in.ID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &categoryOutput{Body: c}, nil
}

func (s *Service) updateCategory(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body catalogapi.CategoryUpdate
}) (*categoryOutput, error) {
	c, err := s.UpdateCategory(ctx, in.ID, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &categoryOutput{Body: c}, nil
}

func (s *Service) deleteCategory(ctx context.Context, in *categoryPath) (*struct{}, error) {
	if err := s.DeleteCategory(ctx, in.ID); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

// The answers of catalog operations beyond the platform's (see problem).
var (
	ansProductNotFound     = web.Answer{Status: http.StatusNotFound, Code: "product_not_found", When: "the store has no such product (the storefront: no such active product)"}
	ansCategoryNotFound    = web.Answer{Status: http.StatusNotFound, Code: "category_not_found", When: "the store has no such category"}
	ansSKUTaken            = web.Answer{Status: http.StatusUnprocessableEntity, Code: "sku_taken", When: "another product of the store has a variant with the SKU"}
	ansSlugTaken           = web.Answer{Status: http.StatusUnprocessableEntity, Code: "slug_taken", When: "another product or category of the store has the slug"}
	ansCategoryCycle       = web.Answer{Status: http.StatusUnprocessableEntity, Code: "category_cycle", When: "the parent is the category itself or one of its descendants"}
	ansCategoryHasChildren = web.Answer{Status: http.StatusConflict, Code: "category_has_children", When: "the category has child categories"}
	ansCategoryInUse       = web.Answer{Status: http.StatusConflict, Code: "category_in_use", When: "products (archived ones too) are in the category"}
	ansTransition          = web.Answer{Status: http.StatusConflict, Code: "invalid_transition", When: "an archived product can only go back to draft"}
	ansPlanLimit           = web.Answer{Status: http.StatusForbidden, Code: tenantapi.LimitCode, When: "the store's plan allows no more products"}
	ansInvalidCursor       = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
	ansConflict            = web.Answer{Status: http.StatusConflict, Code: web.CodeConflict, When: "a concurrent change got there first: send the request again"}
)

// problems is the catalog's error table: with problem, the one place its
// errors become HTTP answers. Anything else is returned as it is: the web
// platform answers it with a bare 500 (no internal text) and logs the cause
// on the request's access-log line, so it is logged once, at the edge.
var problems = kit.Problems{
	{Err: ErrSKUTaken, Status: http.StatusUnprocessableEntity, Code: "sku_taken", Detail: "another product uses this SKU"},
	{Err: ErrSlugTaken, Status: http.StatusUnprocessableEntity, Code: "slug_taken", Detail: "another item uses this slug"},
	{Err: ErrCategoryCycle, Status: http.StatusUnprocessableEntity, Code: "category_cycle", Detail: "a category cannot be placed below itself"},
	{Err: ErrLimitsUnavailable, Status: http.StatusServiceUnavailable, Code: "plan_limits_unavailable", Detail: "the store's plan limits cannot be read right now; nothing was written, retry shortly"},
	{Err: ErrStoreUnavailable, Status: http.StatusServiceUnavailable, Code: "store_settings_unavailable", Detail: "the store's currency cannot be read right now; nothing was written, retry shortly"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "product_not_found", Detail: "no such product"},
	{Err: ErrCategoryNotFound, Status: http.StatusNotFound, Code: "category_not_found", Detail: "no such category"},
	// Before the kit's own answer: a cursor of the list in another order is
	// refused too, and the detail says so.
	{Err: kit.ErrInvalidCursor, Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", Detail: "the cursor is not one this list returned (with this sort)", Field: "query.cursor"},
	{Err: ErrTransition, Status: http.StatusConflict, Code: "invalid_transition", Detail: "archived products can only go back to draft"},
	{Err: ErrCategoryHasChildren, Status: http.StatusConflict, Code: "category_has_children", Detail: "move or delete the child categories first"},
	{Err: ErrCategoryInUse, Status: http.StatusConflict, Code: "category_in_use", Detail: "move the category's products (archived ones too) first"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "the item changed concurrently; retry"},
}

// problem is problems.Map but for a *tenantapi.LimitError, whose answer
// names the limit.
func (s *Service) problem(err error) error {
	var le *tenantapi.LimitError
	if errors.As(err, &le) {
		return web.Error(le.Status(), tenantapi.LimitCode, le.Error()+"; archive products or upgrade the plan")
	}
	return problems.Map(err)
}
