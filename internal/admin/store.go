package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// The store's settings: owners and managers change them, owners add and
// remove its custom domains (the tenant service's access table); every
// member may see them and the plan's limits.
func (s *Service) storeRoutes(route routeFunc) {
	route("GET /admin/settings", s.settingsPage)
	route("POST /admin/settings", s.saveSettings)
	route("POST /admin/settings/domains", s.addDomain)
	route("POST /admin/settings/domains/{host}/remove", s.removeDomain)
	s.apiKeyRoutes(route)
}

// settingsData is the store's settings, its domains and its plan.
type settingsData struct {
	Manager, Owner bool
	Store          tenantapi.Store
	Limits         tenantapi.Limits
	Domains        []tenantapi.Domain
	Settings       *page.Form
	Domain         *page.Form
	// BrandWas and AccentWas are the colours stored, for the pickers.
	BrandWas, AccentWas string
	// CanUpload says the visitor may upload a logo with Logo (media.go).
	CanUpload   bool
	Logo        *page.Form
	UploadLimit string
	// InvoiceOn are the choices of when invoices are issued.
	InvoiceOn []page.Option
}

// settingsForm is the settings form filled with st's settings.
func settingsForm(st tenantapi.Store) *page.Form {
	v := url.Values{
		"name": {st.Name}, "logo": {st.Logo}, "currency": {st.Currency}, "locale": {st.Locale},
		"brand_color": {st.BrandColor}, "accent_color": {st.AccentColor},
		"cors_origins": {strings.Join(st.CORSOrigins, "\n")},
		"legal_name":   {st.LegalName}, "tax_id": {st.TaxID}, "time_zone": {st.TimeZone}, "invoice_on": {st.InvoiceTrigger()},
	}
	for _, f := range addressFields(&st.Address) {
		v.Set(f.form, *f.value)
	}
	if st.TaxInclusive {
		v.Set("tax_inclusive", "on")
	}
	return page.EmptyForm(v)
}

func (s *Service) settingsPage(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderSettings(ctx, w, r, p, http.StatusOK, nil, nil)
}

// renderSettings renders the settings page; a nil form is filled from the
// store's settings.
func (s *Service) renderSettings(ctx context.Context, w http.ResponseWriter, r *http.Request, p *page.Principal, status int, settings, domain *page.Form) {
	s.renderSettingsWith(ctx, w, r, p, status, settings, domain, nil)
}

// renderSettingsWith is renderSettings with the logo upload form as sent
// (nil: an empty one).
func (s *Service) renderSettingsWith(ctx context.Context, w http.ResponseWriter, r *http.Request, p *page.Principal, status int, settings, domain, logo *page.Form) {
	st, err := s.deps.Store.Store(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	lim, err := s.deps.Store.Limits(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := &settingsData{Manager: hasRole(p, managerRoles), Owner: hasRole(p, ownerRoles), Store: st, Limits: lim,
		Settings: settings, Domain: domain, BrandWas: colorOr(st.BrandColor, tenantapi.DefaultBrandColor),
		AccentWas: colorOr(st.AccentColor, tenantapi.DefaultAccentColor)}
	if d.Settings == nil {
		d.Settings = settingsForm(st)
	}
	if d.Domain == nil {
		d.Domain = page.EmptyForm(nil)
	}
	if d.Manager {
		l, err := s.deps.Store.Domains(ctx)
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		d.Domains = l.Items
	}
	v, err := s.view(r, "Settings")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.CanUpload, d.Logo, d.UploadLimit = s.canUpload(v), logo, megabytes(s.cfg.MaxUpload)
	if d.Logo == nil {
		d.Logo = page.EmptyForm(nil)
	}
	d.InvoiceOn = invoiceOnOptions
	v.Data = d
	v.Form = d.Settings
	s.kit.Render(w, r, status, "settings", v)
}

// hexColor reports whether c is a CSS hex colour #rrggbb.
func hexColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, x := range c[1:] {
		if !(x >= '0' && x <= '9' || x >= 'a' && x <= 'f' || x >= 'A' && x <= 'F') {
			return false
		}
	}
	return true
}

// colorOr is c when it is a hex colour, else def.
func colorOr(c, def string) string {
	if hexColor(c) {
		return c
	}
	return def
}

// pickColor chooses between a colour's two inputs: the hex text and the
// colour picker (whose value a browser without one sends unchanged). The
// one that differs from the stored colour (was) is the change, the text
// first; neither changed keeps was.
func pickColor(text, picker, was string) string {
	switch {
	case !strings.EqualFold(text, was):
		return text
	case picker != "" && !strings.EqualFold(picker, was):
		return picker
	}
	return was
}

// addressField is a field of the store's address: its name in the form,
// its place in the API's errors, and its value in a.
type addressField struct {
	form, api string
	value     *string
}

// addressFields are a's fields, in the order of the form.
func addressFields(a *tenantapi.Address) []addressField {
	return []addressField{
		{"address_line1", "address.line1", &a.Line1}, {"address_line2", "address.line2", &a.Line2},
		{"address_city", "address.city", &a.City}, {"address_region", "address.region", &a.Region},
		{"address_postal_code", "address.postal_code", &a.PostalCode}, {"address_country", "address.country", &a.Country},
	}
}

// invoiceOnOptions are the choices of the invoice trigger.
var invoiceOnOptions = []page.Option{
	{Value: tenantapi.InvoiceOnConfirmed, Label: "When the order is confirmed (paid)"},
	{Value: tenantapi.InvoiceOnShipped, Label: "When the order ships"},
}

// origins reads the CORS origins typed one per line.
func origins(s string) []string {
	out := []string{}
	for line := range strings.Lines(s) {
		if o := strings.TrimSpace(line); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// saveSettings saves the settings form. The storefront's pages read the
// settings through a cache, so they show the change within 10 seconds.
func (s *Service) saveSettings(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	name, logo, locale := f.Get("name"), f.Get("logo"), f.Get("locale")
	currency := strings.ToUpper(f.Get("currency"))
	tax := f.Has("tax_inclusive")
	brand := pickColor(f.Get("brand_color"), f.Get("brand_color_picker"), f.Get("brand_color_was"))
	accent := pickColor(f.Get("accent_color"), f.Get("accent_color_picker"), f.Get("accent_color_was"))
	f.Values.Set("brand_color", brand)
	f.Values.Set("accent_color", accent)
	cors := origins(f.Values.Get("cors_origins"))
	legal, taxID, zone, invoiceOn := f.Get("legal_name"), f.Get("tax_id"), f.Get("time_zone"), f.Get("invoice_on")
	var addr tenantapi.Address
	apiFields := map[string]string{}
	for _, a := range addressFields(&addr) {
		*a.value = f.Get(a.form)
		apiFields[a.api] = a.form
	}
	if name == "" {
		f.Fail("name", "Enter the store's name.")
	}
	if len(currency) != 3 {
		f.Fail("currency", "Enter a three-letter currency code, like EUR.")
	}
	if locale == "" {
		f.Fail("locale", "Enter a language tag, like en-GB.")
	}
	if !hexColor(brand) {
		f.Fail("brand_color", "Enter a colour as # and six hex digits, like #1f5f4a.")
	}
	if !hexColor(accent) {
		f.Fail("accent_color", "Enter a colour as # and six hex digits, like #b4461f.")
	}
	if zone == "" {
		f.Fail("time_zone", "Enter a time zone, like Europe/Berlin or UTC.")
	}
	if !f.Invalid() {
		_, err := s.deps.Store.UpdateStore(ctx, tenantapi.StoreUpdate{Name: &name, Logo: &logo, Currency: &currency, TaxInclusive: &tax,
			Locale: &locale, CORSOrigins: &cors, BrandColor: &brand, AccentColor: &accent,
			LegalName: &legal, TaxID: &taxID, Address: &addr, TimeZone: &zone, InvoiceOn: &invoiceOn})
		if err == nil {
			s.kit.Redirect(w, r, "/admin/settings", "The settings are saved. The storefront shows them within 10 seconds.")
			return
		}
		if !f.Refused(err, apiFields) {
			s.kit.Fail(w, r, err)
			return
		}
		// An origin refused is marked on the list (cors_origins[2] → the
		// list's field).
		for k, msg := range f.Errors {
			if strings.HasPrefix(k, "cors_origins[") {
				delete(f.Errors, k)
				f.Fail("cors_origins", msg)
			}
		}
	}
	s.renderSettings(ctx, w, r, p, http.StatusUnprocessableEntity, f, nil)
}

// addDomain maps a custom domain to the store.
func (s *Service) addDomain(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	host := strings.ToLower(f.Get("host"))
	if host == "" {
		f.Fail("host", "Enter a host name, like shop.example.com.")
	} else {
		d, err := s.deps.Store.AddDomain(ctx, host)
		switch {
		case err == nil:
			s.kit.Redirect(w, r, "/admin/settings#domains-h", "The store answers at "+d.Host+" once its DNS points here.")
			return
		case apiclient.IsCode(err, "domain_taken"):
			f.Fail("host", "This host belongs to a store already.")
		case apiclient.IsCode(err, "too_many_domains"):
			f.Fail("host", "The store has the most custom domains allowed: remove one first.")
		case f.Refused(err, nil):
			if len(f.Errors) == 0 {
				f.Fail("host", f.Message)
			}
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderSettings(ctx, w, r, p, http.StatusUnprocessableEntity, nil, f)
}

// removeDomain removes one of the store's custom domains.
func (s *Service) removeDomain(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	host := r.PathValue("host")
	err = s.deps.Store.RemoveDomain(ctx, host)
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case apiclient.IsCode(err, "domain_protected"):
		s.kit.Redirect(w, r, "/admin/settings#domains-h", host+" is the store's own address: only custom domains can be removed.")
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/settings#domains-h", host+" is removed; it may answer for up to a minute more.")
	}
}
