package main

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestSchemasStateTheValueRules: the request types of every service
// describe the values package text defines with its limits and patterns,
// so the OpenAPI document tells clients the rule the services apply. A
// field may leave the pattern out (a service that trims first), never
// state another one.
func TestSchemasStateTheValueRules(t *testing.T) {
	t.Parallel()
	type rule struct {
		max      int
		patterns []string // allowed patterns; "" allows none
	}
	optional := func(p string) string { return "^(" + strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$") + ")?$" }
	rules := map[string]rule{
		"sku":         {text.MaxSKU, []string{"", text.SKUPattern}},
		"email":       {text.MaxEmail, []string{""}},
		"country":     {2, []string{"", text.CountryPattern, optional(text.CountryPattern)}},
		"postal_code": {text.MaxPostalCode, []string{"", optional(text.PostalCodePattern)}},
		"line1":       {text.MaxAddressLine, []string{""}},
		"line2":       {text.MaxAddressLine, []string{""}},
		"city":        {text.MaxCity, []string{""}},
		"slug":        {text.MaxSlug, []string{text.SlugPattern}},
		"coupon":      {text.MaxCoupon, []string{""}},
	}
	types := []any{
		catalogapi.VariantInput{}, catalogapi.ProductCreate{}, catalogapi.ProductUpdate{}, catalogapi.CategoryCreate{}, catalogapi.CategoryUpdate{},
		inventoryapi.Line{}, inventoryapi.ReserveRequest{}, inventoryapi.RestockRequest{},
		cartapi.CartItem{}, cartapi.CartCreate{}, cartapi.CartUpdate{},
		pricingapi.Item{}, pricingapi.QuoteRequest{}, pricingapi.RedeemRequest{}, pricingapi.DiscountCreate{},
		orderapi.Item{}, orderapi.Address{}, orderapi.CheckoutRequest{},
		identityapi.Register{}, identityapi.AddressInput{}, identityapi.AddressUpdate{}, identityapi.InvitationCreate{}, identityapi.OwnerCreate{},
		staffapi.EmployeeCreate{}, staffapi.EmployeeUpdate{},
		tenantapi.Signup{},
	}
	checked := 0
	for _, v := range types {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			r, ok := rules[name]
			if !ok {
				continue
			}
			checked++
			where := typ.String() + "." + f.Name
			if max, ok := f.Tag.Lookup("maxLength"); ok {
				if n, err := strconv.Atoi(max); err != nil || n != r.max {
					t.Errorf("%s: maxLength %s, want %d", where, max, r.max)
				}
			} else if f.Tag.Get("pattern") == "" {
				t.Errorf("%s: neither maxLength nor pattern", where)
			}
			pattern := f.Tag.Get("pattern")
			allowed := false
			for _, p := range r.patterns {
				allowed = allowed || p == pattern
			}
			if !allowed {
				t.Errorf("%s: pattern %q, want one of %q", where, pattern, r.patterns)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d fields checked: the list of types lost some", checked)
	}
}
