// Package page is the kit Mercato's web pages are made with: the storefront
// and the admin (and every later service's pages) render html/template
// files embedded in the binary (module folder web/), through one Kit that
// gives them
//
//   - the store the Host names (tenant resolution, styled 404 for none),
//     its settings for branding, locale and currency;
//   - a cookie session (HttpOnly, SameSite=Lax, Secure outside localhost)
//     on the platform's session store, holding the signed-in person's API
//     tokens: pages call every API with the person's rights, never the
//     deployment's (apiclient.WithToken);
//   - cross-site request protection on every form (net/http's
//     CrossOriginProtection), a Content-Security-Policy without inline
//     script or style, and escaping by html/template;
//   - forms that keep what was typed and mark the fields an API refused,
//     money and dates in the store's locale, cursor paging, per-form
//     Idempotency-Keys, and styled error pages.
//
// A Kit owns no data: whatever a page shows comes from a service's API.
package page

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// Resolver names the store a host belongs to (tenantapi.Client is one).
type Resolver interface {
	ResolveTenant(ctx context.Context, host, id string) (string, error)
}

// Store is what a page shows of its store: the settings the tenant
// service keeps.
type Store struct {
	ID           string
	Name         string
	Logo         string // an http(s) URL or a /path; empty for the placeholder
	Currency     string
	Locale       string // BCP 47
	TaxInclusive bool
	BrandColor   string // #rrggbb
	AccentColor  string // #rrggbb
}

// StoreReader reads the settings of the store in ctx.
type StoreReader func(ctx context.Context) (Store, error)

// Tokens are a signed-in person's API tokens.
type Tokens struct {
	Access  string
	Refresh string
	Expires time.Time // of Access
}

// Refresher exchanges a refresh token for new tokens (identity's
// /api/v1/auth/refresh, or the staff equivalent).
type Refresher func(ctx context.Context, refreshToken string) (Tokens, error)

// Options configure a Kit.
type Options struct {
	// Service names the template folder (web/templates/<Service>) and the
	// session cookie (mercato_<Service>).
	Service string
	// Prefix is the path every page of the service starts with: "" for
	// the storefront, "/admin" for the admin. Static files are served
	// under Prefix + "/static/".
	Prefix string
	// Tenants resolves the Host of a request to its store.
	Tenants Resolver
	// Stores reads the store's settings (name, colours, locale, currency).
	Stores StoreReader
	// Sessions is the session manager (session.New); the Kit sets its
	// cookie's name and path and answers its errors with a page.
	Sessions *scs.SessionManager
	// Refresh renews a signed-in person's expired access token; nil
	// signs them out when it expires.
	Refresh Refresher
	// SignInPath is where a page that needs a signed-in person sends a
	// guest (with ?next=).
	SignInPath string
	// Shared configures the cache of pages shared by visitors without a
	// session (Kit.Shared); its zero value caches nothing.
	Shared SharedOptions
	Log    *slog.Logger
}

// Kit renders one service's pages. It is safe for concurrent use.
type Kit struct {
	opts   Options
	log    *slog.Logger
	pages  map[string]*pageTemplate
	static *staticFiles
	cop    *http.CrossOriginProtection
	shared *sharedCache
	// refreshes makes one token refresh per refresh token (refresh.go).
	refreshes refreshes
}

// New parses the service's templates and prepares its static files.
func New(o Options) (*Kit, error) {
	if o.Service == "" || o.Tenants == nil || o.Stores == nil || o.Sessions == nil {
		return nil, errors.New("page: Service, Tenants, Stores and Sessions are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	k := &Kit{opts: o, log: o.Log, shared: newSharedCache(o.Shared)}
	var err error
	if k.static, err = newStaticFiles(o.Prefix + "/static/"); err != nil {
		return nil, err
	}
	if k.pages, err = parsePages(o.Service); err != nil {
		return nil, err
	}
	sm := o.Sessions
	sm.Cookie.Name = "mercato_" + o.Service
	sm.Cookie.Path = o.Prefix + "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		k.log.WarnContext(r.Context(), "session store", "err", err)
		k.renderError(w, r, http.StatusServiceUnavailable)
	}
	k.cop = http.NewCrossOriginProtection()
	k.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.renderError(w, r, http.StatusForbidden)
	}))
	return k, nil
}

// Static serves the static files; mount it at Prefix + "/static/".
func (k *Kit) Static() http.Handler { return k.static }

// StaticPattern is the ServeMux pattern Static is mounted at.
func (k *Kit) StaticPattern() string { return "GET " + k.opts.Prefix + "/static/" }

// Handler wraps the service's page handler h: security headers, the store
// of the Host, the session, and cross-origin protection on every unsafe
// method. A Host that names no store answers a styled 404.
func (k *Kit) Handler(h http.Handler) http.Handler {
	h = k.cop.Handler(h)
	h = k.opts.Sessions.LoadAndSave(h)
	h = k.store(h)
	return k.headers(h)
}

// headers sets the security headers of every page and turns a panic into
// the 500 page.
func (k *Kit) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-store")
		hd.Add("Vary", "Accept-Encoding")
		if !localHost(r) {
			w = &secureCookies{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

type storeKey struct{}

// store resolves the Host to its store and reads the store's settings.
func (k *Kit) store(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := web.RequestHost(r.Host)
		if !ok {
			k.renderError(w, r, http.StatusBadRequest)
			return
		}
		tenant, err := k.opts.Tenants.ResolveTenant(r.Context(), host, "")
		switch {
		case errors.Is(err, tenancy.ErrUnknown):
			k.renderError(w, r, http.StatusNotFound)
			return
		case err != nil:
			k.log.WarnContext(r.Context(), "resolve store", "host", host, "err", err)
			k.renderError(w, r, http.StatusServiceUnavailable)
			return
		}
		ctx := tenancy.WithID(r.Context(), tenant)
		st, err := k.opts.Stores(ctx)
		if err != nil {
			k.log.WarnContext(ctx, "read store settings", "err", err)
			k.renderError(w, r, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, storeKey{}, st)))
	})
}

// Store returns the store of the request (set by Handler).
func StoreOf(ctx context.Context) (Store, bool) {
	s, ok := ctx.Value(storeKey{}).(Store)
	return s, ok
}

// Path returns the service's path p (which starts with /) under its prefix.
func (k *Kit) Path(p string) string { return k.opts.Prefix + p }

// localHost reports whether r came to a loopback name, where a Secure
// cookie would not be sent over plain HTTP.
func localHost(r *http.Request) bool {
	h, _ := web.RequestHost(r.Host)
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "127.0.0.1" || h == "::1"
}

// secureCookies marks every cookie it writes Secure: outside a loopback
// name the site is served over HTTPS, and the session cookie must never
// travel without it.
type secureCookies struct {
	http.ResponseWriter
	done bool
}

func (s *secureCookies) mark() {
	if s.done {
		return
	}
	s.done = true
	cs := s.Header()["Set-Cookie"]
	for i, c := range cs {
		if !strings.Contains(strings.ToLower(c), "; secure") {
			cs[i] = c + "; Secure"
		}
	}
}

func (s *secureCookies) WriteHeader(status int) {
	s.mark()
	s.ResponseWriter.WriteHeader(status)
}

func (s *secureCookies) Write(b []byte) (int, error) {
	s.mark()
	return s.ResponseWriter.Write(b)
}

func (s *secureCookies) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Redirect answers 303 See Other to path (a path of this site), with a
// flash message shown once on the next page when flash is not empty.
func (k *Kit) Redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		k.opts.Sessions.Put(r.Context(), flashKey, flash)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

const flashKey = "flash"

// Fail answers a request that failed with err: the sign-in page for a
// person signed out, the styled 404 for what does not exist (or is not
// theirs), 403 for what their role may not do, 503 when a service is
// away, and 500 otherwise (logged with the request).
func (k *Kit) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	switch {
	case errors.Is(err, ErrSignedOut):
		k.toSignIn(w, r)
		return
	case status >= 500:
		k.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	default:
		k.log.InfoContext(r.Context(), "page refused", "path", r.URL.Path, "status", status, "err", err)
	}
	k.renderError(w, r, status)
}

// NotFound answers the styled 404 page.
func (k *Kit) NotFound(w http.ResponseWriter, r *http.Request) {
	k.renderError(w, r, http.StatusNotFound)
}

func (k *Kit) toSignIn(w http.ResponseWriter, r *http.Request) {
	if k.opts.SignInPath == "" {
		k.renderError(w, r, http.StatusUnauthorized)
		return
	}
	next := r.URL.Path
	if r.Method != http.MethodGet {
		next = ""
	}
	target := k.opts.SignInPath
	if next != "" {
		target += "?next=" + queryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// errorTitles are the headings of the error pages.
var errorTitles = map[int]string{
	http.StatusBadRequest:          "This address is not a store",
	http.StatusUnauthorized:        "Please sign in",
	http.StatusForbidden:           "You may not do this",
	http.StatusNotFound:            "Page not found",
	http.StatusConflict:            "This changed meanwhile",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusServiceUnavailable:  "Back in a moment",
}

// ErrorView is the data of an error page.
type ErrorView struct {
	Status  int
	Heading string
}

func (k *Kit) renderError(w http.ResponseWriter, r *http.Request, status int) {
	heading, ok := errorTitles[status]
	if !ok {
		heading = http.StatusText(status)
	}
	v := k.viewFor(r, heading)
	v.Data = ErrorView{Status: status, Heading: heading}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "5")
	}
	if err := k.render(w, r, status, "error", v); err != nil {
		k.log.ErrorContext(r.Context(), "render error page", "err", err)
		http.Error(w, fmt.Sprintf("%d %s", status, heading), status)
	}
}
