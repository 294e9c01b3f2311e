package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

func (s *Service) discountRoutes(route routeFunc) {
	route("GET /admin/discounts", s.discounts)
	route("GET /admin/discounts/new", s.newDiscount)
	route("POST /admin/discounts", s.createDiscount)
	route("GET /admin/discounts/{id}", s.editDiscount)
	route("POST /admin/discounts/{id}", s.updateDiscount)
	route("POST /admin/discounts/{id}/delete", s.deleteDiscount)
}

// discountsPage is the data of the discount list.
type discountsPage struct {
	Discounts []pricingapi.Discount
	CanEdit   bool
	// Now is when the page was made: a discount's state depends on it.
	Now time.Time
}

// State is whether a discount applies now: inactive (switched off),
// scheduled, expired, used up or active.
func (p discountsPage) State(d pricingapi.Discount) string {
	switch {
	case !d.Active:
		return "inactive"
	case d.StartsAt != nil && p.Now.Before(*d.StartsAt):
		return "scheduled"
	case d.EndsAt != nil && !p.Now.Before(*d.EndsAt):
		return "expired"
	case d.UsageLimit != nil && d.Used >= *d.UsageLimit:
		return "used up"
	}
	return "active"
}

// Value is what a discount takes off: "10%", "€ 5.00", "Free shipping".
func (discountsPage) Value(v *page.View, d pricingapi.Discount) string { return discountValue(v, d) }

// Applies says what a discount applies to.
func (discountsPage) Applies(d pricingapi.Discount) string {
	switch d.Scope {
	case pricingapi.ScopeProduct:
		return plural(len(d.ProductIDs), "product")
	case pricingapi.ScopeCategory:
		return plural(len(d.CategoryIDs), "category")
	}
	return "Order"
}

func discountValue(v *page.View, d pricingapi.Discount) string {
	switch d.Kind {
	case pricingapi.KindPercentage:
		return percentText(d.PercentBP) + "%"
	case pricingapi.KindFixed:
		if d.Amount != nil {
			return v.Money(*d.Amount)
		}
	case pricingapi.KindFreeShipping:
		return "Free shipping"
	}
	return d.Kind
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		noun = strings.TrimSuffix(noun, "y") + "ie"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// discounts lists the store's discounts, automatic ones and coupons.
func (s *Service) discounts(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Discounts")
	if !ok {
		return
	}
	l, err := s.deps.Pricing.Discounts(pf.ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	pf.view.Data = discountsPage{Discounts: l.Items, CanEdit: pf.view.Can(pricingEditors...), Now: time.Now()}
	s.kit.Render(w, r, http.StatusOK, "discounts", pf.view)
}

// discountFormPage is the data of the form creating (Discount nil) or
// editing a discount.
type discountFormPage struct {
	Discount *pricingapi.Discount
	Kinds    []page.Option
	Scopes   []page.Option
	Currency string
	CanEdit  bool
}

// Action is where the form posts.
func (p discountFormPage) Action() string {
	if p.Discount == nil {
		return "/admin/discounts"
	}
	return pricingPath("/admin/discounts", p.Discount.ID)
}

// OptionalHint is the hint of an optional date: an update cannot remove
// one (the API keeps what a change leaves out).
func (p discountFormPage) OptionalHint() string {
	if p.Discount == nil {
		return "optional"
	}
	return "optional; emptying keeps the saved one"
}

// KindLabel and ScopeLabel name a discount's kind and scope.
func (discountFormPage) KindLabel(k string) string  { return optionLabel(discountKinds, k) }
func (discountFormPage) ScopeLabel(k string) string { return optionLabel(discountScopes, k) }

func optionLabel(opts []page.Option, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

// discountFields maps pricing's field names to the form's.
var discountFields = map[string]string{"percent_bp": "percent"}

func (s *Service) renderDiscountForm(w http.ResponseWriter, r *http.Request, pf pricingForm, status int, d *pricingapi.Discount, form *page.Form) {
	cur := storeCurrency(pf.view)
	if d != nil && d.Amount != nil {
		cur = d.Amount.Currency
	}
	pf.view.Form = form
	pf.view.Data = discountFormPage{Discount: d, Kinds: discountKinds, Scopes: discountScopes, Currency: cur, CanEdit: pf.view.Can(pricingEditors...)}
	s.kit.Render(w, r, status, "discounts-form", pf.view)
}

// newDiscount shows an empty discount form.
func (s *Service) newDiscount(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "New discount")
	if !ok {
		return
	}
	if !pf.view.Can(pricingEditors...) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	s.renderDiscountForm(w, r, pf, http.StatusOK, nil, page.EmptyForm(url.Values{
		"kind": {pricingapi.KindPercentage}, "scope": {pricingapi.ScopeOrder}, "active": {"1"}, "priority": {"0"}}))
}

// discountValues are a discount's fields as its form shows them.
func discountValues(d pricingapi.Discount) url.Values {
	v := url.Values{
		"name": {d.Name}, "code": {d.Code}, "kind": {d.Kind}, "scope": {d.Scope},
		"product_ids": {strings.Join(d.ProductIDs, "\n")}, "category_ids": {strings.Join(d.CategoryIDs, "\n")},
		"starts_at": {timeText(d.StartsAt)}, "ends_at": {timeText(d.EndsAt)}, "priority": {strconv.FormatInt(d.Priority, 10)},
	}
	if d.Kind == pricingapi.KindPercentage {
		v.Set("percent", percentText(d.PercentBP))
	}
	if d.Amount != nil {
		v.Set("amount", page.FormatDecimal(d.Amount.Amount, money.Scale(d.Amount.Currency)))
	}
	if d.MinSubtotal != nil {
		v.Set("min_subtotal", page.FormatDecimal(d.MinSubtotal.Amount, money.Scale(d.MinSubtotal.Currency)))
	}
	if d.UsageLimit != nil {
		v.Set("usage_limit", strconv.FormatInt(*d.UsageLimit, 10))
	}
	if d.UsageLimitPerCustomer != nil {
		v.Set("usage_limit_per_customer", strconv.FormatInt(*d.UsageLimitPerCustomer, 10))
	}
	if d.Stackable {
		v.Set("stackable", "1")
	}
	if d.Active {
		v.Set("active", "1")
	}
	return v
}

// discountInput is what a discount form says, read and checked: the
// fields both a create and an update take.
type discountInput struct {
	name                              string
	percentBP                         int64
	amount, minSubtotal               *money.Money
	productIDs, categoryIDs           []string
	startsAt, endsAt                  *time.Time
	usageLimit, usageLimitPerCustomer *int64
	priority                          int64
	stackable, active                 bool
}

// readDiscount reads the form of a discount of kind (the form's own on a
// create, the discount's on an edit), amounts in cur.
func readDiscount(form *page.Form, kind, cur string) discountInput {
	in := discountInput{
		name:        form.Get("name"),
		productIDs:  splitList(form.Get("product_ids")),
		categoryIDs: splitList(form.Get("category_ids")),
		startsAt:    readTime(form, "starts_at"),
		endsAt:      readTime(form, "ends_at"),
		usageLimit:  readInt(form, "usage_limit"),
		stackable:   form.Has("stackable"),
		active:      form.Has("active"),
		minSubtotal: readMoney(form, "min_subtotal", cur, true),
	}
	in.usageLimitPerCustomer = readInt(form, "usage_limit_per_customer")
	if in.name == "" {
		form.Fail("name", "enter a name")
	}
	switch kind {
	case pricingapi.KindPercentage:
		if bp, ok := readPercent(form, "percent"); ok {
			if bp == 0 {
				form.Fail("percent", "enter a percentage above 0")
			}
			in.percentBP = bp
		}
	case pricingapi.KindFixed:
		in.amount = readMoney(form, "amount", cur, false)
		if in.amount != nil && in.amount.Amount == 0 {
			form.Fail("amount", "enter an amount above zero")
		}
	}
	if p := form.Get("priority"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			form.Fail("priority", "enter a whole number; lower applies first")
		}
		in.priority = n
	}
	if in.startsAt != nil && in.endsAt != nil && !in.endsAt.After(*in.startsAt) {
		form.Fail("ends_at", "must be after the start")
	}
	return in
}

// createDiscount creates a discount from the form.
func (s *Service) createDiscount(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "New discount")
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	kind, scope := form.Get("kind"), form.Get("scope")
	if optionLabel(discountKinds, kind) == kind {
		form.Fail("kind", "choose a kind")
	}
	if optionLabel(discountScopes, scope) == scope {
		form.Fail("scope", "choose what it applies to")
	}
	code := strings.ToUpper(form.Get("code"))
	in := readDiscount(form, kind, storeCurrency(pf.view))
	if form.Invalid() {
		s.renderDiscountForm(w, r, pf, http.StatusUnprocessableEntity, nil, form)
		return
	}
	active := in.active
	c := pricingapi.DiscountCreate{Name: in.name, Code: code, Kind: kind, PercentBP: in.percentBP, Amount: in.amount, Scope: scope,
		StartsAt: in.startsAt, EndsAt: in.endsAt, UsageLimit: in.usageLimit, UsageLimitPerCustomer: in.usageLimitPerCustomer,
		MinSubtotal: in.minSubtotal, Stackable: in.stackable, Priority: in.priority, Active: &active}
	if scope == pricingapi.ScopeProduct {
		c.ProductIDs = in.productIDs
	}
	if scope == pricingapi.ScopeCategory {
		c.CategoryIDs = in.categoryIDs
	}
	d, err := s.deps.Pricing.CreateDiscount(pf.ctx, c, form.Key())
	if err != nil {
		if pricingRefused(form, err, discountFields) {
			s.renderDiscountForm(w, r, pf, http.StatusUnprocessableEntity, nil, form)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	flash := "Discount “" + d.Name + "” created."
	if d.Code != "" {
		flash = "Coupon " + d.Code + " created."
	}
	s.kit.Redirect(w, r, "/admin/discounts", flash)
}

// editDiscount shows a discount's form.
func (s *Service) editDiscount(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Discount")
	if !ok {
		return
	}
	d, err := s.deps.Pricing.Discount(pf.ctx, r.PathValue("id"))
	if err != nil {
		s.failPricing(w, r, err)
		return
	}
	pf.view.Title = "Discount " + d.Name
	s.renderDiscountForm(w, r, pf, http.StatusOK, &d, page.EmptyForm(discountValues(d)))
}

// updateDiscount changes a discount: every field of the form but its
// kind, scope and code, which cannot change.
func (s *Service) updateDiscount(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Discount")
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	d, err := s.deps.Pricing.Discount(pf.ctx, r.PathValue("id"))
	if err != nil {
		s.failPricing(w, r, err)
		return
	}
	pf.view.Title = "Discount " + d.Name
	cur := storeCurrency(pf.view)
	if d.Amount != nil {
		cur = d.Amount.Currency
	}
	in := readDiscount(form, d.Kind, cur)
	if form.Invalid() {
		s.renderDiscountForm(w, r, pf, http.StatusUnprocessableEntity, &d, form)
		return
	}
	u := pricingapi.DiscountUpdate{Name: &in.name, Amount: in.amount, StartsAt: in.startsAt, EndsAt: in.endsAt,
		UsageLimit: in.usageLimit, UsageLimitPerCustomer: in.usageLimitPerCustomer, MinSubtotal: in.minSubtotal,
		Stackable: &in.stackable, Priority: &in.priority, Active: &in.active}
	// A field left blank is emptied, not kept: the form shows every field.
	for field, blank := range map[string]bool{"starts_at": in.startsAt == nil, "ends_at": in.endsAt == nil, "usage_limit": in.usageLimit == nil,
		"usage_limit_per_customer": in.usageLimitPerCustomer == nil, "min_subtotal": in.minSubtotal == nil} {
		if blank {
			u.Clear = append(u.Clear, field)
		}
	}
	slices.Sort(u.Clear)
	if d.Kind == pricingapi.KindPercentage {
		u.PercentBP = &in.percentBP
	}
	switch d.Scope {
	case pricingapi.ScopeProduct:
		u.ProductIDs = in.productIDs
		if len(u.ProductIDs) == 0 {
			form.Fail("product_ids", "enter at least one product ID")
		}
	case pricingapi.ScopeCategory:
		u.CategoryIDs = in.categoryIDs
		if len(u.CategoryIDs) == 0 {
			form.Fail("category_ids", "enter at least one category ID")
		}
	}
	if form.Invalid() {
		s.renderDiscountForm(w, r, pf, http.StatusUnprocessableEntity, &d, form)
		return
	}
	if _, err := s.deps.Pricing.UpdateDiscount(pf.ctx, d.ID, u); err != nil {
		if pricingRefused(form, err, discountFields) {
			s.renderDiscountForm(w, r, pf, http.StatusUnprocessableEntity, &d, form)
			return
		}
		s.failPricing(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/discounts", "Discount “"+in.name+"” saved.")
}

// deleteDiscount deletes a discount.
func (s *Service) deleteDiscount(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if err := s.deps.Pricing.DeleteDiscount(ctx, r.PathValue("id")); !deleted(err) {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/discounts", "Discount deleted.")
}

// failPricing answers a failed read or change of one pricing item: the
// styled 404 for one that does not exist, else the kit's answer.
func (s *Service) failPricing(w http.ResponseWriter, r *http.Request, err error) {
	if pricingNotFound(err) {
		s.kit.NotFound(w, r)
		return
	}
	s.kit.Fail(w, r, err)
}
