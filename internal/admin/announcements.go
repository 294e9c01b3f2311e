package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// Every member reads the announcements meant for them (all staff and their
// role) here; owners and managers also publish them and see who has read
// each.
func (s *Service) announcementRoutes(route routeFunc) {
	route("GET /admin/staff/announcements", s.announcementsPage)
	route("POST /admin/staff/announcements", s.publish)
	route("GET /admin/staff/announcements/{id}", s.receiptsPage)
	route("POST /admin/staff/announcements/{id}/read", s.markRead)
}

// audienceOptions are whom an announcement may be meant for.
var audienceOptions = append([]page.Option{{Value: staffapi.AudienceAll, Label: "All staff"}}, roleOptions...)

// audienceLabel names an announcement's audience.
func audienceLabel(a string) string {
	for _, o := range audienceOptions {
		if o.Value == a {
			return o.Label
		}
	}
	return a
}

// announcementsData is the member's announcements and, for owners and
// managers, every announcement and the form that publishes one.
type announcementsData struct {
	Manager bool
	Inbox   []staffapi.InboxItem
	// NoInbox: the caller has no announcements of their own (not a member).
	NoInbox bool
	Unread  int

	All        []announcementRow
	NextCursor string
	Publish    *page.Form
	Audiences  []page.Option
}

type announcementRow struct {
	staffapi.Announcement
	AudienceLabel string
}

func (s *Service) announcementsPage(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderAnnouncements(ctx, w, r, p, http.StatusOK, page.EmptyForm(url.Values{"audience": {staffapi.AudienceAll}}))
}

func (s *Service) renderAnnouncements(ctx context.Context, w http.ResponseWriter, r *http.Request, p *page.Principal, status int, publish *page.Form) {
	d := &announcementsData{Manager: hasRole(p, managerRoles), Publish: publish, Audiences: audienceOptions}
	inbox, err := s.deps.Staff.MyAnnouncements(ctx, staffapi.Page{Limit: 50})
	switch {
	case errors.Is(err, staffapi.ErrNotEmployee):
		d.NoInbox = true
	case err != nil:
		s.kit.Fail(w, r, err)
		return
	}
	d.Inbox = inbox.Items
	for _, it := range inbox.Items {
		if !it.Read {
			d.Unread++
		}
	}
	if d.Manager {
		cursor := r.URL.Query().Get("cursor")
		l, err := s.deps.Staff.Announcements(ctx, staffapi.Page{Cursor: cursor, Limit: 50})
		if err != nil {
			if _, refused := apiclient.Refused(err); refused && cursor != "" {
				s.kit.NotFound(w, r)
				return
			}
			s.kit.Fail(w, r, err)
			return
		}
		for _, a := range l.Items {
			d.All = append(d.All, announcementRow{Announcement: a, AudienceLabel: audienceLabel(a.Audience)})
		}
		d.NextCursor = l.NextCursor
	}
	v, err := s.view(r, "Announcements")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = d
	v.Form = publish
	s.kit.Render(w, r, status, "announcements", v)
}

// publish publishes an announcement once per form (its Idempotency-Key).
func (s *Service) publish(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	in := staffapi.AnnouncementCreate{Title: f.Get("title"), Body: f.Get("body"), Audience: f.Get("audience")}
	if in.Title == "" {
		f.Fail("title", "Enter a title.")
	}
	if in.Body == "" {
		f.Fail("body", "Enter the announcement.")
	}
	if in.Audience != staffapi.AudienceAll && !validRole(in.Audience) {
		f.Fail("audience", "Choose whom it is for.")
	}
	if !f.Invalid() {
		_, err := s.deps.Staff.PublishAnnouncement(ctx, in, f.Key())
		if err == nil {
			s.kit.Redirect(w, r, "/admin/staff/announcements", "The announcement is published to "+audienceLabel(in.Audience)+".")
			return
		}
		if !f.Refused(err, nil) {
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderAnnouncements(ctx, w, r, p, http.StatusUnprocessableEntity, f)
}

// markRead marks one of the member's announcements read.
func (s *Service) markRead(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	it, err := s.deps.Staff.MarkRead(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, staffapi.ErrNotFound):
		s.kit.NotFound(w, r)
	case errors.Is(err, staffapi.ErrNotEmployee):
		s.kit.Redirect(w, r, "/admin/staff/announcements", "Your account has no employee record yet, so reads cannot be kept: ask a manager to add one.")
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/staff/announcements", "“"+it.Title+"” is marked read.")
	}
}

// receiptsData is who of an announcement's audience has read it.
type receiptsData struct {
	Announcement *announcementRow
	Receipts     staffapi.Receipts
	Audience     string
}

// maxTitlePages bounds the pages of announcements looked through for the
// title of the one whose receipts are shown (the API has no single read).
const maxTitlePages = 5

func (s *Service) receiptsPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	rc, err := s.deps.Staff.Receipts(ctx, id)
	if err != nil {
		if errors.Is(err, staffapi.ErrNotFound) {
			s.kit.NotFound(w, r)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	d := &receiptsData{Receipts: rc, Audience: audienceLabel(rc.Audience)}
	cursor := ""
find:
	for range maxTitlePages {
		l, err := s.deps.Staff.Announcements(ctx, staffapi.Page{Cursor: cursor, Limit: 100})
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		for _, a := range l.Items {
			if a.ID == id {
				d.Announcement = &announcementRow{Announcement: a, AudienceLabel: audienceLabel(a.Audience)}
				break find
			}
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	title := "Read receipts"
	if d.Announcement != nil {
		title = d.Announcement.Title
	}
	v, err := s.view(r, title)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = d
	s.kit.Render(w, r, http.StatusOK, "announcements-receipts", v)
}
