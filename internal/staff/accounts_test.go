package staff

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccountReferences: an employee's account_id must name a staff
// account of the same store, checked with identity: a malformed ID, a
// random UUID and another store's account are 422 with nothing written;
// identity not answering, or not there at all, is 503, never a blind yes.
func TestAccountReferences(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		svc, _ := newTestService(t, db)
		accounts := &fakeAccounts{stores: map[string]string{acct("acme-only"): "acme"}}
		svc.accounts = accounts
		srv := webtest.New(t, svc.Routes)
		f := &httpFixture{url: srv.URL, svc: svc}

		post := func(account string, tenant ...string) (int, string) {
			h := []string{"admin"}
			if len(tenant) > 0 {
				h = append(h, "X-Mercato-Tenant: "+tenant[0])
			}
			st, _, body := f.call(t, http.MethodPost, "/api/v1/admin/staff/employees",
				fmt.Sprintf(`{"name":"Ada","role":"staff","account_id":%q}`, account), h...)
			return st, body
		}
		for _, tt := range []struct {
			name, account string
			calls         int
		}{
			{"not a UUID", "not-a-uuid", 0},
			{"UUID in upper case", "0190C3A2-7B7E-7000-8000-000000000001", 0},
			{"UUID in braces", "{" + acct("acc-ada") + "}", 0},
			{"random UUID", "0190c3a2-7b7e-7000-8000-000000000001", 1},
			{"another store's account", acct("acme-only"), 1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := accounts.count()
				st, body := post(tt.account)
				if st != http.StatusUnprocessableEntity || code(t, body) != "validation_failed" {
					t.Fatalf("status %d: %s", st, body)
				}
				if got := accounts.count() - before; got != tt.calls {
					t.Errorf("identity asked %d times, want %d", got, tt.calls)
				}
			})
		}
		if st, body := post(acct("acme-only"), "acme"); st != http.StatusCreated {
			t.Fatalf("own store's account: status %d: %s", st, body)
		}
		if st, body := post(acct("acc-ada")); st != http.StatusCreated {
			t.Fatalf("known account: status %d: %s", st, body)
		}
		// Only the employee of acme and Ada exist: nothing else was written.
		for tenant, want := range map[string]int{"default": 1, "acme": 1} {
			_, _, body := f.call(t, http.MethodGet, "/api/v1/admin/staff/employees", "", "admin", "X-Mercato-Tenant: "+tenant)
			if n := countItems(t, body); n != want {
				t.Errorf("%s has %d employees, want %d: %s", tenant, n, want, body)
			}
		}

		// The same rules on update.
		_, _, body := f.call(t, http.MethodPost, "/api/v1/admin/staff/employees", `{"name":"Bo","role":"staff"}`, "admin")
		id := field(t, body, "id")
		for _, acc := range []string{"not-a-uuid", acct("acme-only")} {
			st, _, body := f.call(t, http.MethodPatch, "/api/v1/admin/staff/employees/"+id, fmt.Sprintf(`{"account_id":%q}`, acc), "admin")
			if st != http.StatusUnprocessableEntity {
				t.Errorf("update to %s: status %d: %s", acc, st, body)
			}
		}

		accounts.mu.Lock()
		accounts.err = errors.New("connection refused")
		accounts.mu.Unlock()
		if st, body := post(acct("acc-bo")); st != http.StatusServiceUnavailable || code(t, body) != "accounts_unavailable" {
			t.Errorf("identity down: status %d: %s", st, body)
		}
		st, _, body := f.call(t, http.MethodPatch, "/api/v1/admin/staff/employees/"+id, fmt.Sprintf(`{"account_id":%q}`, acct("acc-bo")), "admin")
		if st != http.StatusServiceUnavailable {
			t.Errorf("update with identity down: status %d: %s", st, body)
		}
		// Employees without an account need no identity.
		if st, _, body := f.call(t, http.MethodPost, "/api/v1/admin/staff/employees", `{"name":"Cy","role":"staff"}`, "admin"); st != http.StatusCreated {
			t.Errorf("no account with identity down: status %d: %s", st, body)
		}

		svc.accounts = nil
		if st, body := post(acct("acc-cy")); st != http.StatusServiceUnavailable {
			t.Errorf("no identity at all: status %d: %s", st, body)
		}
	})
}

func (f *fakeAccounts) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func countItems(t *testing.T, body string) int {
	t.Helper()
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatalf("decode list: %v: %s", err, body)
	}
	return len(l.Items)
}

func field(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decode: %v: %s", err, body)
	}
	s, _ := m[name].(string)
	return s
}
