package staffapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// request is what the server saw of a call, or what a call must send.
type request struct {
	method, path, query, key, body string
}

// TestClientSendsTheOperations checks each call's method, path (escaped),
// query, Idempotency-Key and body against the service's routes
// (staff/http.go).
func TestClientSendsTheOperations(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Idempotency-Key"), string(b)}
		if r.Header.Get("Authorization") != "" {
			got.method = "with Authorization"
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	c := staffapi.NewClient(srv.URL, nil)
	active, note := false, "late"
	from := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		do   func(ctx context.Context) error
		want request
	}{
		{"employees", func(ctx context.Context) error {
			_, err := c.Employees(ctx, staffapi.EmployeeParams{Active: &active, Page: staffapi.Page{Cursor: "c1", Limit: 20}})
			return err
		}, request{method: "GET", path: "/api/v1/admin/staff/employees", query: "active=false&cursor=c1&limit=20"}},
		{"all employees", func(ctx context.Context) error { _, err := c.Employees(ctx, staffapi.EmployeeParams{}); return err },
			request{method: "GET", path: "/api/v1/admin/staff/employees"}},
		{"shifts", func(ctx context.Context) error {
			_, err := c.Shifts(ctx, staffapi.ShiftParams{From: from, To: from.Add(24 * time.Hour), EmployeeID: "e1", Page: staffapi.Page{Limit: 3}})
			return err
		}, request{method: "GET", path: "/api/v1/admin/staff/shifts", query: "employee_id=e1&from=2026-03-02T08%3A00%3A00Z&limit=3&to=2026-03-03T08%3A00%3A00Z"}},
		{"shift", func(ctx context.Context) error { _, err := c.Shift(ctx, "s/1"); return err },
			request{method: "GET", path: "/api/v1/admin/staff/shifts/s%2F1"}},
		{"create shift", func(ctx context.Context) error {
			_, err := c.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: "e1", StartsAt: from, EndsAt: from.Add(8 * time.Hour)}, "k1")
			return err
		}, request{method: "POST", path: "/api/v1/admin/staff/shifts", key: "k1",
			body: `{"employee_id":"e1","starts_at":"2026-03-02T08:00:00Z","ends_at":"2026-03-02T16:00:00Z"}`}},
		{"update shift", func(ctx context.Context) error {
			_, err := c.UpdateShift(ctx, "s1", staffapi.ShiftUpdate{Note: &note})
			return err
		},
			request{method: "PATCH", path: "/api/v1/admin/staff/shifts/s1", body: `{"note":"late"}`}},
		{"delete shift", func(ctx context.Context) error { return c.DeleteShift(ctx, "s1") },
			request{method: "DELETE", path: "/api/v1/admin/staff/shifts/s1"}},
		{"announcements", func(ctx context.Context) error {
			_, err := c.Announcements(ctx, staffapi.Page{Cursor: "c2"})
			return err
		},
			request{method: "GET", path: "/api/v1/admin/staff/announcements", query: "cursor=c2"}},
		{"receipts", func(ctx context.Context) error { _, err := c.Receipts(ctx, "a1"); return err },
			request{method: "GET", path: "/api/v1/admin/staff/announcements/a1/receipts"}},
		{"my announcements", func(ctx context.Context) error {
			_, err := c.MyAnnouncements(ctx, staffapi.Page{Limit: 10})
			return err
		},
			request{method: "GET", path: "/api/v1/staff/announcements", query: "limit=10"}},
		{"mark read", func(ctx context.Context) error { _, err := c.MarkRead(ctx, "a1"); return err },
			request{method: "POST", path: "/api/v1/staff/announcements/a1/read"}},
		{"my presence", func(ctx context.Context) error { _, err := c.Presence(ctx, ""); return err },
			request{method: "GET", path: "/api/v1/staff/check-ins/current"}},
		{"presence", func(ctx context.Context) error { _, err := c.Presence(ctx, "e1"); return err },
			request{method: "GET", path: "/api/v1/staff/check-ins/current", query: "employee_id=e1"}},
	}
	ctx := tenancy.WithID(t.Context(), "t1")
	for _, tt := range tests {
		if err := tt.do(ctx); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		mu.Lock()
		g := got
		mu.Unlock()
		if !sameJSON(g.body, tt.want.body) {
			t.Errorf("%s: body %s, want %s", tt.name, g.body, tt.want.body)
		}
		g.body, tt.want.body = "", ""
		if !sameQuery(g.query, tt.want.query) {
			t.Errorf("%s: query %q, want %q", tt.name, g.query, tt.want.query)
		}
		g.query, tt.want.query = "", ""
		if g != tt.want {
			t.Errorf("%s: sent %+v, want %+v", tt.name, g, tt.want)
		}
	}
}

// sameJSON reports whether two JSON texts (or two empty bodies) are equal
// as values.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

func sameQuery(a, b string) bool {
	va, err1 := url.ParseQuery(a)
	vb, err2 := url.ParseQuery(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(va, vb)
}
