package admin

import (
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// Emails are the notify service's: owners and managers see what the store
// sent (or, on a server without SMTP, kept), read one, and send a failed
// one again (notify-list-emails, -get-email, -resend-email).
func (s *Service) emailRoutes(route routeFunc) {
	route("GET /admin/emails", s.emailsPage)
	route("GET /admin/emails/{id}", s.emailPage)
	route("POST /admin/emails/{id}/resend", s.resendEmail)
}

// emailsData is a page of emails and the status filter.
type emailsData struct {
	Emails   []notifyapi.Email
	Next     string
	Statuses []page.Option
}

var emailStatuses = []page.Option{{Value: "", Label: "Any"}, {Value: notifyapi.EmailPending, Label: "pending"},
	{Value: notifyapi.EmailSent, Label: "sent"}, {Value: notifyapi.EmailKept, Label: "kept (no SMTP)"},
	{Value: notifyapi.EmailFailed, Label: "failed"}}

func (s *Service) emailsPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Emails")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = page.EmptyForm(r.URL.Query())
	d := &emailsData{Statuses: emailStatuses}
	v.Data = d
	l, err := s.deps.Webhooks.Emails(ctx, notifyapi.EmailParams{Status: v.Form.Get("status"), Cursor: v.Form.Get("cursor")})
	if err != nil {
		if v.Form.Refused(err, nil) {
			s.kit.Render(w, r, http.StatusUnprocessableEntity, "emails", v)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	d.Emails, d.Next = l.Items, l.NextCursor
	s.kit.Render(w, r, http.StatusOK, "emails", v)
}

// emailPage shows one email: its text part as text, its HTML part in a
// sandboxed frame (no scripts, an origin of its own) and as escaped
// source; the mail's markup never becomes the admin page's.
func (s *Service) emailPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	e, err := s.deps.Webhooks.Email(ctx, r.PathValue("id"))
	if apiclient.IsStatus(err, http.StatusNotFound) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	title := e.Subject
	if title == "" {
		title = "Email"
	}
	v, err := s.view(r, title)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = e
	s.kit.Render(w, r, http.StatusOK, "email", v)
}

func (s *Service) resendEmail(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	id := r.PathValue("id")
	_, err = s.deps.Webhooks.ResendEmail(ctx, id)
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case apiclient.IsCode(err, "email_not_failed"):
		s.kit.Redirect(w, r, "/admin/emails/"+url.PathEscape(id), "Only a failed email is sent again: this one is on its way or was sent.")
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/emails/"+url.PathEscape(id), "The email is queued to be sent again.")
	}
}
