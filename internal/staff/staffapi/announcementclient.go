package staffapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Announcements returns a page of the store's announcements, newest first
// (GET /api/v1/admin/staff/announcements).
func (c *Client) Announcements(ctx context.Context, p Page) (AnnouncementList, error) {
	var out AnnouncementList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: p.query("/api/v1/admin/staff/announcements", url.Values{}), Out: &out})
	return out, mapError(err)
}

// Receipts tells who of an announcement's audience has read it and who not
// (GET /api/v1/admin/staff/announcements/{id}/receipts).
func (c *Client) Receipts(ctx context.Context, announcementID string) (Receipts, error) {
	var out Receipts
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet,
		Path: "/api/v1/admin/staff/announcements/" + url.PathEscape(announcementID) + "/receipts", Out: &out})
	return out, mapError(err)
}

// MyAnnouncements returns a page of the announcements meant for the caller
// (all staff and the caller's role), newest first, each with whether the
// caller has read it (GET /api/v1/staff/announcements). A staff member
// with no employee record sees them all unread; a caller who is no staff
// member (the admin token, an API key) gets ErrNotEmployee.
func (c *Client) MyAnnouncements(ctx context.Context, p Page) (Inbox, error) {
	var out Inbox
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: p.query("/api/v1/staff/announcements", url.Values{}), Out: &out})
	return out, mapError(err)
}

// MarkRead marks an announcement read by the caller
// (POST /api/v1/staff/announcements/{id}/read), ErrNotEmployee for a
// caller with no employee record. It is idempotent: the first read's time
// stays.
func (c *Client) MarkRead(ctx context.Context, announcementID string) (InboxItem, error) {
	var out InboxItem
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost,
		Path: "/api/v1/staff/announcements/" + url.PathEscape(announcementID) + "/read", Out: &out, Idempotent: true})
	return out, mapError(err)
}
