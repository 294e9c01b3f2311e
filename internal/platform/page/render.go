package page

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/mercato/mercato/internal/platform/money"
	assets "github.com/mercato/mercato/web"
)

// pageTemplate is one page: the service's layout, the shared pieces and
// the page's own file, parsed together so the page fills the layout's
// blocks.
type pageTemplate struct{ t *template.Template }

// funcs are the template functions that need no request (the rest are
// View methods, which know the store's locale).
var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"join": strings.Join,
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// parsePages parses web/templates/<service>/*.html: layout.html and the
// shared pieces are part of every page; every other file is a page named
// after it. A service without error.html gets shared/error.html's.
func parsePages(service string) (map[string]*pageTemplate, error) {
	dir := "templates/" + service
	files, err := fs.Glob(assets.Templates, dir+"/*.html")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("page: no templates in web/%s", dir)
	}
	base := template.New("").Funcs(funcs)
	if _, err := base.ParseFS(assets.Templates, "templates/shared/*.html", dir+"/layout.html"); err != nil {
		return nil, fmt.Errorf("page: parse the layout of %s: %w", service, err)
	}
	pages := map[string]*pageTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := base.Clone()
		if err == nil {
			_, err = t.ParseFS(assets.Templates, f)
		}
		if err != nil {
			return nil, fmt.Errorf("page: parse %s: %w", f, err)
		}
		pages[name] = &pageTemplate{t}
	}
	if pages["error"] == nil {
		t, err := base.Clone()
		if err == nil {
			_, err = t.ParseFS(assets.Templates, "templates/shared/error.page")
		}
		if err != nil {
			return nil, fmt.Errorf("page: parse the error page: %w", err)
		}
		pages["error"] = &pageTemplate{t}
	}
	return pages, nil
}

// View is what every template gets: the page's own Data plus what the
// layout needs, and methods that format for the store's locale.
type View struct {
	Title string
	Store Store
	// Path is the request's path, Query its query.
	Path  string
	Query url.Values
	User  *Principal
	Flash string
	// Form is the posted form shown again with its errors (nil: none).
	Form *Form
	// Data is the page's own data.
	Data any
	// Nav is the service layout's own data (categories, cart count…).
	Nav any

	kit *Kit
	tag language.Tag
	// shared: the page is rendered for every visitor without a session
	// (shared.go), so its form keys are placeholders each answer fills.
	shared bool
}

// View returns the view of a page titled title for r, with the store,
// the signed-in person and the flash message of the request.
func (k *Kit) View(r *http.Request, title string) *View {
	v := k.viewFor(r, title)
	if p, err := k.principal(r.Context()); err == nil {
		v.User = p
	}
	if k.opts.Sessions != nil && hasSession(r) {
		v.Flash = k.opts.Sessions.PopString(r.Context(), flashKey)
	}
	return v
}

// hasSession reports whether the session middleware ran for r (it did not
// for a request refused before it, such as an unknown store).
func hasSession(r *http.Request) bool {
	_, ok := StoreOf(r.Context())
	return ok
}

func (k *Kit) viewFor(r *http.Request, title string) *View {
	st, _ := StoreOf(r.Context())
	if st.Name == "" {
		st.Name = "Mercato"
	}
	if st.BrandColor == "" {
		st.BrandColor, st.AccentColor = "#1f5f4a", "#b4461f"
	}
	tag, err := language.Parse(st.Locale)
	if err != nil {
		tag = language.BritishEnglish
	}
	_, shared := r.Context().Value(sharedRender{}).(bool)
	return &View{Title: title, Store: st, Path: r.URL.Path, Query: r.URL.Query(), kit: k, tag: tag, shared: shared}
}

// Render writes page name with status. The page is rendered into a buffer
// first, so a template failure answers the 500 page, never half a page.
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, name string, v *View) {
	if err := k.render(w, r, status, name, v); err != nil {
		k.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		k.renderError(w, r, http.StatusInternalServerError)
	}
}

func (k *Kit) render(w http.ResponseWriter, r *http.Request, status int, name string, v *View) error {
	pt := k.pages[name]
	if pt == nil {
		return fmt.Errorf("no page %q", name)
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, shared := r.Context().Value(sharedRender{}).(bool)
	writeBody(w, r, status, buf.Bytes(), !shared)
	return nil
}

// writeBody answers body with status, gzipped when compress is set, the
// body is worth it and the client takes gzip; nothing but the headers for
// a HEAD.
func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte, compress bool) {
	h := w.Header()
	if compress && len(body) > 1024 && acceptsGzip(r) {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = z.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

// Money formats m in the store's locale: "€ 12.50", "€ 1.234,50".
// Amounts are converted to a float only to be printed; they stay integer
// minor units everywhere else.
func (v *View) Money(m money.Money) string {
	unit, err := currency.ParseISO(m.Currency)
	if err != nil {
		return m.String()
	}
	amount := float64(m.Amount) / math.Pow10(money.Scale(m.Currency))
	return message.NewPrinter(v.tag).Sprint(currency.Symbol(unit.Amount(amount)))
}

// Number formats n in the store's locale (1,234 or 1.234).
func (v *View) Number(n int64) string {
	return message.NewPrinter(v.tag).Sprint(number.Decimal(n))
}

// Decimal formats minor units of the store's currency as a plain decimal
// for a form field ("12.50"), as MinorUnits reads it back.
func (v *View) Decimal(minor int64, currencyCode string) string {
	return FormatDecimal(minor, money.Scale(currencyCode))
}

// Date formats t as a day in the store's locale: "3 Dec 2026" ("Dec 3,
// 2026" in American English). Times are shown in UTC.
func (v *View) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if v.tag == language.AmericanEnglish {
		return t.UTC().Format("Jan 2, 2006")
	}
	return t.UTC().Format("2 Jan 2006")
}

// DateTime is Date with the time of day (24-hour clock, UTC).
func (v *View) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return v.Date(t) + ", " + t.UTC().Format("15:04") + " UTC"
}

// BrandCSS is the URL of the store's colours (Kit.BrandCSS), versioned by
// the colours so a change shows at once.
func (v *View) BrandCSS() string {
	return v.kit.Path("/brand.css") + "?v=" + strings.TrimPrefix(v.Store.BrandColor, "#") + strings.TrimPrefix(v.Store.AccentColor, "#")
}

// Lang is the page's language (the store's locale).
func (v *View) Lang() string { return v.tag.String() }

// Static returns the URL of a static file, versioned by its content so
// it can be cached for good.
func (v *View) Static(name string) string { return v.kit.static.url(name) }

// Path is the kit's Path: the service's path p under its prefix.
func (v *View) P(p string) string { return v.kit.Path(p) }

// Key returns a new Idempotency-Key for a form: the form carries it in a
// hidden field, so submitting it twice (a double click, a reload) makes
// one change, not two.
func (v *View) Key() string {
	if v.shared {
		return keyPlaceholder
	}
	return NewKey()
}

// PageURL returns the current page's URL with the cursor set (empty: the
// first page), every other query parameter kept.
func (v *View) PageURL(cursor string) string {
	q := url.Values{}
	for k, vs := range v.Query {
		q[k] = vs
	}
	q.Del("cursor")
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return v.Path
	}
	return v.Path + "?" + q.Encode()
}

// Can reports whether the signed-in person's role is one of roles.
func (v *View) Can(roles ...string) bool {
	if v.User == nil {
		return false
	}
	for _, r := range roles {
		if v.User.Role == r {
			return true
		}
	}
	return false
}

// NewKey returns a random Idempotency-Key.
func NewKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// Initial is the store name's first letter, for the logo placeholder.
func (v *View) Initial() string {
	for _, c := range v.Store.Name {
		return strings.ToUpper(string(c))
	}
	return "M"
}

// Option is one choice of a select field.
type Option struct{ Value, Label string }
