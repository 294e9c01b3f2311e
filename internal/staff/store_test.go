package staff

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// clock is a settable now for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func openDB(t *testing.T, body func(t *testing.T, db *sqldb.DB)) {
	sqldbtest.Run(t, body, Migrations...)
}

// acct is the staff account ID the tests call name: a UUID, as identity's
// are, that the fake accounts directory knows in every store.
func acct(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("mercato-test-"+name)).String()
}

// fakeAccounts is the identity service as far as staff needs it: the
// accounts named with acct exist in every store, those in stores only in
// the store they map to; err, when set, is every answer.
type fakeAccounts struct {
	mu     sync.Mutex
	err    error
	stores map[string]string // account ID → its only store
	calls  int
}

func (f *fakeAccounts) Staff(ctx context.Context, id string) (identityapi.Staff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return identityapi.Staff{}, f.err
	}
	tenant, _ := tenancy.ID(ctx)
	known := f.stores[id] != "" && f.stores[id] == tenant
	for _, n := range []string{"ada", "bo", "cy", "0", "1", "i", "m", "mgr", "o", "s", "u", "x", "none"} {
		known = known || id == acct("acc-"+n)
	}
	if !known {
		return identityapi.Staff{}, fmt.Errorf("get staff %s: %w", id, identityapi.ErrNotFound)
	}
	return identityapi.Staff{ID: id, Status: "active"}, nil
}

func newTestService(t testing.TB, db *sqldb.DB) (*Service, *clock) {
	t.Helper()
	s, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}, Accounts: &fakeAccounts{}})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: at(7, 0)}
	s.now = c.now
	return s, c
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

// as returns ctx acting as a staff account of the tenant in ctx.
func as(ctx context.Context, account string, role auth.Role) context.Context {
	tenant, _ := tenancy.ID(ctx)
	return auth.WithPrincipal(ctx, auth.Principal{Tenant: tenant, Subject: account, Kind: auth.KindStaff, Role: role})
}

func asAdmin(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{Subject: "admin", Kind: auth.KindAdmin})
}

func mustEmployee(t testing.TB, s *Service, ctx context.Context, name, account string, role auth.Role) staffapi.Employee {
	t.Helper()
	e, err := s.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: name, AccountID: account, Role: role})
	if err != nil {
		t.Fatalf("create employee %s: %v", name, err)
	}
	return e
}

// events returns the outbox's events of subject, of every tenant, oldest
// first.
func events(t *testing.T, db *sqldb.DB, subject string) []outbox.Envelope {
	t.Helper()
	var out []outbox.Envelope
	readAll(t, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(t.Context(), `SELECT envelope FROM outbox WHERE subject = $1 ORDER BY created_at, id`, subject)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var e outbox.Envelope
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out
}

// readAll runs fn in a read transaction that sees every tenant's rows, for
// assertions straight on the tables (row-level security on PostgreSQL
// shows nothing outside a transaction with a tenant, or AllTenants).
func readAll(t *testing.T, db *sqldb.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.ReadTx(sqldb.AllTenants(t.Context()), fn); err != nil {
		t.Fatal(err)
	}
}

func fieldsOf(err error) []string {
	var ve *kit.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestEmployees(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tenantCtx(t, "default")

		bad := []struct {
			name  string
			in    staffapi.EmployeeCreate
			field string
		}{
			{"empty name", staffapi.EmployeeCreate{Name: "  ", Role: auth.RoleStaff}, "name"},
			{"long name", staffapi.EmployeeCreate{Name: string(make([]rune, 101)), Role: auth.RoleStaff}, "name"},
			{"control char", staffapi.EmployeeCreate{Name: "a\x07b", Role: auth.RoleStaff}, "name"},
			{"bad email", staffapi.EmployeeCreate{Name: "A", Email: "not-an-email", Role: auth.RoleStaff}, "email"},
			{"email with name", staffapi.EmployeeCreate{Name: "A", Email: "A <a@example.com>", Role: auth.RoleStaff}, "email"},
			{"bad role", staffapi.EmployeeCreate{Name: "A", Role: "admin"}, "role"},
			{"account with space", staffapi.EmployeeCreate{Name: "A", AccountID: "a b", Role: auth.RoleStaff}, "account_id"},
		}
		for _, tt := range bad {
			_, err := s.CreateEmployee(ctx, tt.in)
			if !errors.Is(err, ErrInvalid) || len(fieldsOf(err)) != 1 || fieldsOf(err)[0] != tt.field {
				t.Errorf("%s: err = %v, want invalid %s", tt.name, err, tt.field)
			}
		}
		if l, _ := s.Employees(ctx, EmployeeQuery{}); len(l.Items) != 0 {
			t.Fatalf("invalid input wrote %d employees", len(l.Items))
		}

		ada, err := s.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: " Ada ", Email: " Ada@Example.COM ", AccountID: acct("acc-ada"), Role: auth.RoleManager})
		if err != nil {
			t.Fatal(err)
		}
		if ada.Name != "Ada" || ada.Email != "ada@example.com" || !ada.Active || ada.AccountID != acct("acc-ada") {
			t.Errorf("created %+v", ada)
		}
		got, err := s.Employee(ctx, ada.ID)
		if err != nil || got != ada {
			t.Errorf("get = %+v, %v; want %+v", got, err, ada)
		}
		if _, err := s.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: "Other", AccountID: acct("acc-ada"), Role: auth.RoleStaff}); !errors.Is(err, ErrAccountTaken) {
			t.Errorf("duplicate account: %v", err)
		}
		// Unlinked employees do not collide.
		bo := mustEmployee(t, s, ctx, "Bo", "", auth.RoleStaff)
		cy := mustEmployee(t, s, ctx, "Cy", "", auth.RoleSupport)

		clk.set(at(8, 0))
		acc := acct("acc-bo")
		role := auth.RoleStaff
		up, err := s.UpdateEmployee(ctx, bo.ID, staffapi.EmployeeUpdate{AccountID: &acc, Role: &role})
		if err != nil || up.AccountID != acct("acc-bo") || !up.UpdatedAt.Equal(at(8, 0)) {
			t.Fatalf("link = %+v, %v", up, err)
		}
		taken := acct("acc-ada")
		if _, err := s.UpdateEmployee(ctx, cy.ID, staffapi.EmployeeUpdate{AccountID: &taken}); !errors.Is(err, ErrAccountTaken) {
			t.Errorf("link taken account: %v", err)
		}
		if _, err := s.UpdateEmployee(ctx, "nope", staffapi.EmployeeUpdate{AccountID: &acc}); !errors.Is(err, ErrEmployeeNotFound) {
			t.Errorf("update unknown: %v", err)
		}
		empty := ""
		if _, err := s.UpdateEmployee(ctx, cy.ID, staffapi.EmployeeUpdate{Name: &empty}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty name: %v", err)
		}

		off, err := s.DeactivateEmployee(ctx, cy.ID)
		if err != nil || off.Active {
			t.Fatalf("deactivate = %+v, %v", off, err)
		}
		if again, err := s.DeactivateEmployee(ctx, cy.ID); err != nil || again != off {
			t.Errorf("deactivate again = %+v, %v", again, err)
		}

		// Pages, and the status filter.
		p1, err := s.Employees(ctx, EmployeeQuery{Limit: 2})
		if err != nil || len(p1.Items) != 2 || p1.NextCursor == "" {
			t.Fatalf("page 1 = %+v, %v", p1, err)
		}
		p2, err := s.Employees(ctx, EmployeeQuery{Limit: 2, Cursor: p1.NextCursor})
		if err != nil || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].ID != cy.ID {
			t.Fatalf("page 2 = %+v, %v", p2, err)
		}
		yes, no := true, false
		if l, _ := s.Employees(ctx, EmployeeQuery{Active: &yes}); len(l.Items) != 2 {
			t.Errorf("active = %d employees, want 2", len(l.Items))
		}
		if l, _ := s.Employees(ctx, EmployeeQuery{Active: &no}); len(l.Items) != 1 || l.Items[0].ID != cy.ID {
			t.Errorf("inactive = %+v", l.Items)
		}
		if _, err := s.Employees(ctx, EmployeeQuery{Cursor: "%%%"}); !errors.Is(err, kit.ErrInvalidCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestShifts(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		ada := mustEmployee(t, s, ctx, "Ada", "", auth.RoleStaff)
		bo := mustEmployee(t, s, ctx, "Bo", "", auth.RoleStaff)

		sh, err := s.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(9, 0), EndsAt: at(17, 0), Note: "front"})
		if err != nil || sh.DurationSeconds != 8*3600 || sh.Note != "front" {
			t.Fatalf("create = %+v, %v", sh, err)
		}

		tests := []struct {
			name    string
			in      staffapi.ShiftCreate
			wantErr error
		}{
			{"overlaps the start", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(8, 0), EndsAt: at(9, 30)}, ErrShiftOverlap},
			{"inside", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(10, 0), EndsAt: at(11, 0)}, ErrShiftOverlap},
			{"around", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(8, 0), EndsAt: at(18, 0)}, ErrShiftOverlap},
			{"back to back before", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(7, 0), EndsAt: at(9, 0)}, nil},
			{"back to back after", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(17, 0), EndsAt: at(19, 0)}, nil},
			{"other employee same time", staffapi.ShiftCreate{EmployeeID: bo.ID, StartsAt: at(9, 0), EndsAt: at(17, 0)}, nil},
			{"ends before start", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(20, 0), EndsAt: at(19, 0)}, ErrInvalid},
			{"empty", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(20, 0), EndsAt: at(20, 0)}, ErrInvalid},
			{"too long", staffapi.ShiftCreate{EmployeeID: ada.ID, StartsAt: at(20, 0), EndsAt: at(20, 0).Add(25 * time.Hour)}, ErrInvalid},
			{"no times", staffapi.ShiftCreate{EmployeeID: ada.ID}, ErrInvalid},
			{"unknown employee", staffapi.ShiftCreate{EmployeeID: "nope", StartsAt: at(20, 0), EndsAt: at(21, 0)}, ErrEmployeeNotFound},
		}
		for _, tt := range tests {
			_, err := s.CreateShift(ctx, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
		}
		var oe *ShiftOverlapError
		if _, err := s.CreateShift(ctx, tests[1].in); !errors.As(err, &oe) || oe.ShiftID != sh.ID {
			t.Errorf("overlap error = %v, want one naming %s", err, sh.ID)
		}

		// Moving a shift onto another is refused; onto itself is fine.
		late := at(19, 30)
		if _, err := s.UpdateShift(ctx, sh.ID, staffapi.ShiftUpdate{EndsAt: &late}); !errors.Is(err, ErrShiftOverlap) {
			t.Errorf("extend over next shift: %v", err)
		}
		end := at(16, 0)
		moved, err := s.UpdateShift(ctx, sh.ID, staffapi.ShiftUpdate{EndsAt: &end})
		if err != nil || !moved.EndsAt.Equal(end) || moved.DurationSeconds != 7*3600 {
			t.Errorf("shorten = %+v, %v", moved, err)
		}

		l, err := s.Shifts(ctx, ShiftQuery{From: at(0, 0), To: at(23, 0), EmployeeID: ada.ID})
		if err != nil || len(l.Items) != 3 || !l.Items[0].StartsAt.Equal(at(7, 0)) {
			t.Fatalf("list = %+v, %v", l, err)
		}
		// Overlapping the period counts, not only starting in it.
		l, _ = s.Shifts(ctx, ShiftQuery{From: at(15, 0), To: at(18, 0)})
		if len(l.Items) != 3 {
			t.Errorf("shifts overlapping 15-18: %d, want 3 (ada 9-16, bo 9-17, ada 17-19)", len(l.Items))
		}
		p1, _ := s.Shifts(ctx, ShiftQuery{From: at(0, 0), To: at(23, 0), Limit: 2})
		p2, _ := s.Shifts(ctx, ShiftQuery{From: at(0, 0), To: at(23, 0), Limit: 2, Cursor: p1.NextCursor})
		if len(p1.Items) != 2 || len(p2.Items) != 2 || p2.NextCursor != "" || p1.Items[1].ID == p2.Items[0].ID {
			t.Errorf("pages = %+v / %+v", p1, p2)
		}
		if _, err := s.Shifts(ctx, ShiftQuery{From: at(10, 0), To: at(9, 0)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("inverted period: %v", err)
		}

		if err := s.DeleteShift(ctx, sh.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteShift(ctx, sh.ID); !errors.Is(err, ErrShiftNotFound) {
			t.Errorf("delete again: %v", err)
		}
		if _, err := s.Shift(ctx, sh.ID); !errors.Is(err, ErrShiftNotFound) {
			t.Errorf("get deleted: %v", err)
		}
		// Inactive employees get no new shifts.
		if _, err := s.DeactivateEmployee(ctx, bo.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: bo.ID, StartsAt: at(20, 0), EndsAt: at(21, 0)}); !errors.Is(err, ErrInactive) {
			t.Errorf("shift for inactive: %v", err)
		}
	})
}

// TestConcurrentShiftOverlap plans overlapping shifts of one employee at
// once: the employee's row lock lets exactly one through on PostgreSQL too.
func TestConcurrentShiftOverlap(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		e := mustEmployee(t, s, ctx, "Ada", "", auth.RoleStaff)
		var ok, overlap atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				start := at(9, 0).Add(time.Duration(i) * time.Minute)
				_, err := s.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: e.ID, StartsAt: start, EndsAt: start.Add(time.Hour)})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrShiftOverlap):
					overlap.Add(1)
				default:
					t.Errorf("create shift: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || overlap.Load() != 9 {
			t.Errorf("%d created, %d overlaps; want 1 and 9", ok.Load(), overlap.Load())
		}
	})
}

func TestCheckInOut(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		ada := mustEmployee(t, s, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		bo := mustEmployee(t, s, ctx, "Bo", acct("acc-bo"), auth.RoleStaff)
		adaCtx := as(ctx, acct("acc-ada"), auth.RoleStaff)

		if _, err := s.CheckOut(adaCtx, staffapi.CheckIn{}); !errors.Is(err, ErrNotCheckedIn) {
			t.Errorf("check-out before check-in: %v", err)
		}
		clk.set(at(9, 0))
		in, err := s.CheckIn(adaCtx, staffapi.CheckIn{Location: "front door", Note: "hi"})
		if err != nil || in.EmployeeID != ada.ID || !in.CheckedInAt.Equal(at(9, 0)) || in.CheckedOutAt != nil || in.CheckInLocation != "front door" {
			t.Fatalf("check in = %+v, %v", in, err)
		}
		if _, err := s.CheckIn(adaCtx, staffapi.CheckIn{}); !errors.Is(err, ErrAlreadyCheckedIn) {
			t.Errorf("double check-in: %v", err)
		}
		pr, err := s.Presence(adaCtx, "")
		if err != nil || !pr.CheckedIn || pr.Attendance.ID != in.ID {
			t.Errorf("presence = %+v, %v", pr, err)
		}
		// Staff may not act for someone else, whether or not they exist.
		for _, id := range []string{bo.ID, "nope"} {
			if _, err := s.CheckIn(adaCtx, staffapi.CheckIn{EmployeeID: id}); !errors.Is(err, ErrForbidden) {
				t.Errorf("staff checks in %s: %v", id, err)
			}
		}
		// Naming oneself is fine.
		if _, err := s.CheckIn(adaCtx, staffapi.CheckIn{EmployeeID: ada.ID}); !errors.Is(err, ErrAlreadyCheckedIn) {
			t.Errorf("check in naming self: %v", err)
		}
		// A manager (without an employee record) checks Bo in.
		mgr := as(ctx, acct("acc-mgr"), auth.RoleManager)
		if _, err := s.CheckIn(mgr, staffapi.CheckIn{EmployeeID: bo.ID}); err != nil {
			t.Errorf("manager checks bo in: %v", err)
		}
		if _, err := s.CheckIn(mgr, staffapi.CheckIn{}); !errors.Is(err, ErrNoEmployee) {
			t.Errorf("manager without employee checks in: %v", err)
		}
		if _, err := s.CheckIn(asAdmin(ctx), staffapi.CheckIn{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("admin without employee_id: %v", err)
		}
		if _, err := s.CheckIn(asAdmin(ctx), staffapi.CheckIn{EmployeeID: "nope"}); !errors.Is(err, ErrEmployeeNotFound) {
			t.Errorf("admin, unknown employee: %v", err)
		}
		if _, err := s.CheckIn(ctx, staffapi.CheckIn{}); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("anonymous: %v", err)
		}
		customer := auth.WithPrincipal(ctx, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
		if _, err := s.CheckIn(customer, staffapi.CheckIn{}); !errors.Is(err, ErrForbidden) {
			t.Errorf("customer: %v", err)
		}
		if _, err := s.CheckIn(adaCtx, staffapi.CheckIn{Location: string(make([]byte, 101))}); !errors.Is(err, ErrInvalid) {
			t.Errorf("long location: %v", err)
		}

		clk.set(at(17, 0).Add(1500 * time.Millisecond))
		out, err := s.CheckOut(adaCtx, staffapi.CheckIn{Location: "back door"})
		if err != nil || out.ID != in.ID || out.CheckedOutAt == nil || out.DurationSeconds != 8*3600+1 || out.CheckOutLocation != "back door" {
			t.Fatalf("check out = %+v, %v", out, err)
		}
		if _, err := s.CheckOut(adaCtx, staffapi.CheckIn{}); !errors.Is(err, ErrNotCheckedIn) {
			t.Errorf("double check-out: %v", err)
		}
		if pr, _ := s.Presence(adaCtx, ""); pr.CheckedIn {
			t.Errorf("presence after check-out = %+v", pr)
		}
		// In again, after being out.
		if _, err := s.CheckIn(adaCtx, staffapi.CheckIn{}); err != nil {
			t.Errorf("second check-in of the day: %v", err)
		}

		// Deactivating Bo, who is in, checks him out; then he cannot check in.
		clk.set(at(18, 0))
		if _, err := s.DeactivateEmployee(ctx, bo.ID); err != nil {
			t.Fatal(err)
		}
		if pr, _ := s.Presence(mgr, bo.ID); pr.CheckedIn {
			t.Errorf("deactivated employee still in")
		}
		if _, err := s.CheckIn(mgr, staffapi.CheckIn{EmployeeID: bo.ID}); !errors.Is(err, ErrInactive) {
			t.Errorf("check in inactive: %v", err)
		}

		ins := events(t, db, staffapi.SubjectCheckedIn)
		outs := events(t, db, staffapi.SubjectCheckedOut)
		if len(ins) != 3 || len(outs) != 2 {
			t.Fatalf("%d check-in and %d check-out events, want 3 and 2", len(ins), len(outs))
		}
		var first staffapi.CheckedIn
		if err := json.Unmarshal(ins[0].Data, &first); err != nil || first.EmployeeID != ada.ID || first.AccountID != acct("acc-ada") ||
			first.AttendanceID != in.ID || !first.At.Equal(at(9, 0)) || first.Location != "front door" || ins[0].Tenant != "default" {
			t.Errorf("check-in event = %+v (%s), %v", first, ins[0].Tenant, err)
		}
		var co staffapi.CheckedOut
		if err := json.Unmarshal(outs[0].Data, &co); err != nil || co.AttendanceID != in.ID || co.DurationSeconds != 8*3600+1 || co.Location != "back door" {
			t.Errorf("check-out event = %+v, %v", co, err)
		}
	})
}

// TestConcurrentCheckIns checks in one employee 50 times at once: exactly
// one succeeds, the rest are told already_checked_in, and one event is
// written.
func TestConcurrentCheckIns(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		mustEmployee(t, s, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		adaCtx := as(ctx, acct("acc-ada"), auth.RoleStaff)
		var ok, already atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, err := s.CheckIn(adaCtx, staffapi.CheckIn{})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrAlreadyCheckedIn):
					already.Add(1)
				default:
					t.Errorf("check in: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || already.Load() != 49 {
			t.Errorf("%d succeeded, %d already in; want 1 and 49", ok.Load(), already.Load())
		}
		if n := len(events(t, db, staffapi.SubjectCheckedIn)); n != 1 {
			t.Errorf("%d check-in events, want 1", n)
		}
		var rows int
		readAll(t, db, func(tx *sql.Tx) error {
			return tx.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM attendance`).Scan(&rows)
		})
		if rows != 1 {
			t.Errorf("%d attendance rows, want 1", rows)
		}
	})
}

func TestAttendanceReport(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		ada := mustEmployee(t, s, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		bo := mustEmployee(t, s, ctx, "Bo", acct("acc-bo"), auth.RoleSupport)
		cy := mustEmployee(t, s, ctx, "Cy", "", auth.RoleStaff)
		gone := mustEmployee(t, s, ctx, "Gone", "", auth.RoleStaff)
		if _, err := s.DeactivateEmployee(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		admin := asAdmin(ctx)
		for _, sh := range []staffapi.ShiftCreate{
			{EmployeeID: ada.ID, StartsAt: at(9, 0), EndsAt: at(13, 0)},
			{EmployeeID: ada.ID, StartsAt: at(14, 0), EndsAt: at(18, 0)},
			{EmployeeID: bo.ID, StartsAt: at(10, 0), EndsAt: at(20, 0)},
			{EmployeeID: cy.ID, StartsAt: at(9, 0), EndsAt: at(12, 0)},
		} {
			if _, err := s.CreateShift(ctx, sh); err != nil {
				t.Fatal(err)
			}
		}
		step := func(t0 time.Time, f func(context.Context, staffapi.CheckIn) (staffapi.Attendance, error), who string) {
			t.Helper()
			clk.set(t0)
			if _, err := f(admin, staffapi.CheckIn{EmployeeID: who}); err != nil {
				t.Fatal(err)
			}
		}
		step(at(8, 55), s.CheckIn, ada.ID) // on time for 9:00
		step(at(13, 0), s.CheckOut, ada.ID)
		step(at(14, 30), s.CheckIn, ada.ID) // 30 min late for 14:00
		step(at(18, 0), s.CheckOut, ada.ID)
		step(at(10, 2), s.CheckIn, bo.ID) // within grace, still in
		clk.set(at(15, 0))

		r, err := s.Attendance(ctx, at(8, 0), at(16, 0), "")
		if err != nil {
			t.Fatal(err)
		}
		if !r.OpenUntil.Equal(at(15, 0)) || len(r.Items) != 3 {
			t.Fatalf("report = %+v", r)
		}
		want := map[string]staffapi.AttendanceLine{
			// 8:55-13:00 clipped from 8:00 (4h05) + 14:30-16:00 (1h30).
			ada.ID: {SecondsWorked: 4*3600 + 5*60 + 90*60, HoursWorked: "5.58", CheckIns: 2, ShiftsPlanned: 2, ShiftsAttended: 2, LateCheckIns: 1, LateSeconds: 1800},
			// Open since 10:02, counted to now (15:00).
			bo.ID: {SecondsWorked: 4*3600 + 58*60, HoursWorked: "4.97", CheckIns: 1, CheckedIn: true, ShiftsPlanned: 1, ShiftsAttended: 1},
			cy.ID: {HoursWorked: "0.00", ShiftsPlanned: 1},
		}
		for _, l := range r.Items {
			w, ok := want[l.EmployeeID]
			if !ok {
				t.Errorf("unexpected line %+v", l)
				continue
			}
			if l.SecondsWorked != w.SecondsWorked || l.HoursWorked != w.HoursWorked || l.CheckIns != w.CheckIns || l.CheckedIn != w.CheckedIn ||
				l.ShiftsPlanned != w.ShiftsPlanned || l.ShiftsAttended != w.ShiftsAttended || l.LateCheckIns != w.LateCheckIns || l.LateSeconds != w.LateSeconds {
				t.Errorf("%s: line %+v, want %+v", l.Name, l, w)
			}
		}
		// The period's end caps the open interval when now is later.
		one, err := s.Attendance(ctx, at(8, 0), at(12, 0), bo.ID)
		if err != nil || len(one.Items) != 1 || one.Items[0].SecondsWorked != 118*60 || !one.OpenUntil.Equal(at(12, 0)) {
			t.Errorf("bo until 12 = %+v, %v", one, err)
		}
		if _, err := s.Attendance(ctx, at(8, 0), at(12, 0), "nope"); !errors.Is(err, ErrEmployeeNotFound) {
			t.Errorf("unknown employee: %v", err)
		}
		if _, err := s.Attendance(ctx, at(8, 0), at(8, 0), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty period: %v", err)
		}
		if _, err := s.Attendance(ctx, at(8, 0), at(8, 0).Add(400*24*time.Hour), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("long period: %v", err)
		}
	})
}

func TestAnnouncements(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		ada := mustEmployee(t, s, ctx, "Ada", acct("acc-ada"), auth.RoleStaff)
		bo := mustEmployee(t, s, ctx, "Bo", acct("acc-bo"), auth.RoleSupport)
		cy := mustEmployee(t, s, ctx, "Cy", acct("acc-cy"), auth.RoleStaff)
		mgr := as(ctx, acct("acc-mgr"), auth.RoleManager)

		for _, bad := range []staffapi.AnnouncementCreate{
			{Title: "", Body: "b", Audience: "all"},
			{Title: "t", Body: " ", Audience: "all"},
			{Title: "t\nx", Body: "b", Audience: "all"},
			{Title: "t", Body: "b", Audience: "customers"},
		} {
			if _, err := s.PublishAnnouncement(mgr, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("publish %+v: %v", bad, err)
			}
		}
		clk.set(at(9, 0))
		all, err := s.PublishAnnouncement(mgr, staffapi.AnnouncementCreate{Title: "Inventory Friday", Body: "All hands.\nBring gloves.", Audience: "all"})
		if err != nil || all.Author != acct("acc-mgr") {
			t.Fatalf("publish = %+v, %v", all, err)
		}
		clk.set(at(10, 0))
		sup, err := s.PublishAnnouncement(mgr, staffapi.AnnouncementCreate{Title: "New ticket tool", Body: "See wiki.", Audience: "support"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(events(t, db, staffapi.SubjectAnnouncementPublished)); n != 2 {
			t.Errorf("%d announcement events, want 2", n)
		}

		adaCtx := as(ctx, acct("acc-ada"), auth.RoleStaff)
		boCtx := as(ctx, acct("acc-bo"), auth.RoleSupport)
		in, err := s.Inbox(adaCtx, Page{})
		if err != nil || len(in.Items) != 1 || in.Items[0].ID != all.ID || in.Items[0].Read {
			t.Fatalf("ada's inbox = %+v, %v", in, err)
		}
		in, _ = s.Inbox(boCtx, Page{})
		if len(in.Items) != 2 || in.Items[0].ID != sup.ID {
			t.Fatalf("bo's inbox = %+v", in)
		}
		// Ada may not read (or learn of) the support announcement.
		if _, err := s.MarkRead(adaCtx, sup.ID); !errors.Is(err, ErrAnnouncementNotFound) {
			t.Errorf("read other role's: %v", err)
		}
		clk.set(at(11, 0))
		item, err := s.MarkRead(adaCtx, all.ID)
		if err != nil || !item.Read || !item.ReadAt.Equal(at(11, 0)) {
			t.Fatalf("read = %+v, %v", item, err)
		}
		clk.set(at(12, 0))
		again, err := s.MarkRead(adaCtx, all.ID)
		if err != nil || !again.ReadAt.Equal(at(11, 0)) {
			t.Errorf("read again = %+v, %v; the first read time stays", again, err)
		}
		if _, err := s.MarkRead(as(ctx, acct("acc-none"), auth.RoleStaff), all.ID); !errors.Is(err, ErrNoEmployee) {
			t.Errorf("read without employee: %v", err)
		}
		if _, err := s.MarkRead(adaCtx, "nope"); !errors.Is(err, ErrAnnouncementNotFound) {
			t.Errorf("read unknown: %v", err)
		}
		in, _ = s.Inbox(adaCtx, Page{})
		if !in.Items[0].Read || !in.Items[0].ReadAt.Equal(at(11, 0)) {
			t.Errorf("ada's inbox after reading = %+v", in.Items[0])
		}

		rc, err := s.Receipts(ctx, all.ID)
		if err != nil || len(rc.Read) != 1 || rc.Read[0].EmployeeID != ada.ID || len(rc.Unread) != 2 {
			t.Fatalf("receipts of all = %+v, %v", rc, err)
		}
		if rc.Unread[0].EmployeeID != bo.ID || rc.Unread[1].EmployeeID != cy.ID {
			t.Errorf("unread = %+v, want Bo, Cy", rc.Unread)
		}
		rc, _ = s.Receipts(ctx, sup.ID)
		if len(rc.Read) != 0 || len(rc.Unread) != 1 || rc.Unread[0].EmployeeID != bo.ID {
			t.Errorf("receipts of support = %+v", rc)
		}
		// A reader deactivated since stays among the readers; an inactive
		// non-reader is no longer expected to read.
		if _, err := s.DeactivateEmployee(ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeactivateEmployee(ctx, cy.ID); err != nil {
			t.Fatal(err)
		}
		rc, _ = s.Receipts(ctx, all.ID)
		if len(rc.Read) != 1 || len(rc.Unread) != 1 || rc.Unread[0].EmployeeID != bo.ID {
			t.Errorf("receipts after deactivations = %+v", rc)
		}
		if _, err := s.Receipts(ctx, "nope"); !errors.Is(err, ErrAnnouncementNotFound) {
			t.Errorf("receipts of unknown: %v", err)
		}
		l, err := s.Announcements(ctx, Page{Limit: 1})
		if err != nil || len(l.Items) != 1 || l.Items[0].ID != sup.ID || l.NextCursor == "" {
			t.Fatalf("admin list = %+v, %v", l, err)
		}
		l, _ = s.Announcements(ctx, Page{Limit: 1, Cursor: l.NextCursor})
		if len(l.Items) != 1 || l.Items[0].ID != all.ID || l.NextCursor != "" {
			t.Errorf("admin list page 2 = %+v", l)
		}
	})
}

// TestTenantIsolation makes sure nothing of one tenant shows in another,
// and that a staff token of one tenant does nothing in another.
func TestTenantIsolation(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
		e := mustEmployee(t, s, acme, "Ada", acct("acc-1"), auth.RoleStaff)
		sh, err := s.CreateShift(acme, staffapi.ShiftCreate{EmployeeID: e.ID, StartsAt: at(9, 0), EndsAt: at(10, 0)})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.PublishAnnouncement(acme, staffapi.AnnouncementCreate{Title: "t", Body: "b", Audience: "all"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckIn(as(acme, acct("acc-1"), auth.RoleStaff), staffapi.CheckIn{}); err != nil {
			t.Fatal(err)
		}

		if _, err := s.Employee(globex, e.ID); !errors.Is(err, ErrEmployeeNotFound) {
			t.Errorf("employee across tenants: %v", err)
		}
		if _, err := s.Shift(globex, sh.ID); !errors.Is(err, ErrShiftNotFound) {
			t.Errorf("shift across tenants: %v", err)
		}
		if _, err := s.Receipts(globex, a.ID); !errors.Is(err, ErrAnnouncementNotFound) {
			t.Errorf("announcement across tenants: %v", err)
		}
		if _, err := s.CreateShift(globex, staffapi.ShiftCreate{EmployeeID: e.ID, StartsAt: at(11, 0), EndsAt: at(12, 0)}); !errors.Is(err, ErrEmployeeNotFound) {
			t.Errorf("shift for another tenant's employee: %v", err)
		}
		// The same account ID may be an employee in both stores.
		mustEmployee(t, s, globex, "Ada G", acct("acc-1"), auth.RoleStaff)
		if l, _ := s.Employees(globex, EmployeeQuery{}); len(l.Items) != 1 {
			t.Errorf("globex employees = %d, want 1", len(l.Items))
		}
		if r, _ := s.Attendance(globex, at(0, 0), at(23, 0), ""); len(r.Items) != 1 || r.Items[0].CheckIns != 0 {
			t.Errorf("globex report = %+v", r)
		}
		if l, _ := s.Shifts(globex, ShiftQuery{From: at(0, 0), To: at(23, 0)}); len(l.Items) != 0 {
			t.Errorf("globex shifts = %+v", l)
		}
		if in, _ := s.Inbox(as(globex, acct("acc-1"), auth.RoleStaff), Page{}); len(in.Items) != 0 {
			t.Errorf("globex inbox = %+v", in)
		}
		// Acme's token in globex's request is refused.
		foreign := auth.WithPrincipal(globex, auth.Principal{Tenant: "acme", Subject: acct("acc-1"), Kind: auth.KindStaff, Role: auth.RoleOwner})
		if _, err := s.CheckIn(foreign, staffapi.CheckIn{}); !errors.Is(err, ErrForbidden) {
			t.Errorf("foreign token: %v", err)
		}
	})
}

func TestSeedDemo(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		n, err := s.SeedDemo(ctx)
		if err != nil || n != 9 {
			t.Fatalf("seed = %d, %v", n, err)
		}
		if n, err := s.SeedDemo(ctx); err != nil || n != 0 {
			t.Errorf("seed again = %d, %v", n, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{}.withDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, c := range map[string]Config{
		"negative grace":  {LateGrace: -1, MaxShift: time.Hour, MaxPeriod: time.Hour, Paging: kit.Paging{PageSize: 1, MaxPageSize: 1}},
		"page over max":   {MaxShift: time.Hour, MaxPeriod: time.Hour, Paging: kit.Paging{PageSize: 10, MaxPageSize: 5}},
		"zero max shift":  {MaxShift: -time.Hour, MaxPeriod: time.Hour, Paging: kit.Paging{PageSize: 1, MaxPageSize: 1}},
		"huge page limit": {MaxShift: time.Hour, MaxPeriod: time.Hour, Paging: kit.Paging{PageSize: 1, MaxPageSize: 20000}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(t.Context(), Config{}, Deps{}); err == nil {
		t.Error("New without a database: no error")
	}
}
