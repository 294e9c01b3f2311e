package storefront

import (
	"cmp"
	"context"
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

// accountRoutes: registration, sign-in and sign-out, and the customer's
// account page with their orders.
func (s *Service) accountRoutes(route routeFunc) {
	route("GET /account/register", s.registerPage)
	route("POST /account/register", s.register)
	route("GET /account/sign-in", s.signInPage)
	route("POST /account/sign-in", s.signIn)
	route("POST /account/sign-out", s.signOut)
	route("GET /account", s.account)
}

// customerKind is the kit's kind of a signed-in customer.
const customerKind = "customer"

// signInData is the sign-in and registration pages' data.
type signInData struct {
	// Next is where to go once signed in (a local path, or "").
	Next string
}

// localPath returns p when it is a path of this site ("/account",
// "/orders/1?token=…"), else "": a next parameter never sends anyone to
// another site ("//evil.example", "/\evil.example", "https://…").
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return p
}

// browserIP is the address of the browser the request came from, which
// identity's login throttle counts attempts against.
func browserIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func (s *Service) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, _, err := s.kit.Authed(r, customerKind); err == nil {
		s.kit.Redirect(w, r, cmp.Or(next, "/account"), "")
		return
	}
	v := s.view(r, "Sign in")
	v.Form = page.EmptyForm(nil)
	v.Data = signInData{Next: next}
	s.kit.Render(w, r, http.StatusOK, "sign-in", v)
}

func (s *Service) signIn(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	next := localPath(form.Get("next"))
	email, password := form.Get("email"), form.Values.Get("password")
	if email == "" {
		form.Fail("email", "Enter your email address.")
	}
	if password == "" {
		form.Fail("password", "Enter your password.")
	}
	status := http.StatusUnprocessableEntity
	if !form.Invalid() {
		err := s.startSession(w, r, email, password)
		switch {
		case err == nil:
			s.kit.Redirect(w, r, cmp.Or(next, "/account"), "Welcome back! You are signed in.")
			return
		case errors.Is(err, identityapi.ErrInvalidCredentials):
			form.Message = "The email address or the password is not right. Please try again."
		case apiclient.IsStatus(err, http.StatusTooManyRequests):
			status = http.StatusTooManyRequests
			form.Message = "Too many attempts to sign in. For your safety, please wait a few minutes before trying again."
		case form.Refused(err, nil):
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	// The password is never sent back to the browser.
	form.Values.Del("password")
	v := s.view(r, "Sign in")
	v.Form = form
	v.Data = signInData{Next: next}
	s.kit.Render(w, r, status, "sign-in", v)
}

// startSession signs the customer in with identity and makes them the
// session's person. identity sees the browser's address (LoginFor), so
// its throttle counts this browser's attempts, not every visitor's.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, email, password string) error {
	ctx := r.Context()
	now := time.Now()
	t, err := s.deps.Logins.LoginFor(ctx, identityapi.Login{Email: email, Password: password}, browserIP(r))
	if err != nil {
		return err
	}
	return s.signInWith(w, r, t, now)
}

// signInWith starts the customer's session with the tokens identity
// answered at now (a login, a password reset).
func (s *Service) signInWith(w http.ResponseWriter, r *http.Request, t identityapi.Tokens, now time.Time) error {
	me, err := s.deps.Identity.Me(apiclient.WithToken(r.Context(), t.AccessToken))
	if err != nil {
		return err
	}
	return s.kit.SignIn(w, r, page.Principal{Kind: customerKind, ID: me.ID, Email: me.Email, Name: me.Name, Tokens: tokens(t, now)})
}

// markWeakPassword puts identity's weak_password refusal on the form's
// password field in words a person acts on.
func markWeakPassword(form *page.Form, err error) {
	if !errors.Is(err, identityapi.ErrWeakPassword) {
		return
	}
	form.Message = "Please choose a stronger password."
	msg := "This password is too weak: choose a longer one that is not a common password or your email address."
	if m := form.Error("password"); strings.HasPrefix(m, "is ") {
		msg = "This password " + m + ": choose another."
	}
	form.Errors["password"] = msg
}

func (s *Service) registerPage(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.kit.Authed(r, customerKind); err == nil {
		s.kit.Redirect(w, r, "/account", "")
		return
	}
	v := s.view(r, "Create an account")
	v.Form = page.EmptyForm(nil)
	v.Data = signInData{Next: localPath(r.URL.Query().Get("next"))}
	s.kit.Render(w, r, http.StatusOK, "register", v)
}

// registerFields maps identity's field locations to the form's.
var registerFields = map[string]string{"email": "email", "password": "password", "name": "name"}

// register creates the account and signs the person in with the password
// they chose. Identity answers a registration alike for a new address and
// one that had an account (nobody learns who the store's customers are);
// when the sign-in then fails, the address had one: the person is asked
// to sign in, with nothing said about whether the account is new.
func (s *Service) register(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	next := localPath(form.Get("next"))
	in := identityapi.Register{Name: form.Get("name"), Email: form.Get("email"), Password: form.Values.Get("password")}
	if in.Name == "" {
		form.Fail("name", "Enter your name.")
	}
	if in.Email == "" {
		form.Fail("email", "Enter your email address.")
	}
	if n := len([]rune(in.Password)); n < identityapi.MinPasswordLength {
		form.Fail("password", "Choose a password of at least 10 characters.")
	}
	if !form.Invalid() {
		_, err := s.deps.Identity.Register(r.Context(), in)
		switch {
		case err == nil:
			err = s.startSession(w, r, in.Email, in.Password)
			if err == nil {
				s.kit.Redirect(w, r, cmp.Or(next, "/account"), "Welcome, "+in.Name+"! Your account is ready and you are signed in. We sent you an email to confirm your address.")
				return
			}
			s.log.InfoContext(r.Context(), "sign-in after registration refused", "err", err)
			target := "/account/sign-in"
			if next != "" {
				target += "?next=" + url.QueryEscape(next)
			}
			s.kit.Redirect(w, r, target, "Thank you. Please sign in with your email address and password.")
			return
		case form.Refused(err, registerFields):
			markWeakPassword(form, err)
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	form.Values.Del("password")
	v := s.view(r, "Create an account")
	v.Form = form
	v.Data = signInData{Next: next}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, "register", v)
}

// signOut revokes the customer's refresh token with identity and ends
// the session (the cart it held goes with it: the browser may be shared).
func (s *Service) signOut(w http.ResponseWriter, r *http.Request) {
	if ctx, p, err := s.kit.Authed(r, customerKind); err == nil && p.Tokens.Refresh != "" {
		// The session ends whatever identity answers; a refresh token
		// left unrevoked expires by itself.
		if err := s.deps.Identity.Logout(ctx, p.Tokens.Refresh); err != nil {
			s.log.WarnContext(ctx, "revoke refresh token at sign-out", "err", err)
		}
	}
	if err := s.kit.SignOut(r); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/", "You are signed out.")
}

// accountData is the account page's data.
type accountData struct {
	Customer   identityapi.Customer
	Orders     []orderView
	NextCursor string
}

// account shows the customer's profile and their orders, a page at a
// time: those placed signed in, and the guest orders placed with their
// email before they registered, which the order service gives the
// account once the customer verified the address
// (identity.customer_email_verified.v1); until then the page asks them to.
func (s *Service) account(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, customerKind)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	me, err := s.deps.Identity.Me(ctx)
	if err != nil {
		s.failAccount(w, r, err)
		return
	}
	list, err := s.deps.Orders.MyOrders(ctx, r.URL.Query().Get("cursor"), 0)
	if apiclient.IsCode(err, "invalid_cursor") {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.failAccount(w, r, err)
		return
	}
	v := s.view(r, "Your account")
	d := accountData{Customer: me, NextCursor: list.NextCursor}
	for _, o := range list.Items {
		d.Orders = append(d.Orders, newOrderView(o))
	}
	v.Data = d
	s.kit.Render(w, r, http.StatusOK, "account", v)
}

// failAccount answers a failed call of the account page: a token the API
// no longer takes (the account or its session revoked elsewhere) signs the
// customer out and asks them to sign in again.
func (s *Service) failAccount(w http.ResponseWriter, r *http.Request, err error) {
	if apiclient.IsStatus(err, http.StatusUnauthorized) {
		_ = s.kit.SignOut(r)
		err = page.ErrSignedOut
	}
	s.kit.Fail(w, r, err)
}

// asCustomer returns ctx carrying the signed-in customer's token when a
// customer is signed in, or the guest's ctx; ok is false when a customer
// session could not be renewed (err says why).
func (s *Service) asCustomer(r *http.Request) (context.Context, *page.Principal, error) {
	ctx, p, err := s.kit.Authed(r, customerKind)
	if errors.Is(err, page.ErrSignedOut) {
		return r.Context(), nil, nil
	}
	return ctx, p, err
}
