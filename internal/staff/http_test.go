package staff

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// bearer adds the admin token, as the platform's service client does.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// The store API keys the test server takes (of store "default").
const (
	secretKey      = "sk_test_staff"
	publishableKey = "pk_test_staff"
)

type httpFixture struct {
	url    string
	svc    *Service
	clk    *clock
	client *staffapi.Client
}

func newHTTPFixture(t *testing.T, db *sqldb.DB) *httpFixture {
	t.Helper()
	svc, clk := newTestService(t, db)
	srv := webtest.New(t, svc.Routes, webtest.WithAPIKeys(webtest.Keys{secretKey: auth.RoleSecret, publishableKey: auth.RolePublishable}))
	return &httpFixture{url: srv.URL, svc: svc, clk: clk, client: staffapi.NewClient(srv.URL, &http.Client{Transport: bearer{webtest.AdminToken}})}
}

// call sends one request; headers are "Name: value" strings, "admin" adds
// the admin token.
func (f *httpFixture) call(t *testing.T, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		if h == "admin" {
			req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
			continue
		}
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func code(t *testing.T, body string) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(body), &p)
	return p.Code
}

// staffHeaders are the headers of a call by staff account (of store
// tenant, "default" if not given) with role.
func staffHeaders(t *testing.T, account string, role auth.Role, tenant ...string) []string {
	t.Helper()
	p := auth.Principal{Tenant: tenancy.DefaultID, Subject: account, Kind: auth.KindStaff, Role: role}
	if len(tenant) > 0 {
		p.Tenant = tenant[0]
	}
	return []string{"Authorization: " + webtest.Bearer(t, p)}
}

func TestHTTPCheckIn(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		ctx := tenantCtx(t, "default")
		ada := mustEmployee(t, f.svc, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		adaH := staffHeaders(t, acct("acc-ada"), auth.RoleStaff)

		tests := []struct {
			name       string
			method     string
			path, body string
			headers    []string
			status     int
			code       string
		}{
			{"anonymous", "POST", "/api/v1/staff/check-ins", `{}`, nil, 401, "unauthorized"},
			{"customer", "POST", "/api/v1/staff/check-ins", `{}`, []string{"Authorization: " + webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})}, 403, "forbidden"},
			{"foreign tenant token", "POST", "/api/v1/staff/check-ins", `{}`, staffHeaders(t, acct("acc-ada"), auth.RoleStaff, "acme"), 401, "unauthorized"},
			{"no employee", "POST", "/api/v1/staff/check-ins", `{}`, staffHeaders(t, acct("acc-x"), auth.RoleStaff), 403, "not_an_employee"},
			{"check out first", "POST", "/api/v1/staff/check-outs", `{}`, adaH, 409, "not_checked_in"},
			{"unknown field", "POST", "/api/v1/staff/check-ins", `{"who":"me"}`, adaH, 422, ""},
			{"check in", "POST", "/api/v1/staff/check-ins", `{"location":"door"}`, adaH, 201, ""},
			{"twice", "POST", "/api/v1/staff/check-ins", `{}`, adaH, 409, "already_checked_in"},
			{"staff for someone else", "POST", "/api/v1/staff/check-ins", `{"employee_id":"x"}`, adaH, 403, "forbidden"},
			{"presence", "GET", "/api/v1/staff/check-ins/current", "", adaH, 200, ""},
			{"check out", "POST", "/api/v1/staff/check-outs", `{}`, adaH, 200, ""},
			{"staff role on an admin operation", "GET", "/api/v1/admin/staff/employees", "", staffHeaders(t, acct("acc-ada"), auth.RoleStaff), 403, "forbidden"},
			{"manager on an admin operation", "GET", "/api/v1/admin/staff/employees", "", staffHeaders(t, acct("acc-m"), auth.RoleManager), 200, ""},
			{"admin without token", "GET", "/api/v1/admin/staff/employees", "", nil, 401, "unauthorized"},
			{"wrong admin token", "GET", "/api/v1/admin/staff/employees", "", []string{"Authorization: Bearer not-the-token"}, 401, "unauthorized"},
		}
		for _, tt := range tests {
			status, _, body := f.call(t, tt.method, tt.path, tt.body, tt.headers...)
			if status != tt.status || (tt.code != "" && code(t, body) != tt.code) {
				t.Errorf("%s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.code)
			}
		}

		// With an Idempotency-Key a retry gets the first answer back.
		key := append(adaH, "Idempotency-Key: clock-1")
		s1, _, b1 := f.call(t, "POST", "/api/v1/staff/check-ins", `{}`, key...)
		s2, _, b2 := f.call(t, "POST", "/api/v1/staff/check-ins", `{}`, key...)
		if s1 != 201 || s2 != 201 || b1 != b2 {
			t.Errorf("idempotent retry: %d %s / %d %s", s1, b1, s2, b2)
		}
		var a staffapi.Attendance
		if err := json.Unmarshal([]byte(b1), &a); err != nil || a.EmployeeID != ada.ID {
			t.Errorf("check-in body %s: %v", b1, err)
		}
	})
}

func TestHTTPAdminAndReport(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		ctx := tenantCtx(t, "default")
		c := f.client

		status, _, body := f.call(t, "POST", "/api/v1/admin/staff/employees", `{"name":"","role":"boss"}`, "admin")
		if status != 422 {
			t.Errorf("invalid employee: %d %s", status, body)
		}
		if l, _ := f.svc.Employees(ctx, EmployeeQuery{}); len(l.Items) != 0 {
			t.Errorf("invalid input wrote employees")
		}

		e, err := c.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: "=Ada", Email: "ada@example.com", AccountID: acct("acc-ada"), Role: auth.RoleStaff})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: "Dup", AccountID: acct("acc-ada"), Role: auth.RoleStaff}); !errors.Is(err, staffapi.ErrAccountTaken) {
			t.Errorf("duplicate account: %v", err)
		}
		if got, err := c.Employee(ctx, e.ID); err != nil || got.ID != e.ID {
			t.Errorf("get = %+v, %v", got, err)
		}
		if _, err := c.Employee(ctx, "nope"); !errors.Is(err, staffapi.ErrNotFound) {
			t.Errorf("get unknown: %v", err)
		}
		status, _, body = f.call(t, "POST", "/api/v1/admin/staff/shifts", `{"employee_id":"`+e.ID+`","starts_at":"2025-03-03T09:00:00Z","ends_at":"2025-03-03T17:00:00Z"}`, "admin")
		if status != 201 {
			t.Fatalf("create shift: %d %s", status, body)
		}
		status, _, body = f.call(t, "POST", "/api/v1/admin/staff/shifts", `{"employee_id":"`+e.ID+`","starts_at":"2025-03-03T16:00:00Z","ends_at":"2025-03-03T18:00:00Z"}`, "admin")
		if status != 409 || code(t, body) != "shift_overlap" {
			t.Errorf("overlapping shift: %d %s", status, body)
		}
		status, _, body = f.call(t, "GET", "/api/v1/admin/staff/shifts?from=2025-03-03T00:00:00Z&to=2025-03-04T00:00:00Z", "", "admin")
		if status != 200 || !strings.Contains(body, e.ID) {
			t.Errorf("list shifts: %d %s", status, body)
		}
		status, _, body = f.call(t, "GET", "/api/v1/admin/staff/shifts?from=2025-03-04T00:00:00Z&to=2025-03-03T00:00:00Z", "", "admin")
		if status != 422 || !strings.Contains(body, "query.to") {
			t.Errorf("inverted period: %d %s", status, body)
		}

		f.clk.set(at(9, 30))
		if _, err := c.CheckIn(ctx, staffapi.CheckIn{EmployeeID: e.ID}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CheckIn(ctx, staffapi.CheckIn{EmployeeID: e.ID}, ""); !errors.Is(err, staffapi.ErrAlreadyCheckedIn) {
			t.Errorf("second check-in: %v", err)
		}
		f.clk.set(at(17, 0))
		if a, err := c.CheckOut(ctx, staffapi.CheckIn{EmployeeID: e.ID}, ""); err != nil || a.DurationSeconds != 7*3600+1800 {
			t.Errorf("check out = %+v, %v", a, err)
		}
		if _, err := c.CheckOut(ctx, staffapi.CheckIn{EmployeeID: e.ID}, ""); !errors.Is(err, staffapi.ErrNotCheckedIn) {
			t.Errorf("second check-out: %v", err)
		}
		r, err := c.Attendance(ctx, at(0, 0), at(0, 0).Add(24*time.Hour), "")
		if err != nil || len(r.Items) != 1 || r.Items[0].HoursWorked != "7.50" || r.Items[0].LateCheckIns != 1 {
			t.Fatalf("report = %+v, %v", r, err)
		}

		const q = "/api/v1/admin/staff/attendance?from=2025-03-03T00:00:00Z&to=2025-03-04T00:00:00Z"
		for _, tc := range []struct {
			name    string
			path    string
			headers []string
		}{
			{"accept", q, []string{"admin", "Accept: text/csv"}},
			{"format", q + "&format=csv", []string{"admin"}},
		} {
			status, h, body := f.call(t, "GET", tc.path, "", tc.headers...)
			if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") ||
				!strings.Contains(h.Get("Content-Disposition"), "attendance-20250303T000000Z-20250304T000000Z.csv") {
				t.Errorf("%s: %d %v", tc.name, status, h)
			}
			want := strings.Join(csvHeader, ",") + "\r\n" + e.ID + ",'=Ada,ada@example.com,staff,true,27000,7.50,1,false,1,1,1,1800\r\n"
			if body != want {
				t.Errorf("%s: csv %q, want %q", tc.name, body, want)
			}
		}
		status, h, body := f.call(t, "GET", q, "", "admin")
		if status != 200 || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"hours_worked":"7.50"`) {
			t.Errorf("json report: %d %v %s", status, h, body)
		}

		a, err := c.PublishAnnouncement(ctx, staffapi.AnnouncementCreate{Title: "Hello", Body: "World", Audience: "staff"}, "ann-1")
		if err != nil {
			t.Fatal(err)
		}
		if again, err := c.PublishAnnouncement(ctx, staffapi.AnnouncementCreate{Title: "Hello", Body: "World", Audience: "staff"}, "ann-1"); err != nil || again.ID != a.ID {
			t.Errorf("idempotent publish = %+v, %v", again, err)
		}
		adaH := staffHeaders(t, acct("acc-ada"), auth.RoleStaff)
		status, _, body = f.call(t, "GET", "/api/v1/staff/announcements", "", adaH...)
		if status != 200 || !strings.Contains(body, a.ID) || !strings.Contains(body, `"read":false`) {
			t.Errorf("inbox: %d %s", status, body)
		}
		for range 2 {
			status, _, body = f.call(t, "POST", "/api/v1/staff/announcements/"+a.ID+"/read", "", adaH...)
			if status != 200 || !strings.Contains(body, `"read":true`) {
				t.Errorf("read: %d %s", status, body)
			}
		}
		status, _, body = f.call(t, "POST", "/api/v1/staff/announcements/"+a.ID+"/read", "", staffHeaders(t, acct("acc-s"), auth.RoleSupport)...)
		if status != 403 || code(t, body) != "not_an_employee" {
			t.Errorf("read without employee: %d %s", status, body)
		}
		status, _, body = f.call(t, "GET", "/api/v1/admin/staff/announcements/"+a.ID+"/receipts", "", "admin")
		var rc staffapi.Receipts
		if status != 200 || json.Unmarshal([]byte(body), &rc) != nil || len(rc.Read) != 1 || rc.Read[0].EmployeeID != e.ID || len(rc.Unread) != 0 {
			t.Errorf("receipts: %d %s", status, body)
		}

		if d, err := c.DeactivateEmployee(ctx, e.ID); err != nil || d.Active {
			t.Errorf("deactivate = %+v, %v", d, err)
		}
		if _, err := c.CheckIn(ctx, staffapi.CheckIn{EmployeeID: e.ID}, ""); !errors.Is(err, staffapi.ErrInactive) {
			t.Errorf("check in inactive: %v", err)
		}
	})
}

// TestAccess is the authorization matrix: every operation × every kind of
// principal and staff role, with real credentials through the platform.
// A caller the table lets in gets past authorization (the answer may
// still be 404 or 422 for made-up input); one it does not gets 403
// forbidden, or 401 unauthorized for no, invalid or another store's
// credentials.
func TestAccess(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		const period = "?from=2025-03-03T00:00:00Z&to=2025-03-04T00:00:00Z"
		managerOps := []struct{ id, method, path, body string }{
			{"staff-create-employee", "POST", "/api/v1/admin/staff/employees", `{"name":"","role":"boss"}`},
			{"staff-list-employees", "GET", "/api/v1/admin/staff/employees", ""},
			{"staff-get-employee", "GET", "/api/v1/admin/staff/employees/nope", ""},
			{"staff-update-employee", "PATCH", "/api/v1/admin/staff/employees/nope", `{}`},
			{"staff-deactivate-employee", "POST", "/api/v1/admin/staff/employees/nope/deactivate", ""},
			{"staff-create-shift", "POST", "/api/v1/admin/staff/shifts", `{}`},
			{"staff-list-shifts", "GET", "/api/v1/admin/staff/shifts" + period, ""},
			{"staff-get-shift", "GET", "/api/v1/admin/staff/shifts/nope", ""},
			{"staff-update-shift", "PATCH", "/api/v1/admin/staff/shifts/nope", `{}`},
			{"staff-delete-shift", "DELETE", "/api/v1/admin/staff/shifts/nope", ""},
			{"staff-attendance-report", "GET", "/api/v1/admin/staff/attendance" + period, ""},
			{"staff-publish-announcement", "POST", "/api/v1/admin/staff/announcements", `{}`},
			{"staff-list-announcements", "GET", "/api/v1/admin/staff/announcements", ""},
			{"staff-announcement-receipts", "GET", "/api/v1/admin/staff/announcements/nope/receipts", ""},
		}
		staffOps := []struct{ id, method, path, body string }{
			{"staff-check-in", "POST", "/api/v1/staff/check-ins", `{"employee_id":"nope"}`},
			{"staff-check-out", "POST", "/api/v1/staff/check-outs", `{"employee_id":"nope"}`},
			{"staff-presence", "GET", "/api/v1/staff/check-ins/current?employee_id=nope", ""},
			{"staff-inbox", "GET", "/api/v1/staff/announcements", ""},
			{"staff-read-announcement", "POST", "/api/v1/staff/announcements/nope/read", ""},
		}
		if len(managerOps)+len(staffOps) != len(access) {
			t.Fatalf("the matrix covers %d operations, access has %d", len(managerOps)+len(staffOps), len(access))
		}
		// Announcements are read by employees: the admin token and a secret
		// API key (a time clock integration) may call these operations, but
		// have no employee record, so no announcements of their own.
		personal := map[string]bool{"staff-inbox": true, "staff-read-announcement": true}
		customer := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
		principals := []struct {
			name               string
			headers            []string
			managerOp, staffOp bool
			employee           bool // has an employee record (could have)
			status             int  // of a refusal
		}{
			{"admin", []string{"admin"}, true, true, false, 0},
			{"owner", staffHeaders(t, acct("acc-o"), auth.RoleOwner), true, true, true, 0},
			{"manager", staffHeaders(t, acct("acc-m"), auth.RoleManager), true, true, true, 0},
			{"staff", staffHeaders(t, acct("acc-s"), auth.RoleStaff), false, true, true, 403},
			{"support", staffHeaders(t, acct("acc-u"), auth.RoleSupport), false, true, true, 403},
			{"unknown role", staffHeaders(t, acct("acc-i"), "intruder"), false, false, false, 401},
			{"secret key", []string{web.APIKeyHeader + ": " + secretKey}, true, true, false, 0},
			{"publishable key", []string{"Authorization: Bearer " + publishableKey}, false, false, false, 403},
			{"customer", []string{"Authorization: " + customer}, false, false, false, 403},
			{"anonymous", nil, false, false, false, 401},
			{"other store's owner", staffHeaders(t, acct("acc-o"), auth.RoleOwner, "acme"), false, false, false, 401},
		}
		check := func(who string, op struct{ id, method, path, body string }, headers []string, allowed bool, refusal int, wantCode string) {
			t.Helper()
			status, _, body := f.call(t, op.method, op.path, op.body, headers...)
			got := code(t, body)
			switch {
			case allowed && wantCode != "":
				if got != wantCode {
					t.Errorf("%s → %s = %d %s, want %s", who, op.id, status, body, wantCode)
				}
			case allowed:
				if got == "forbidden" || got == "unauthorized" {
					t.Errorf("%s → %s = %d %s, want allowed", who, op.id, status, body)
				}
			default:
				want := map[int]string{401: "unauthorized", 403: "forbidden"}[refusal]
				if status != refusal || got != want {
					t.Errorf("%s → %s = %d %s, want %d %s", who, op.id, status, body, refusal, want)
				}
			}
		}
		for _, pc := range principals {
			for _, op := range managerOps {
				check(pc.name, op, pc.headers, pc.managerOp, pc.status, "")
			}
			for _, op := range staffOps {
				want := ""
				if pc.staffOp && !pc.employee && personal[op.id] {
					want = "not_an_employee"
				}
				check(pc.name, op, pc.headers, pc.staffOp, pc.status, want)
			}
		}
		webtest.CheckDocumentedRoles(t, f.url, access)
		webtest.CheckDocument(t, f.url)
	})
}
