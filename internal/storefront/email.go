package storefront

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// The pages the customer emails link to: /account/verify-email?token=…
// (the verification mail) and /account/reset-password?token=… (the reset
// mail), with /account/forgot-password that asks for the latter. A link's
// GET only shows a button: the token is used by the POST it sends, so a
// mail scanner that opens links uses up nothing (docs/decisions/0026).

// emailRoutes mounts the verification and password reset pages.
func (s *Service) emailRoutes(route routeFunc) {
	route("GET /account/verify-email", s.verifyEmailPage)
	route("POST /account/verify-email", s.verifyEmail)
	route("POST /account/verify-email/resend", s.resendVerification)
	route("GET /account/forgot-password", s.forgotPasswordPage)
	route("POST /account/forgot-password", s.forgotPassword)
	route("GET /account/reset-password", s.resetPasswordPage)
	route("POST /account/reset-password", s.resetPassword)
}

// tokenData is the data of a page reached by a mail's link.
type tokenData struct {
	// Token is the link's token, sent back by the page's form.
	Token string
	// Done: the verification succeeded; Failed: the token was refused.
	Done, Failed bool
	// Sent: the reset request was taken.
	Sent bool
}

// maxTokenLength bounds a link's token as identity does.
const maxTokenLength = 128

func linkToken(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > maxTokenLength {
		return ""
	}
	return v
}

func (s *Service) verifyEmailPage(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "Confirm your email address")
	tok := linkToken(r.URL.Query().Get("token"))
	v.Form = page.EmptyForm(nil)
	v.Data = tokenData{Token: tok, Failed: tok == ""}
	s.kit.Render(w, r, http.StatusOK, "verify-email", v)
}

func (s *Service) verifyEmail(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	tok := linkToken(form.Get("token"))
	d := tokenData{Token: tok}
	status := http.StatusOK
	if tok == "" {
		d.Failed, status = true, http.StatusUnprocessableEntity
	} else {
		_, err := s.deps.Identity.VerifyEmail(r.Context(), tok)
		switch {
		case err == nil:
			d.Done = true
		case errors.Is(err, identityapi.ErrInvalidToken), apiclient.IsStatus(err, http.StatusUnprocessableEntity):
			d.Failed, status = true, http.StatusUnprocessableEntity
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	v := s.view(r, "Confirm your email address")
	v.Form = page.EmptyForm(nil)
	v.Data = d
	s.kit.Render(w, r, status, "verify-email", v)
}

// resendVerification sends the signed-in customer a new verification
// email and goes back to the account page saying what happened.
func (s *Service) resendVerification(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, customerKind)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	status, err := s.deps.Identity.ResendVerification(ctx)
	if err != nil {
		s.failAccount(w, r, err)
		return
	}
	msg := "We sent you a new confirmation email. Open the link in it to confirm your address."
	switch status {
	case identityapi.ResendRecentlySent:
		msg = "We sent you a confirmation email moments ago. Please check your inbox (and spam folder); the link in it works."
	case identityapi.ResendAlreadyVerified:
		msg = "Your email address is already confirmed."
	}
	s.kit.Redirect(w, r, "/account", msg)
}

func (s *Service) forgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "Reset your password")
	v.Form = page.EmptyForm(nil)
	v.Data = tokenData{}
	s.kit.Render(w, r, http.StatusOK, "forgot-password", v)
}

// forgotPassword asks identity for a reset email. The page answers the
// same whether or not the address has an account: nobody learns from it
// who the store's customers are.
func (s *Service) forgotPassword(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	email := form.Get("email")
	if email == "" {
		form.Fail("email", "Enter your email address.")
	}
	if !form.Invalid() {
		err := s.deps.Identity.RequestPasswordReset(r.Context(), email)
		switch {
		case err == nil:
			v := s.view(r, "Reset your password")
			v.Form = page.EmptyForm(nil)
			v.Data = tokenData{Sent: true}
			s.kit.Render(w, r, http.StatusOK, "forgot-password", v)
			return
		case form.Refused(err, nil):
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	v := s.view(r, "Reset your password")
	v.Form = form
	v.Data = tokenData{}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, "forgot-password", v)
}

func (s *Service) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "Choose a new password")
	tok := linkToken(r.URL.Query().Get("token"))
	v.Form = page.EmptyForm(nil)
	v.Data = tokenData{Token: tok, Failed: tok == ""}
	s.kit.Render(w, r, http.StatusOK, "reset-password", v)
}

// resetFields maps identity's field locations to the form's.
var resetFields = map[string]string{"new_password": "password", "token": "token"}

// resetPassword sets the new password with the mail's token and signs the
// customer in with the tokens identity answers (every other session of
// the account is revoked). A weak password is shown on its field and the
// token stays usable; a used or expired one says to ask for a new mail.
func (s *Service) resetPassword(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	tok := linkToken(form.Get("token"))
	password := form.Values.Get("password")
	d := tokenData{Token: tok}
	if tok == "" {
		d.Failed = true
	}
	if n := len([]rune(password)); n < identityapi.MinPasswordLength {
		form.Fail("password", "Choose a password of at least 10 characters.")
	}
	if !form.Invalid() && !d.Failed {
		ctx := r.Context()
		now := time.Now()
		t, err := s.deps.Identity.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: tok, NewPassword: password})
		switch {
		case err == nil:
			if err := s.signInWith(w, r, t, now); err != nil {
				s.log.InfoContext(ctx, "sign-in after password reset failed", "err", err)
				s.kit.Redirect(w, r, "/account/sign-in", "Your password is changed. Please sign in with it.")
				return
			}
			s.kit.Redirect(w, r, "/account", "Your password is changed and you are signed in.")
			return
		case errors.Is(err, identityapi.ErrInvalidToken):
			d.Failed = true
		case form.Refused(err, resetFields):
			markWeakPassword(form, err)
		default:
			s.kit.Fail(w, r, err)
			return
		}
	}
	form.Values.Del("password")
	v := s.view(r, "Choose a new password")
	v.Form = form
	v.Data = d
	s.kit.Render(w, r, http.StatusUnprocessableEntity, "reset-password", v)
}
