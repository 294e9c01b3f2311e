package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// The pricing pages: discounts and coupons (discounts.go), tax rates
// (taxrates.go) and shipping methods (shipping.go), each a list, a form to
// create or edit one, and a delete button. Pricing's access table lets
// owners and managers change them and staff read them; support is refused
// by the API (the 403 page).
func (s *Service) pricingRoutes(route routeFunc) {
	s.discountRoutes(route)
	s.taxRateRoutes(route)
	s.shippingRoutes(route)
}

// pricingEditors are the roles that may change pricing's configuration.
var pricingEditors = []string{"owner", "manager"}

// errForbidden answers a page whose form the person's role may not use
// (the API would refuse what it sends) with the 403 page.
var errForbidden = &apiclient.Error{Status: http.StatusForbidden, Code: "forbidden", Detail: "your role may not do this", Service: "admin"}

// pricingForm is what the handlers of one pricing page share: the
// signed-in person's context and the view.
type pricingForm struct {
	ctx  context.Context
	view *page.View
}

// begin authenticates the request and builds its view titled title;
// false means the answer was sent.
func (s *Service) begin(w http.ResponseWriter, r *http.Request, title string) (pricingForm, bool) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return pricingForm{}, false
	}
	v, err := s.view(r, title)
	if err != nil {
		s.kit.Fail(w, r, err)
		return pricingForm{}, false
	}
	return pricingForm{ctx: ctx, view: v}, true
}

// pricingRefused records an API's refusal on form: fields maps the API's field
// names (without "body.", and with any "[i]" index or ".sub" part cut) to
// the form's. It reports false for an error that is no refusal of the
// form.
func pricingRefused(form *page.Form, err error, fields map[string]string) bool {
	raw := page.EmptyForm(nil)
	if !raw.Refused(err, nil) {
		return false
	}
	form.Message = raw.Message
	for loc, msg := range raw.Errors {
		base := loc
		if i := strings.IndexAny(base, "[."); i >= 0 {
			base = base[:i]
		}
		name, ok := fields[base]
		if !ok {
			name = base
		}
		form.Fail(name, msg)
	}
	return true
}

// deleted reports whether a delete answered with err left the thing gone:
// no error, or a 404 (deleted meanwhile, or by the first of two clicks).
func deleted(err error) bool {
	return err == nil || apiclient.IsStatus(err, http.StatusNotFound)
}

// storeCurrency is the currency amounts of the store's forms are typed in.
func storeCurrency(v *page.View) string {
	if v.Store.Currency != "" {
		return v.Store.Currency
	}
	return "EUR"
}

// readMoney reads the decimal typed in field as an amount of cur; empty
// is nil when optional, else marked.
func readMoney(form *page.Form, field, cur string, optional bool) *money.Money {
	s := form.Get(field)
	if s == "" {
		if !optional {
			form.Fail(field, "enter an amount")
		}
		return nil
	}
	n, err := page.MinorUnits(s, money.Scale(cur))
	if err != nil {
		form.Fail(field, err.Error())
		return nil
	}
	return &money.Money{Amount: n, Currency: cur}
}

// readPercent reads a percentage typed with at most two decimals ("19",
// "7.5") as basis points, at most 100%.
func readPercent(form *page.Form, field string) (int64, bool) {
	s := strings.TrimSuffix(strings.TrimSpace(form.Get(field)), "%")
	if s == "" {
		form.Fail(field, "enter a percentage")
		return 0, false
	}
	bp, err := page.MinorUnits(s, 2)
	if err != nil {
		form.Fail(field, strings.Replace(err.Error(), "amount", "percentage", 1))
		return 0, false
	}
	if bp > 10000 {
		form.Fail(field, "enter a percentage from 0 to 100")
		return 0, false
	}
	return bp, true
}

// percentText writes basis points as the percentage a form takes back:
// 1900 → "19", 750 → "7.5".
func percentText(bp int64) string {
	s := page.FormatDecimal(bp, 2)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// readInt reads an optional whole number of at least 0.
func readInt(form *page.Form, field string) *int64 {
	s := form.Get(field)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		form.Fail(field, "enter a whole number, 0 or more")
		return nil
	}
	return &n
}

// dateTimeLayouts are what a datetime-local (or a date) field sends.
var dateTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly}

// readTime reads an optional date and time typed in UTC.
func readTime(form *page.Form, field string) *time.Time {
	s := form.Get(field)
	if s == "" {
		return nil
	}
	for _, l := range dateTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return &t
		}
	}
	form.Fail(field, "enter a date and time like 2026-03-01T09:00")
	return nil
}

// timeText is t as a datetime-local field shows it (UTC), "" for none.
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

// splitList splits IDs or codes typed one per line, or separated by
// commas or spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
}

// pricingPath is the page of one item of a pricing list (base is the
// list's path).
func pricingPath(base, id string) string { return base + "/" + url.PathEscape(id) }

// pricingNotFound reports whether err is the pricing API's 404: the item
// does not exist (in this store).
func pricingNotFound(err error) bool { return apiclient.IsStatus(err, http.StatusNotFound) }

// listKinds are the discount kinds, for the form's select.
var discountKinds = []page.Option{
	{Value: pricingapi.KindPercentage, Label: "Percentage off"},
	{Value: pricingapi.KindFixed, Label: "Fixed amount off"},
	{Value: pricingapi.KindFreeShipping, Label: "Free shipping"},
}

// discountScopes are what a discount applies to, for the form's select.
var discountScopes = []page.Option{
	{Value: pricingapi.ScopeOrder, Label: "The whole order"},
	{Value: pricingapi.ScopeProduct, Label: "Some products"},
	{Value: pricingapi.ScopeCategory, Label: "Some categories"},
}
