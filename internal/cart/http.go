package cart

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the cart's authorization table: the staff roles that may call
// each admin operation, by huma OperationID; the platform enforces it
// (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. The storefront operations are public:
// the cart ID is the credential.
var access = map[string][]auth.Role{
	"admin-list-carts": {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
}

// Routes registers the cart's operations: the public storefront cart under
// /api/v1/carts (the cart ID is the credential) and the admin list under
// /api/v1/admin/carts (roles in access, enforced by the platform).
func (s *Service) Routes(api *web.API) {
	api.Tag("cart", "Shopping carts for anyone, signed in or not. A cart's ID is its only key: whoever "+
		"holds it may read and change the cart, so keep it secret. Lines show the catalog's current prices; "+
		"totals (discounts, tax, shipping) come from pricing.")
	api.Tag("cart admin", "Carts as staff see them: open, checked out and abandoned.")
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"cart"}
		return web.Public(op)
	}
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID:   "create-cart",
		Method:        http.MethodPost,
		Path:          "/api/v1/carts",
		Summary:       "Create a cart",
		Description:   "Creates an open cart, optionally with lines and fields. Keep the returned id secret: it is the only key to the cart.",
		DefaultStatus: http.StatusCreated,
	}), ansUnknownSKU, ansInvalidQuantity, ansTooManyLines, ansCurrencyMismatch, ansPricing), s.createCart)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "get-cart",
		Method:      http.MethodGet,
		Path:        "/api/v1/carts/{id}",
		Summary:     "Get a cart with current prices and totals",
		Description: "Lines show the catalog's current title and price. totals come from the pricing service; " +
			"when it cannot quote the cart, totals is absent and totals_error says why. " +
			"With totals=false the cart is answered without asking pricing (no totals, no totals_error): " +
			"for a caller that quotes the lines itself, such as the checkout.",
	}), ansCartNotFound), s.getCart)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "update-cart",
		Method:      http.MethodPatch,
		Path:        "/api/v1/carts/{id}",
		Summary:     "Set a cart's email, coupon or destination",
		Description: "Absent fields stay; an empty string clears. A coupon or destination change is checked " +
			"with the pricing service and refused with its code (e.g. unknown_coupon).",
	}), ansCartNotFound, ansCheckedOut, ansPricing), s.updateCart)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID:   "add-cart-item",
		Method:        http.MethodPost,
		Path:          "/api/v1/carts/{id}/items",
		Summary:       "Add an SKU to a cart",
		Description:   "Adds a line, or adds to the quantity of the line that holds the SKU.",
		DefaultStatus: http.StatusCreated,
	}), ansCartNotFound, ansCheckedOut, ansUnknownSKU, ansInvalidQuantity, ansTooManyLines, ansCurrencyMismatch), s.addItem)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "update-cart-item",
		Method:      http.MethodPatch,
		Path:        "/api/v1/carts/{id}/items/{line}",
		Summary:     "Set the quantity of a cart line",
		Description: "Sets the line's quantity to the one sent (not added to it); the line keeps its SKU.",
	}), ansCartNotFound, ansLineNotFound, ansCheckedOut, ansInvalidQuantity), s.updateItem)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "remove-cart-item",
		Method:      http.MethodDelete,
		Path:        "/api/v1/carts/{id}/items/{line}",
		Summary:     "Remove a cart line",
		Description: "Takes the line out of the cart and answers the cart as it is then.",
	}), ansCartNotFound, ansLineNotFound, ansCheckedOut), s.removeItem)

	huma.Register(api, web.Answers(web.Roles(huma.Operation{
		OperationID: "admin-list-carts",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/carts",
		Summary:     "List carts, most recently changed first",
		Description: "A page at a time: pass next_cursor back as cursor. status narrows the list to open or " +
			"checked-out carts; open carts that have not changed for long are the abandoned ones.",
		Tags: []string{"cart admin"},
	}, append([]auth.Role{}, access["admin-list-carts"]...)...), ansInvalidCursor), s.adminListCarts)
}

// The answers of cart operations beyond the platform's (see problems).
var (
	ansCartNotFound     = web.Answer{Status: http.StatusNotFound, Code: "cart_not_found", When: "the store has no cart with this ID"}
	ansLineNotFound     = web.Answer{Status: http.StatusNotFound, Code: "line_not_found", When: "the cart has no line with this ID"}
	ansCheckedOut       = web.Answer{Status: http.StatusConflict, Code: "cart_checked_out", When: "the cart was checked out and can no longer change"}
	ansUnknownSKU       = web.Answer{Status: http.StatusUnprocessableEntity, Code: "unknown_sku", When: "no active product of the store has the SKU"}
	ansInvalidQuantity  = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_quantity", When: "the quantity is below 1 or above the most a line may hold"}
	ansTooManyLines     = web.Answer{Status: http.StatusUnprocessableEntity, Code: "too_many_lines", When: "the cart holds the most lines allowed"}
	ansCurrencyMismatch = web.Answer{Status: http.StatusUnprocessableEntity, Code: "currency_mismatch", When: "the SKU is priced in another currency than the cart"}
	ansPricing          = web.Answer{Status: http.StatusUnprocessableEntity, When: "the coupon or destination is refused by pricing, with pricing's code (unknown_coupon, coupon_expired, coupon_not_applicable, invalid_country…)"}
	ansInvalidCursor    = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
)

type cartPath struct {
	ID string `path:"id" maxLength:"100"`
}

type linePath struct {
	ID   string `path:"id" maxLength:"100"`
	Line string `path:"line" maxLength:"100"`
}

type cartOutput struct {
	Body cartapi.Cart
}

func (s *Service) createCart(ctx context.Context, in *struct {
	Body *cartapi.CartCreate
}) (*struct {
	Location string `header:"Location"`
	Body     cartapi.Cart
}, error) {
	var cc cartapi.CartCreate
	if in.Body != nil {
		cc = *in.Body
	}
	c, err := s.Create(ctx, cc)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct {
		Location string `header:"Location"`
		Body     cartapi.Cart
	}{Location: "/api/v1/carts/" + c.ID, Body: c}, nil
}

func (s *Service) getCart(ctx context.Context, in *struct {
	ID     string `path:"id" maxLength:"100"`
	Totals bool   `query:"totals" default:"true" doc:"Ask pricing for the cart's totals (false: lines only)."`
}) (*cartOutput, error) {
	get := s.Cart
	if !in.Totals {
		get = s.Lines
	}
	c, err := get(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &cartOutput{Body: c}, nil
}

func (s *Service) updateCart(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body cartapi.CartUpdate
}) (*cartOutput, error) {
	c, err := s.Update(ctx, in.ID, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &cartOutput{Body: c}, nil
}

func (s *Service) addItem(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body cartapi.ItemAdd
}) (*cartOutput, error) {
	c, err := s.AddItem(ctx, in.ID, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &cartOutput{Body: c}, nil
}

func (s *Service) updateItem(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Line string `path:"line" maxLength:"100"`
	Body cartapi.ItemUpdate
}) (*cartOutput, error) {
	c, err := s.UpdateItem(ctx, in.ID, in.Line, in.Body.Quantity)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &cartOutput{Body: c}, nil
}

func (s *Service) removeItem(ctx context.Context, in *linePath) (*cartOutput, error) {
	c, err := s.RemoveItem(ctx, in.ID, in.Line)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &cartOutput{Body: c}, nil
}

func (s *Service) adminListCarts(ctx context.Context, in *struct {
	Status string `query:"status" enum:"open,checked_out" doc:"Only carts with this status."`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 20; larger than the maximum (100) is capped."`
}) (*struct{ Body cartapi.CartList }, error) {
	l, err := s.Carts(ctx, ListQuery{Status: in.Status, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body cartapi.CartList }{Body: l}, nil
}

// problems maps the cart's errors to HTTP answers: the one place that
// does. A refused input (*kit.ValidationError) is answered with the code
// and detail of the sentinel it matches, or 422 validation_failed; a quote
// pricing refused with pricing's answer (*kit.UpstreamError). Anything else
// is returned as it is: the web platform answers it with a bare 500 (no
// internal text) and logs the cause once.
var problems = kit.Problems{
	{Err: ErrInvalidQuantity, Status: http.StatusUnprocessableEntity, Code: "invalid_quantity", Detail: "the quantity must be 1 to 10000"},
	{Err: ErrUnknownSKU, Status: http.StatusUnprocessableEntity, Code: "unknown_sku", Detail: "no product of the store is for sale under this SKU"},
	{Err: ErrTooManyLines, Status: http.StatusUnprocessableEntity, Code: "too_many_lines", Detail: "the cart has the most lines allowed"},
	{Err: ErrCurrencyMismatch, Status: http.StatusUnprocessableEntity, Code: "currency_mismatch", Detail: "the SKU is priced in another currency than the cart"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "cart_not_found", Detail: "no such cart"},
	{Err: ErrLineNotFound, Status: http.StatusNotFound, Code: "line_not_found", Detail: "the cart has no such line"},
	{Err: ErrCheckedOut, Status: http.StatusConflict, Code: "cart_checked_out", Detail: "the cart was checked out and can no longer change"},
	{Err: ErrPricingUnavailable, Status: http.StatusServiceUnavailable, Code: "pricing_unavailable", Detail: "the coupon cannot be checked just now; try again shortly"},
	{Err: ErrStoreUnavailable, Status: http.StatusServiceUnavailable, Code: "store_settings_unavailable", Detail: "the store's currency cannot be read just now; nothing was written, try again shortly"},
}
