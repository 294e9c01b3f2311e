package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

func (s *Service) taxRateRoutes(route routeFunc) {
	route("GET /admin/tax-rates", s.taxRates)
	route("GET /admin/tax-rates/new", s.newTaxRate)
	route("POST /admin/tax-rates", s.saveTaxRate)
	route("GET /admin/tax-rates/{id}", s.editTaxRate)
	route("POST /admin/tax-rates/{id}", s.saveTaxRate)
	route("POST /admin/tax-rates/{id}/delete", s.deleteTaxRate)
}

// taxRatesPage is the data of the tax rate list.
type taxRatesPage struct {
	Rates   []pricingapi.TaxRate
	CanEdit bool
}

// Percent writes basis points as a percentage: 1900 → "19%".
func (taxRatesPage) Percent(bp int64) string { return percentText(bp) + "%" }

// taxRates lists the store's tax rates.
func (s *Service) taxRates(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Tax rates")
	if !ok {
		return
	}
	l, err := s.deps.Pricing.TaxRates(pf.ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	pf.view.Data = taxRatesPage{Rates: l.Items, CanEdit: pf.view.Can(pricingEditors...)}
	s.kit.Render(w, r, http.StatusOK, "tax-rates", pf.view)
}

// taxRateFormPage is the data of the form creating (Rate nil) or
// replacing a tax rate.
type taxRateFormPage struct {
	Rate    *pricingapi.TaxRate
	CanEdit bool
}

// Action is where the form posts.
func (p taxRateFormPage) Action() string {
	if p.Rate == nil {
		return "/admin/tax-rates"
	}
	return pricingPath("/admin/tax-rates", p.Rate.ID)
}

func (s *Service) renderTaxRateForm(w http.ResponseWriter, r *http.Request, pf pricingForm, status int, rate *pricingapi.TaxRate, form *page.Form) {
	pf.view.Form = form
	pf.view.Data = taxRateFormPage{Rate: rate, CanEdit: pf.view.Can(pricingEditors...)}
	s.kit.Render(w, r, status, "tax-rates-form", pf.view)
}

// newTaxRate shows an empty tax rate form.
func (s *Service) newTaxRate(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "New tax rate")
	if !ok {
		return
	}
	if !pf.view.Can(pricingEditors...) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	s.renderTaxRateForm(w, r, pf, http.StatusOK, nil, page.EmptyForm(nil))
}

// editTaxRate shows a tax rate's form.
func (s *Service) editTaxRate(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Tax rate")
	if !ok {
		return
	}
	rate, err := s.deps.Pricing.TaxRate(pf.ctx, r.PathValue("id"))
	if err != nil {
		s.failPricing(w, r, err)
		return
	}
	pf.view.Title = "Tax rate " + rate.Name
	s.renderTaxRateForm(w, r, pf, http.StatusOK, &rate, page.EmptyForm(url.Values{
		"country": {rate.Country}, "region": {rate.Region}, "rate": {percentText(rate.RateBP)}, "name": {rate.Name}}))
}

// saveTaxRate creates a tax rate (no id in the path) or replaces one.
func (s *Service) saveTaxRate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	title := "New tax rate"
	if id != "" {
		title = "Tax rate"
	}
	pf, ok := s.begin(w, r, title)
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	var current *pricingapi.TaxRate
	if id != "" {
		rate, err := s.deps.Pricing.TaxRate(pf.ctx, id)
		if err != nil {
			s.failPricing(w, r, err)
			return
		}
		current = &rate
		pf.view.Title = "Tax rate " + rate.Name
	}
	in := pricingapi.TaxRateInput{Country: strings.ToUpper(form.Get("country")), Region: form.Get("region"), Name: form.Get("name")}
	if len(in.Country) != 2 {
		form.Fail("country", "enter a two-letter country code, like DE")
	}
	if in.Name == "" {
		form.Fail("name", "enter a name, like VAT")
	}
	in.RateBP, _ = readPercent(form, "rate")
	if form.Invalid() {
		s.renderTaxRateForm(w, r, pf, http.StatusUnprocessableEntity, current, form)
		return
	}
	var err error
	if current == nil {
		_, err = s.deps.Pricing.CreateTaxRate(pf.ctx, in, form.Key())
	} else {
		_, err = s.deps.Pricing.ReplaceTaxRate(pf.ctx, id, in)
	}
	if err != nil {
		if pricingRefused(form, err, map[string]string{"rate_bp": "rate"}) {
			s.renderTaxRateForm(w, r, pf, http.StatusUnprocessableEntity, current, form)
			return
		}
		s.failPricing(w, r, err)
		return
	}
	place := in.Country
	if in.Region != "" {
		place += "-" + in.Region
	}
	s.kit.Redirect(w, r, "/admin/tax-rates", "Tax rate "+in.Name+" ("+place+") saved.")
}

// deleteTaxRate deletes a tax rate.
func (s *Service) deleteTaxRate(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if err := s.deps.Pricing.DeleteTaxRate(ctx, r.PathValue("id")); !deleted(err) {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/tax-rates", "Tax rate deleted.")
}
