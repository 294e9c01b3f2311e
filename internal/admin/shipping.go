package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

func (s *Service) shippingRoutes(route routeFunc) {
	route("GET /admin/shipping-methods", s.shippingMethods)
	route("GET /admin/shipping-methods/new", s.newShippingMethod)
	route("POST /admin/shipping-methods", s.saveShippingMethod)
	route("GET /admin/shipping-methods/{id}", s.editShippingMethod)
	route("POST /admin/shipping-methods/{id}", s.saveShippingMethod)
	route("POST /admin/shipping-methods/{id}/delete", s.deleteShippingMethod)
}

// shippingPage is the data of the shipping method list.
type shippingPage struct {
	Methods []pricingapi.ShippingMethod
	CanEdit bool
}

// shippingMethods lists the store's shipping methods, active or not.
func (s *Service) shippingMethods(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Shipping methods")
	if !ok {
		return
	}
	l, err := s.deps.Pricing.AdminShippingMethods(pf.ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	pf.view.Data = shippingPage{Methods: l.Items, CanEdit: pf.view.Can(pricingEditors...)}
	s.kit.Render(w, r, http.StatusOK, "shipping-methods", pf.view)
}

// shippingFormPage is the data of the form creating (Method nil) or
// replacing a shipping method.
type shippingFormPage struct {
	Method   *pricingapi.ShippingMethod
	Currency string
	CanEdit  bool
}

// Action is where the form posts.
func (p shippingFormPage) Action() string {
	if p.Method == nil {
		return "/admin/shipping-methods"
	}
	return pricingPath("/admin/shipping-methods", p.Method.ID)
}

func (s *Service) renderShippingForm(w http.ResponseWriter, r *http.Request, pf pricingForm, status int, m *pricingapi.ShippingMethod, form *page.Form) {
	cur := storeCurrency(pf.view)
	if m != nil {
		cur = m.Price.Currency
	}
	pf.view.Form = form
	pf.view.Data = shippingFormPage{Method: m, Currency: cur, CanEdit: pf.view.Can(pricingEditors...)}
	s.kit.Render(w, r, status, "shipping-methods-form", pf.view)
}

// newShippingMethod shows an empty shipping method form.
func (s *Service) newShippingMethod(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "New shipping method")
	if !ok {
		return
	}
	if !pf.view.Can(pricingEditors...) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	s.renderShippingForm(w, r, pf, http.StatusOK, nil, page.EmptyForm(url.Values{"active": {"1"}}))
}

// editShippingMethod shows a shipping method's form.
func (s *Service) editShippingMethod(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Shipping method")
	if !ok {
		return
	}
	m, err := s.deps.Pricing.ShippingMethod(pf.ctx, r.PathValue("id"))
	if err != nil {
		s.failPricing(w, r, err)
		return
	}
	pf.view.Title = "Shipping method " + m.Name
	vals := url.Values{"code": {m.Code}, "name": {m.Name}, "countries": {strings.Join(m.Countries, ", ")},
		"price": {page.FormatDecimal(m.Price.Amount, money.Scale(m.Price.Currency))}}
	if m.FreeOver != nil {
		vals.Set("free_over", page.FormatDecimal(m.FreeOver.Amount, money.Scale(m.FreeOver.Currency)))
	}
	if m.Active {
		vals.Set("active", "1")
	}
	s.renderShippingForm(w, r, pf, http.StatusOK, &m, page.EmptyForm(vals))
}

// saveShippingMethod creates a shipping method (no id in the path) or
// replaces one.
func (s *Service) saveShippingMethod(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	title := "New shipping method"
	if id != "" {
		title = "Shipping method"
	}
	pf, ok := s.begin(w, r, title)
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	var current *pricingapi.ShippingMethod
	cur := storeCurrency(pf.view)
	if id != "" {
		m, err := s.deps.Pricing.ShippingMethod(pf.ctx, id)
		if err != nil {
			s.failPricing(w, r, err)
			return
		}
		current, cur = &m, m.Price.Currency
		pf.view.Title = "Shipping method " + m.Name
	}
	active := form.Has("active")
	in := pricingapi.ShippingMethodInput{Code: strings.ToLower(form.Get("code")), Name: form.Get("name"), Active: &active,
		FreeOver: readMoney(form, "free_over", cur, true)}
	if in.Code == "" {
		form.Fail("code", "enter a code, like standard")
	}
	if in.Name == "" {
		form.Fail("name", "enter a name")
	}
	if p := readMoney(form, "price", cur, false); p != nil {
		in.Price = *p
	}
	for _, c := range splitList(form.Get("countries")) {
		c = strings.ToUpper(c)
		if len(c) != 2 {
			form.Fail("countries", "enter two-letter country codes, like DE, AT")
			break
		}
		in.Countries = append(in.Countries, c)
	}
	if form.Invalid() {
		s.renderShippingForm(w, r, pf, http.StatusUnprocessableEntity, current, form)
		return
	}
	var err error
	if current == nil {
		_, err = s.deps.Pricing.CreateShippingMethod(pf.ctx, in, form.Key())
	} else {
		_, err = s.deps.Pricing.ReplaceShippingMethod(pf.ctx, id, in)
	}
	if err != nil {
		if pricingRefused(form, err, nil) {
			s.renderShippingForm(w, r, pf, http.StatusUnprocessableEntity, current, form)
			return
		}
		s.failPricing(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/shipping-methods", "Shipping method "+in.Name+" saved.")
}

// deleteShippingMethod deletes a shipping method.
func (s *Service) deleteShippingMethod(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if err := s.deps.Pricing.DeleteShippingMethod(ctx, r.PathValue("id")); !deleted(err) {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/shipping-methods", "Shipping method deleted.")
}
