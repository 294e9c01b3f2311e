package pricing

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// access is the pricing service's authorization table: the staff roles
// that may call each operation, by huma OperationID; the platform enforces
// it (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. Prices, discounts, tax and shipping
// are configured by owners and managers; staff may read the configuration
// (to answer what a coupon does); support reads orders, not this.
// Redemptions are the checkout's steps (the order service calls with the
// service token): no staff role.
var access = map[string][]auth.Role{
	"admin-get-pricing-settings":   readers,
	"admin-put-pricing-settings":   managers,
	"admin-list-discounts":         readers,
	"admin-create-discount":        managers,
	"admin-get-discount":           readers,
	"admin-update-discount":        managers,
	"admin-delete-discount":        managers,
	"admin-list-tax-rates":         readers,
	"admin-create-tax-rate":        managers,
	"admin-get-tax-rate":           readers,
	"admin-put-tax-rate":           managers,
	"admin-delete-tax-rate":        managers,
	"admin-list-shipping-methods":  readers,
	"admin-create-shipping-method": managers,
	"admin-get-shipping-method":    readers,
	"admin-put-shipping-method":    managers,
	"admin-delete-shipping-method": managers,
	"admin-redeem-coupon":          {},
	"admin-release-redemption":     {},
}

// The role sets of access.
var (
	readers  = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff}
	managers = []auth.Role{auth.RoleOwner, auth.RoleManager}
)

// Routes registers the pricing operations: the public quote and shipping
// methods, and the admin API under /api/v1/admin/pricing/, guarded by the
// roles in access (service clients carry the service token: Redeem and
// Release live there).
func (s *Service) Routes(api *web.API) {
	api.Tag("pricing", "Prices a basket as checkout will (lines − discounts + tax + shipping) and lists the "+
		"shipping methods a buyer may choose. Money is integer minor units with an ISO 4217 currency.")
	api.Tag("pricing admin", "The store's pricing: settings (currency, whether prices include tax, the default "+
		"country and shipping method), discounts and coupon codes, tax rates, shipping methods, and the "+
		"coupon redemptions of orders.")
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"pricing"}
		return web.Public(op)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"pricing admin"}
		// A copy: web.Roles keeps the slice; none is the tokens' only.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	const base = "/api/v1/admin/pricing"

	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "quote", Method: http.MethodPost, Path: "/api/v1/quote", Summary: "Price a basket",
		Description: "Prices items (lines − discounts + tax + shipping) for the destination, with the coupon if any. " +
			"Writes nothing. Refusals carry a code and name the item or coupon in errors[].value: unknown_sku, " +
			"invalid_quantity, unknown_coupon, coupon_expired, coupon_not_applicable, currency_mismatch, " +
			"unknown_shipping_method, shipping_not_available, invalid_country (422); coupon_exhausted (409).",
	}), ansQuoteRefused, ansCouponExhausted), s.quote)
	huma.Register(api, pub(huma.Operation{
		OperationID: "list-shipping-methods", Method: http.MethodGet, Path: "/api/v1/shipping-methods",
		Summary: "List the active shipping methods", Description: "Cheapest first; with country, only those shipping there.",
	}), s.publicShippingMethods)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-get-pricing-settings", Method: http.MethodGet, Path: base + "/settings", Summary: "Get the store's pricing settings",
		Description: "currency and tax_inclusive are the store's settings (PATCH /api/v1/admin/store), shown as pricing last applied them."}), s.getSettings)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-put-pricing-settings", Method: http.MethodPut, Path: base + "/settings", Summary: "Replace the store's pricing settings",
		Description: "The default shipping method and country. Currency and tax mode are store settings: PATCH /api/v1/admin/store; a body naming them is refused."}), ansUnknownShipping), s.putSettings)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-list-discounts", Method: http.MethodGet, Path: base + "/discounts", Summary: "List discounts", Description: "Every discount of the store, automatic ones and coupon codes, active or not, with how often each was used."}), s.listDiscounts)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-create-discount", Method: http.MethodPost, Path: base + "/discounts", Summary: "Create a discount", Description: "An automatic discount (no code) applies to every basket it fits; a coupon (with a code) only " +
		"when the buyer enters it. kind percentage takes percent_bp, fixed an amount, free_shipping nothing; " +
		"scope order, product or category says what it reduces. Codes are unique in the store (409 already_exists).", DefaultStatus: http.StatusCreated}), ansTaken), s.createDiscount)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-get-discount", Method: http.MethodGet, Path: base + "/discounts/{id}", Summary: "Get a discount", Description: "One discount with its rules, limits and the number of active redemptions."}), ansNotFound), s.getDiscount)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-update-discount", Method: http.MethodPatch, Path: base + "/discounts/{id}", Summary: "Update a discount", Description: "Absent fields stay; kind, scope and code cannot change."}), ansNotFound), s.updateDiscount)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-delete-discount", Method: http.MethodDelete, Path: base + "/discounts/{id}", Summary: "Delete a discount", Description: "Deletes a discount: quotes stop applying it at once; orders placed with it keep their prices.", DefaultStatus: http.StatusNoContent}), ansNotFound), s.deleteDiscount)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-list-tax-rates", Method: http.MethodGet, Path: base + "/tax-rates", Summary: "List tax rates", Description: "Every tax rate of the store, per country and, where set, region."}), s.listTaxRates)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-create-tax-rate", Method: http.MethodPost, Path: base + "/tax-rates", Summary: "Create a tax rate", Description: "Adds the tax rate of a country, or of one of its regions (which wins over the country rate for " +
		"addresses there). One rate per country and region (409 already_exists).", DefaultStatus: http.StatusCreated}), ansTaken), s.createTaxRate)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-get-tax-rate", Method: http.MethodGet, Path: base + "/tax-rates/{id}", Summary: "Get a tax rate", Description: "A tax rate of the store: its country, region (if any), rate in basis points and name."}), ansNotFound), s.getTaxRate)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-put-tax-rate", Method: http.MethodPut, Path: base + "/tax-rates/{id}", Summary: "Replace a tax rate", Description: "Replaces a tax rate as a whole; quotes use it at once."}), ansNotFound, ansTaken), s.putTaxRate)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-delete-tax-rate", Method: http.MethodDelete, Path: base + "/tax-rates/{id}", Summary: "Delete a tax rate", Description: "Deletes a tax rate: addresses it covered are taxed by the country rate, or not at all.", DefaultStatus: http.StatusNoContent}), ansNotFound), s.deleteTaxRate)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-list-shipping-methods", Method: http.MethodGet, Path: base + "/shipping-methods", Summary: "List shipping methods", Description: "Every shipping method of the store, active or not, with its price and the countries it serves."}), s.listShippingMethods)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-create-shipping-method", Method: http.MethodPost, Path: base + "/shipping-methods", Summary: "Create a shipping method", Description: "Adds a shipping method with its price, the subtotal over which it is free, and the countries it " +
		"serves (none: everywhere). Codes are unique in the store (409 already_exists).", DefaultStatus: http.StatusCreated}), ansTaken), s.createShippingMethod)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-get-shipping-method", Method: http.MethodGet, Path: base + "/shipping-methods/{id}", Summary: "Get a shipping method", Description: "A shipping method of the store: its code, name, price, the subtotal over which it is free, the " +
		"countries it serves and whether buyers may choose it."}), ansNotFound), s.getShippingMethod)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-put-shipping-method", Method: http.MethodPut, Path: base + "/shipping-methods/{id}", Summary: "Replace a shipping method", Description: "Replaces a shipping method as a whole; quotes use it at once."}), ansNotFound, ansTaken), s.putShippingMethod)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-delete-shipping-method", Method: http.MethodDelete, Path: base + "/shipping-methods/{id}", Summary: "Delete a shipping method", Description: "Deletes a shipping method: buyers can no longer choose it.", DefaultStatus: http.StatusNoContent}), ansNotFound), s.deleteShippingMethod)

	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-redeem-coupon", Method: http.MethodPost, Path: base + "/redemptions", Summary: "Redeem a coupon for an order",
		Description: "Idempotent on order_id. 409 coupon_exhausted when no use is left (in total or for the email); " +
			"422 unknown_coupon, coupon_expired, email_required; 409 order_redeemed when the order redeemed another coupon.",
	}), ansCouponExhausted, ansOrderRedeemed, ansUnknownCoupon, ansCouponExpired, ansEmailRequired), s.redeem)
	huma.Register(api, web.PathMayNotExist(adm(huma.Operation{
		OperationID: "admin-release-redemption", Method: http.MethodPost, Path: base + "/redemptions/{order_id}/release",
		Summary: "Give an order's coupon use back", Description: "Idempotent; an order that redeemed nothing is no error.",
		DefaultStatus: http.StatusNoContent,
	})), s.release)
}

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

func (s *Service) quote(ctx context.Context, in *struct{ Body pricingapi.QuoteRequest }) (*struct{ Body pricingapi.Quote }, error) {
	q, err := s.Quote(ctx, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Quote }{q}, nil
}

func (s *Service) publicShippingMethods(ctx context.Context, in *struct {
	Country string `query:"country" maxLength:"2" doc:"Only methods shipping to this ISO alpha-2 country."`
}) (*struct{ Body pricingapi.ShippingMethodList }, error) {
	l, err := s.ShippingMethods(ctx, true, in.Country)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.ShippingMethodList }{pricingapi.ShippingMethodList{Items: l}}, nil
}

func (s *Service) getSettings(ctx context.Context, _ *struct{}) (*struct{ Body pricingapi.Settings }, error) {
	v, err := s.Settings(ctx)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Settings }{v}, nil
}

func (s *Service) putSettings(ctx context.Context, in *struct{ Body pricingapi.SettingsUpdate }) (*struct{ Body pricingapi.Settings }, error) {
	v, err := s.PutSettings(ctx, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Settings }{v}, nil
}

func (s *Service) listDiscounts(ctx context.Context, _ *struct{}) (*struct{ Body pricingapi.DiscountList }, error) {
	l, err := s.Discounts(ctx)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.DiscountList }{pricingapi.DiscountList{Items: l}}, nil
}

func (s *Service) createDiscount(ctx context.Context, in *struct{ Body pricingapi.DiscountCreate }) (*struct{ Body pricingapi.Discount }, error) {
	d, err := s.CreateDiscount(ctx, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Discount }{d}, nil
}

func (s *Service) getDiscount(ctx context.Context, in *idPath) (*struct{ Body pricingapi.Discount }, error) {
	d, err := s.Discount(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Discount }{d}, nil
}

func (s *Service) updateDiscount(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body pricingapi.DiscountUpdate
}) (*struct{ Body pricingapi.Discount }, error) {
	d, err := s.UpdateDiscount(ctx, in.ID, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Discount }{d}, nil
}

func (s *Service) deleteDiscount(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.DeleteDiscount(ctx, in.ID); err != nil {
		return nil, problems.Map(err)
	}
	return nil, nil
}

func (s *Service) listTaxRates(ctx context.Context, _ *struct{}) (*struct{ Body pricingapi.TaxRateList }, error) {
	l, err := s.TaxRates(ctx)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.TaxRateList }{pricingapi.TaxRateList{Items: l}}, nil
}

func (s *Service) createTaxRate(ctx context.Context, in *struct{ Body pricingapi.TaxRateInput }) (*struct{ Body pricingapi.TaxRate }, error) {
	r, err := s.SaveTaxRate(ctx, "", in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.TaxRate }{r}, nil
}

func (s *Service) getTaxRate(ctx context.Context, in *idPath) (*struct{ Body pricingapi.TaxRate }, error) {
	r, err := s.TaxRate(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.TaxRate }{r}, nil
}

func (s *Service) putTaxRate(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body pricingapi.TaxRateInput
}) (*struct{ Body pricingapi.TaxRate }, error) {
	r, err := s.SaveTaxRate(ctx, in.ID, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.TaxRate }{r}, nil
}

func (s *Service) deleteTaxRate(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.DeleteTaxRate(ctx, in.ID); err != nil {
		return nil, problems.Map(err)
	}
	return nil, nil
}

func (s *Service) listShippingMethods(ctx context.Context, _ *struct{}) (*struct{ Body pricingapi.ShippingMethodList }, error) {
	l, err := s.ShippingMethods(ctx, false, "")
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.ShippingMethodList }{pricingapi.ShippingMethodList{Items: l}}, nil
}

func (s *Service) createShippingMethod(ctx context.Context, in *struct {
	Body pricingapi.ShippingMethodInput
}) (*struct{ Body pricingapi.ShippingMethod }, error) {
	m, err := s.SaveShippingMethod(ctx, "", in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.ShippingMethod }{m}, nil
}

func (s *Service) getShippingMethod(ctx context.Context, in *idPath) (*struct{ Body pricingapi.ShippingMethod }, error) {
	m, err := s.ShippingMethod(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.ShippingMethod }{m}, nil
}

func (s *Service) putShippingMethod(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body pricingapi.ShippingMethodInput
}) (*struct{ Body pricingapi.ShippingMethod }, error) {
	m, err := s.SaveShippingMethod(ctx, in.ID, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.ShippingMethod }{m}, nil
}

func (s *Service) deleteShippingMethod(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.DeleteShippingMethod(ctx, in.ID); err != nil {
		return nil, problems.Map(err)
	}
	return nil, nil
}

func (s *Service) redeem(ctx context.Context, in *struct{ Body pricingapi.RedeemRequest }) (*struct{ Body pricingapi.Redemption }, error) {
	r, err := s.Redeem(ctx, in.Body)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body pricingapi.Redemption }{r}, nil
}

func (s *Service) release(ctx context.Context, in *struct {
	OrderID string `path:"order_id" maxLength:"100"`
}) (*struct{}, error) {
	if _, err := s.ReleaseRedemption(ctx, in.OrderID); err != nil {
		return nil, problems.Map(err)
	}
	return nil, nil
}

// The answers of pricing operations beyond the platform's (see problems).
var (
	ansNotFound        = web.Answer{Status: http.StatusNotFound, Code: "not_found", When: "the store has nothing with this ID"}
	ansTaken           = web.Answer{Status: http.StatusConflict, Code: "already_exists", When: "another of the store's has the same code (or country and region)"}
	ansQuoteRefused    = web.Answer{Status: http.StatusUnprocessableEntity, When: "an item, the coupon or the destination is refused, with its code and errors[].value naming it: unknown_sku, invalid_quantity, amount_too_large, unknown_coupon, coupon_expired, coupon_not_applicable, currency_mismatch, unknown_shipping_method, shipping_not_available, invalid_country"}
	ansCouponExhausted = web.Answer{Status: http.StatusConflict, Code: "coupon_exhausted", When: "the coupon has no use left, in total or for the email"}
	ansOrderRedeemed   = web.Answer{Status: http.StatusConflict, Code: "order_redeemed", When: "the order redeemed another coupon"}
	ansUnknownCoupon   = web.Answer{Status: http.StatusUnprocessableEntity, Code: "unknown_coupon", When: "no coupon of the store has the code"}
	ansCouponExpired   = web.Answer{Status: http.StatusUnprocessableEntity, Code: "coupon_expired", When: "the coupon is not valid at this time"}
	ansEmailRequired   = web.Answer{Status: http.StatusUnprocessableEntity, Code: "email_required", When: "the coupon is limited per customer and no email was given"}
	ansUnknownShipping = web.Answer{Status: http.StatusUnprocessableEntity, Code: "unknown_shipping_method", When: "the default shipping method is not one of the store's"}
)

// problems maps the service's errors to HTTP answers: the one place that
// does (kit.Problems.Map). A quote or redemption refused for one field
// (see refused) has its sentinel's status and code, its own detail, and
// names the field and value at fault; anything not listed is answered
// with a bare 500 by the platform, which logs the cause once, on the
// request's access-log line.
var problems = kit.Problems{
	{Err: ErrUnknownSKU, Status: http.StatusUnprocessableEntity, Code: "unknown_sku"},
	{Err: ErrInvalidQuantity, Status: http.StatusUnprocessableEntity, Code: "invalid_quantity"},
	{Err: ErrAmountTooLarge, Status: http.StatusUnprocessableEntity, Code: "amount_too_large"},
	{Err: ErrUnknownCoupon, Status: http.StatusUnprocessableEntity, Code: "unknown_coupon"},
	{Err: ErrCouponExpired, Status: http.StatusUnprocessableEntity, Code: "coupon_expired"},
	{Err: ErrCouponNotApplicable, Status: http.StatusUnprocessableEntity, Code: "coupon_not_applicable"},
	{Err: ErrCouponExhausted, Status: http.StatusConflict, Code: "coupon_exhausted"},
	{Err: ErrCurrencyMismatch, Status: http.StatusUnprocessableEntity, Code: "currency_mismatch"},
	{Err: ErrUnknownShippingMethod, Status: http.StatusUnprocessableEntity, Code: "unknown_shipping_method"},
	{Err: ErrShippingNotAvailable, Status: http.StatusUnprocessableEntity, Code: "shipping_not_available"},
	{Err: ErrInvalidCountry, Status: http.StatusUnprocessableEntity, Code: "invalid_country"},
	{Err: ErrEmailRequired, Status: http.StatusUnprocessableEntity, Code: "email_required"},
	{Err: ErrOrderRedeemed, Status: http.StatusConflict, Code: "order_redeemed"},
	{Err: ErrTaken, Status: http.StatusConflict, Code: "already_exists", Detail: "another item of the store already uses this name or code"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "not_found", Detail: "no such item"},
}
