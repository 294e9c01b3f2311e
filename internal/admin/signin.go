package admin

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) signInRoutes(route routeFunc) {
	route("GET /admin/sign-in", s.signInPage)
	route("POST /admin/sign-in", s.signIn)
	route("POST /admin/sign-out", s.signOut)
	route("GET /admin/setup", s.setupPage)
	route("POST /admin/setup", s.setup)
}

// signInData is the sign-in page's own data.
type signInData struct {
	// Next is where a successful sign-in goes (a local /admin path).
	Next string
}

func (s *Service) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.URL.Query().Get("next"))
	if _, _, err := s.kit.Authed(r, "staff"); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v, _ := s.view(r, "Sign in")
	v.Data = signInData{Next: next}
	s.kit.Render(w, r, http.StatusOK, "sign-in", v)
}

// signIn exchanges a staff member's email and password for their tokens
// and keeps them in the session.
func (s *Service) signIn(w http.ResponseWriter, r *http.Request) {
	f := page.ParseForm(w, r)
	next := localNext(f.Get("next"))
	email := f.Get("email")
	password := f.Values.Get("password") // as typed: spaces are part of it
	if email == "" {
		f.Fail("email", "Enter your email address.")
	}
	if password == "" {
		f.Fail("password", "Enter your password.")
	}
	if f.Invalid() {
		s.renderSignIn(w, r, http.StatusUnprocessableEntity, f, next)
		return
	}
	sess, err := s.staffLogin(r, identityapi.Login{Email: email, Password: password})
	switch {
	case errors.Is(err, identityapi.ErrInvalidCredentials):
		f.Message = "The email or password is not right, or the account is deactivated."
		s.renderSignIn(w, r, http.StatusUnauthorized, f, next)
		return
	case apiclient.IsStatus(err, http.StatusTooManyRequests):
		f.Message = "Too many sign-in attempts. Wait a few minutes, then try again."
		w.Header().Set("Retry-After", "60")
		s.renderSignIn(w, r, http.StatusTooManyRequests, f, next)
		return
	case err != nil:
		if f.Refused(err, nil) {
			s.renderSignIn(w, r, http.StatusUnprocessableEntity, f, next)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	if err := s.kit.SignIn(w, r, staffPrincipal(sess, time.Now())); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, next, "Signed in as "+sess.Staff.Name+".")
}

func (s *Service) renderSignIn(w http.ResponseWriter, r *http.Request, status int, f *page.Form, next string) {
	f.Values.Del("password") // never sent back
	v, _ := s.view(r, "Sign in")
	v.Form = f
	v.Data = signInData{Next: next}
	s.kit.Render(w, r, status, "sign-in", v)
}

// signOut revokes the member's refresh token and ends the session.
func (s *Service) signOut(w http.ResponseWriter, r *http.Request) {
	if ctx, p, err := s.kit.Authed(r, "staff"); err == nil && p.Tokens.Refresh != "" {
		// Best effort: the session ends here whatever identity answers,
		// and the access token expires by itself within minutes.
		if err := s.deps.Identity.Logout(ctx, p.Tokens.Refresh); err != nil {
			s.log.WarnContext(ctx, "revoke staff refresh token", "err", err)
		}
	}
	if err := s.kit.SignOut(r); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/sign-in", "You are signed out.")
}

// setupPage is the first run of a store without an owner: the deployment's
// admin token creates the owner, who is signed in at once.
func (s *Service) setupPage(w http.ResponseWriter, r *http.Request) {
	v, _ := s.view(r, "Set up the store")
	s.kit.Render(w, r, http.StatusOK, "setup", v)
}

func (s *Service) setup(w http.ResponseWriter, r *http.Request) {
	f := page.ParseForm(w, r)
	token := f.Get("admin_token")
	in := identityapi.OwnerCreate{Name: f.Get("name"), Email: f.Get("email"), Password: f.Values.Get("password")}
	if token == "" {
		f.Fail("admin_token", "Enter the admin token: the server printed it at its first start and keeps it in the file admin-token of its data directory.")
	}
	if in.Name == "" {
		f.Fail("name", "Enter your name.")
	}
	if in.Email == "" {
		f.Fail("email", "Enter your email address.")
	}
	if len([]rune(in.Password)) < identityapi.MinPasswordLength {
		f.Fail("password", "Use at least 10 characters.")
	}
	if f.Invalid() {
		s.renderSetup(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	// The one call the pages make with a token that is not a signed-in
	// person's: the admin token the person typed, theirs to use.
	ctx := apiclient.WithToken(r.Context(), token)
	sess, err := s.deps.Identity.CreateOwner(ctx, in)
	switch {
	case errors.Is(err, identityapi.ErrOwnerExists):
		f.Message = "This store already has an owner: sign in instead."
		s.renderSetup(w, r, http.StatusConflict, f)
		return
	case apiclient.IsStatus(err, http.StatusUnauthorized), apiclient.IsStatus(err, http.StatusForbidden):
		f.Fail("admin_token", "This admin token is not valid here. Once a store has its owner, the generated token no longer works in it: sign in instead.")
		s.renderSetup(w, r, http.StatusUnprocessableEntity, f)
		return
	case errors.Is(err, identityapi.ErrEmailTaken):
		f.Fail("email", "This email belongs to a staff account of the store already.")
		s.renderSetup(w, r, http.StatusUnprocessableEntity, f)
		return
	case errors.Is(err, identityapi.ErrWeakPassword):
		f.Fail("password", "This password is too weak: use a longer one that is not common and not your email.")
		s.renderSetup(w, r, http.StatusUnprocessableEntity, f)
		return
	case err != nil:
		if f.Refused(err, nil) {
			s.renderSetup(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	if err := s.kit.SignIn(w, r, staffPrincipal(sess, time.Now())); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/", "Welcome, "+sess.Staff.Name+": you are the store's owner.")
}

func (s *Service) renderSetup(w http.ResponseWriter, r *http.Request, status int, f *page.Form) {
	f.Values.Del("password")
	f.Values.Del("admin_token")
	v, _ := s.view(r, "Set up the store")
	v.Form = f
	s.kit.Render(w, r, status, "setup", v)
}

// staffPrincipal is the session's person for a staff login's answer.
func staffPrincipal(sess identityapi.StaffSession, now time.Time) page.Principal {
	return page.Principal{
		Kind:   "staff",
		ID:     sess.Staff.ID,
		Email:  sess.Staff.Email,
		Name:   sess.Staff.Name,
		Role:   sess.Staff.Role,
		Tokens: tokens(sess.Tokens, now),
	}
}

func tokens(t identityapi.Tokens, now time.Time) page.Tokens {
	return page.Tokens{Access: t.AccessToken, Refresh: t.RefreshToken, Expires: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
}

// staffLogin signs a staff member in for the browser of r: through the
// service-token client when there is one, telling identity the browser's
// address, so the login throttle counts each browser's attempts.
func (s *Service) staffLogin(r *http.Request, l identityapi.Login) (identityapi.StaffSession, error) {
	if s.deps.Logins == nil {
		return s.deps.Identity.StaffLogin(r.Context(), l)
	}
	return s.deps.Logins.StaffLoginFor(r.Context(), l, browserIP(r))
}

// browserIP is the address of the browser r came from (the remote
// address's host; behind a proxy the proxy's, as the platform's
// trusted-proxy handling leaves it).
func browserIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// localNext returns next when it is a path of the back office, else the
// back office's start page: a sign-in never sends anyone elsewhere.
func localNext(next string) string {
	const home = "/admin/"
	if next == "" || strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || u.User != nil {
		return home
	}
	if u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/") || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") ||
		u.Path == "/admin/sign-in" || u.Path == "/admin/sign-out" || u.Path == "/admin/setup" {
		return home
	}
	return u.RequestURI()
}
