package admin

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// The invitation link the staff page shows leads here: the invited person
// chooses their name and password, and is signed in.
func (s *Service) invitationRoutes(route routeFunc) {
	route("GET /admin/invitations/accept", s.acceptPage)
	route("POST /admin/invitations/accept", s.accept)
}

func (s *Service) acceptPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r, "Join the team")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = page.EmptyForm(url.Values{"token": {r.URL.Query().Get("token")}})
	s.kit.Render(w, r, http.StatusOK, "staff-accept", v)
}

// accept accepts the invitation: identity creates the account with the
// invitation's email and role, and answers its tokens.
func (s *Service) accept(w http.ResponseWriter, r *http.Request) {
	f := page.ParseForm(w, r)
	in := identityapi.InvitationAccept{Token: f.Get("token"), Name: f.Get("name"), Password: f.Values.Get("password")}
	if in.Token == "" {
		f.Fail("token", "Enter the invitation token from your link.")
	}
	if in.Name == "" {
		f.Fail("name", "Enter your name.")
	}
	if in.Password == "" {
		f.Fail("password", "Choose a password.")
	}
	if !f.Invalid() {
		sess, err := s.deps.Identity.AcceptInvitation(r.Context(), in)
		switch {
		case err == nil:
			if err := s.kit.SignIn(w, r, staffPrincipal(sess, time.Now())); err != nil {
				s.kit.Fail(w, r, err)
				return
			}
			s.kit.Redirect(w, r, "/admin/", "Welcome, "+sess.Staff.Name+": your account is ready.")
			return
		case apiclient.IsCode(err, "invalid_invitation"):
			f.Fail("token", "This invitation is unknown, used or expired: ask for a new one.")
		case errors.Is(err, identityapi.ErrWeakPassword):
			f.Fail("password", "This password is too weak: use at least 10 characters, not a common password.")
		case apiclient.IsCode(err, tenantapi.LimitCode):
			f.Message = "The store's plan has no seat left for you right now: ask the store's owner."
		case !f.Refused(err, nil):
			s.kit.Fail(w, r, err)
			return
		}
	}
	f.Values.Del("password") // never sent back to the browser
	v, err := s.view(r, "Join the team")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = f
	s.kit.Render(w, r, http.StatusUnprocessableEntity, "staff-accept", v)
}
