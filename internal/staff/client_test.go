package staff

import (
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// TestClientWalksTheAdminUI runs what the admin UI does through the typed
// client against the service's routes: listing employees, planning shifts,
// announcements with their receipts, and a member's own inbox and
// presence.
func TestClientWalksTheAdminUI(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		ctx := tenantCtx(t, "default")
		c := f.client
		ada := mustEmployee(t, f.svc, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		bo := mustEmployee(t, f.svc, ctx, "Bo", acct("acc-bo"), auth.RoleManager)
		if _, err := c.DeactivateEmployee(ctx, bo.ID); err != nil {
			t.Fatal(err)
		}

		l, err := c.Employees(ctx, staffapi.EmployeeParams{Page: staffapi.Page{Limit: 1}})
		if err != nil || len(l.Items) != 1 || l.Items[0].ID != ada.ID || l.NextCursor == "" {
			t.Fatalf("employees page 1: %+v, %v", l, err)
		}
		if l, err = c.Employees(ctx, staffapi.EmployeeParams{Page: staffapi.Page{Cursor: l.NextCursor}}); err != nil || len(l.Items) != 1 || l.Items[0].ID != bo.ID {
			t.Fatalf("employees page 2: %+v, %v", l, err)
		}
		inactive := false
		if l, err = c.Employees(ctx, staffapi.EmployeeParams{Active: &inactive}); err != nil || len(l.Items) != 1 || l.Items[0].ID != bo.ID {
			t.Fatalf("inactive employees: %+v, %v", l, err)
		}

		sh, err := c.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(9, 0), EndsAt: at(17, 0)}, "sh-1")
		if err != nil || sh.DurationSeconds != 8*3600 {
			t.Fatalf("create shift: %+v, %v", sh, err)
		}
		if again, err := c.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(9, 0), EndsAt: at(17, 0)}, "sh-1"); err != nil || again.ID != sh.ID {
			t.Fatalf("create shift retried with its key: %+v, %v", again, err)
		}
		if _, err := c.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(16, 0), EndsAt: at(18, 0)}, ""); !errors.Is(err, staffapi.ErrShiftOverlap) {
			t.Errorf("overlapping shift: %v, want ErrShiftOverlap", err)
		}
		note := "opening"
		if sh, err = c.UpdateShift(ctx, sh.ID, staffapi.ShiftUpdate{Note: &note}); err != nil || sh.Note != note {
			t.Fatalf("update shift: %+v, %v", sh, err)
		}
		if got, err := c.Shift(ctx, sh.ID); err != nil || got.Note != note {
			t.Fatalf("shift: %+v, %v", got, err)
		}
		sl, err := c.Shifts(ctx, staffapi.ShiftParams{From: at(0, 0), To: at(0, 0).Add(24 * time.Hour), EmployeeID: ada.ID})
		if err != nil || len(sl.Items) != 1 || sl.Items[0].ID != sh.ID {
			t.Fatalf("shifts: %+v, %v", sl, err)
		}
		if err := c.DeleteShift(ctx, sh.ID); err != nil {
			t.Fatalf("delete shift: %v", err)
		}
		if _, err := c.Shift(ctx, sh.ID); !errors.Is(err, staffapi.ErrNotFound) {
			t.Errorf("deleted shift: %v, want ErrNotFound", err)
		}

		a, err := c.PublishAnnouncement(ctx, staffapi.AnnouncementCreate{Title: "Hello", Body: "World", Audience: staffapi.AudienceAll}, "")
		if err != nil {
			t.Fatal(err)
		}
		if al, err := c.Announcements(ctx, staffapi.Page{}); err != nil || len(al.Items) != 1 || al.Items[0].ID != a.ID {
			t.Fatalf("announcements: %+v, %v", al, err)
		}
		// The UI's client, with the member's token on each call.
		ui := staffapi.NewClient(f.url, nil)
		me := apiclient.WithToken(ctx, webtest.Token(t,
			auth.Principal{Tenant: tenancy.DefaultID, Subject: acct("acc-ada"), Kind: auth.KindStaff, Role: auth.RoleStaff}))
		if in, err := ui.MyAnnouncements(me, staffapi.Page{}); err != nil || len(in.Items) != 1 || in.Items[0].Read {
			t.Fatalf("my announcements: %+v, %v", in, err)
		}
		if it, err := ui.MarkRead(me, a.ID); err != nil || !it.Read {
			t.Fatalf("mark read: %+v, %v", it, err)
		}
		if rc, err := c.Receipts(ctx, a.ID); err != nil || len(rc.Read) != 1 || rc.Read[0].EmployeeID != ada.ID {
			t.Fatalf("receipts: %+v, %v", rc, err)
		}
		if _, err := ui.CheckIn(me, staffapi.CheckIn{}, ""); err != nil {
			t.Fatal(err)
		}
		if p, err := ui.Presence(me, ""); err != nil || !p.CheckedIn || p.EmployeeID != ada.ID {
			t.Fatalf("my presence: %+v, %v", p, err)
		}
		if p, err := c.Presence(ctx, bo.ID); err != nil || p.CheckedIn {
			t.Fatalf("another's presence: %+v, %v", p, err)
		}
		stranger := apiclient.WithToken(ctx, webtest.Token(t,
			auth.Principal{Tenant: tenancy.DefaultID, Subject: acct("acc-x"), Kind: auth.KindStaff, Role: auth.RoleStaff}))
		if in, err := ui.MyAnnouncements(stranger, staffapi.Page{}); err != nil || len(in.Items) != 1 || in.Items[0].Read {
			t.Errorf("no employee's announcements: %+v, %v", in, err)
		}
		if _, err := ui.MarkRead(stranger, a.ID); !errors.Is(err, staffapi.ErrNotEmployee) {
			t.Errorf("no employee marking read: %v, want ErrNotEmployee", err)
		}
		if _, err := ui.Presence(stranger, ""); !errors.Is(err, staffapi.ErrNotEmployee) {
			t.Errorf("no employee's presence: %v, want ErrNotEmployee", err)
		}
	})
}
