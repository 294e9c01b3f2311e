package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeLimits is the tenant service's plan limits, by tenant; err fails
// every lookup. calls counts lookups.
type fakeLimits struct {
	mu    sync.Mutex
	plans map[string]tenantapi.Limits
	err   error
	calls int
}

func (f *fakeLimits) Limits(ctx context.Context) (tenantapi.Limits, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return tenantapi.Limits{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return tenantapi.Limits{}, f.err
	}
	return f.plans[tenant], nil
}

func (f *fakeLimits) set(tenant string, l tenantapi.Limits) {
	f.mu.Lock()
	f.plans[tenant] = l
	f.mu.Unlock()
}

func (f *fakeLimits) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeLimits) lookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func freePlan(staff int64) tenantapi.Limits {
	return tenantapi.Limits{Plan: tenantapi.PlanFree, Products: 100, Staff: staff}
}

// limitedService is newTestService under limits, with an owner in each of
// tenants.
func limitedService(t *testing.T, db *sqldb.DB, l PlanLimits, tenants ...string) (*Service, *clock) {
	t.Helper()
	s, clk := newTestService(t, db)
	s.limits = l
	for _, tenant := range tenants {
		if _, err := s.CreateOwner(tctx(t, tenant), identityapi.OwnerCreate{Email: "owner@" + tenant + ".test", Password: goodPW, Name: "Owner"}); err != nil {
			t.Fatalf("owner of %s: %v", tenant, err)
		}
	}
	return s, clk
}

// adminP is the admin token's principal.
var adminP = auth.Principal{Subject: "admin", Kind: auth.KindAdmin}

func inviteStaff(s *Service, ctx context.Context, email string) (identityapi.Invitation, error) {
	return s.Invite(ctx, adminP, identityapi.InvitationCreate{Email: email, Role: "staff"})
}

func acceptInv(s *Service, ctx context.Context, inv identityapi.Invitation) (identityapi.StaffSession, error) {
	return s.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Member"})
}

// staffLimitError checks err is the staff LimitError of limit.
func staffLimitError(t *testing.T, what string, err error, limit int64) {
	t.Helper()
	var le *tenantapi.LimitError
	if !errors.As(err, &le) || !errors.Is(err, tenantapi.ErrLimitReached) || le.Resource != tenantapi.ResourceStaff || le.Limit != limit || le.Plan != tenantapi.PlanFree {
		t.Fatalf("%s: err = %v, want a staff LimitError of %d", what, err, limit)
	}
}

// rowCounts counts tenant's rows of the tables a staff write adds to.
func rowCounts(t *testing.T, db *sqldb.DB, tenant string) map[string]int {
	t.Helper()
	out := map[string]int{}
	ctx := tctx(t, tenant)
	for _, table := range []string{"staff", "invitations", "refresh_tokens", "outbox"} {
		var n int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM "+table+" WHERE tenant_id = '"+tenant+"'", &n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	var used int
	if err := queryRow(ctx, db, "SELECT COUNT(*) FROM invitations WHERE tenant_id = '"+tenant+"' AND accepted_at IS NOT NULL", &used); err != nil {
		t.Fatal(err)
	}
	out["accepted invitations"] = used
	return out
}

// TestStaffLimit: a store has at most its plan's number of staff, owner
// included, counting open invitations when inviting; deactivated staff and
// expired invitations free their seat. A refusal writes nothing.
func TestStaffLimit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		limits := &fakeLimits{plans: map[string]tenantapi.Limits{
			"default": freePlan(2),
			"acme":    {Plan: tenantapi.PlanEnterprise, Products: tenantapi.Unlimited, Staff: tenantapi.Unlimited},
		}}
		s, clk := limitedService(t, db, limits, "default", "acme")
		ctx := tctx(t, "default")

		// Owner + one invitation fill a plan of 2.
		first, err := inviteStaff(s, ctx, "first@example.com")
		if err != nil {
			t.Fatalf("first invitation: %v", err)
		}
		before := rowCounts(t, db, "default")
		_, err = inviteStaff(s, ctx, "second@example.com")
		staffLimitError(t, "second invitation", err, 2)
		if after := rowCounts(t, db, "default"); !maps.Equal(before, after) {
			t.Errorf("a refused invitation wrote rows: %v, then %v", before, after)
		}
		member, err := acceptInv(s, ctx, first)
		if err != nil {
			t.Fatalf("accept the invitation that holds a seat: %v", err)
		}
		_, err = inviteStaff(s, ctx, "second@example.com")
		staffLimitError(t, "invitation with owner and member active", err, 2)

		// Deactivating frees a seat.
		if _, err := s.Deactivate(ctx, adminP, member.Staff.ID); err != nil {
			t.Fatal(err)
		}
		second, err := inviteStaff(s, ctx, "second@example.com")
		if err != nil {
			t.Fatalf("invitation after a deactivation: %v", err)
		}
		// So does an invitation that expires unaccepted.
		_, err = inviteStaff(s, ctx, "third@example.com")
		staffLimitError(t, "invitation while another is open", err, 2)
		clk.add(s.cfg.InviteTTL + time.Minute)
		third, err := inviteStaff(s, ctx, "third@example.com")
		if err != nil {
			t.Fatalf("invitation after the open one expired: %v", err)
		}
		if _, err := acceptInv(s, ctx, second); !errors.Is(err, ErrInvalidInvitation) {
			t.Fatalf("expired invitation: %v", err)
		}

		// Accepting counts active staff: with the plan shrunk to 1 the
		// owner fills it, and the refused invitation stays open.
		limits.set("default", freePlan(1))
		before = rowCounts(t, db, "default")
		_, err = acceptInv(s, ctx, third)
		staffLimitError(t, "accept with active staff filling the plan", err, 1)
		if after := rowCounts(t, db, "default"); !maps.Equal(before, after) {
			t.Errorf("a refused acceptance wrote rows: %v, then %v", before, after)
		}
		limits.set("default", freePlan(2))
		if _, err := acceptInv(s, ctx, third); err != nil {
			t.Fatalf("accept once the plan has room again: %v", err)
		}

		// Over HTTP: 403 plan_limit_reached.
		srv := newHTTPServer(t, s)
		asAdmin := bearer(webtest.AdminToken)
		if a := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asAdmin, map[string]any{"email": "http@example.com", "role": "staff"}); a.status != 403 || a.body["code"] != tenantapi.LimitCode {
			t.Errorf("invitation over the limit over HTTP = %d %v", a.status, a.body)
		}

		// An unlimited plan: no lock row, no count.
		actx := tctx(t, "acme")
		for i := range 5 {
			inv, err := inviteStaff(s, actx, fmt.Sprintf("a%d@example.com", i))
			if err != nil {
				t.Fatalf("unlimited plan, invitation %d: %v", i, err)
			}
			if _, err := acceptInv(s, actx, inv); err != nil {
				t.Fatalf("unlimited plan, acceptance %d: %v", i, err)
			}
		}
		var locks int
		if err := queryRow(actx, db, "SELECT COUNT(*) FROM staff_quota_locks WHERE tenant_id = 'acme'", &locks); err != nil || locks != 0 {
			t.Errorf("lock rows of an unlimited store: %d, %v", locks, err)
		}
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM staff_quota_locks WHERE tenant_id = 'default'", &locks); err != nil || locks != 1 {
			t.Errorf("lock rows of a limited store: %d, %v", locks, err)
		}
	}, Migrations...)
}

// TestStaffLimitConcurrent: invitations racing for the last seats take
// turns, on PostgreSQL too where each transaction would otherwise count
// before the others' inserts; so do acceptances racing for fewer seats
// than there are invitations.
func TestStaffLimitConcurrent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const limit, tries = 4, 12
		limits := &fakeLimits{plans: map[string]tenantapi.Limits{"globex": freePlan(limit)}}
		s, _ := limitedService(t, db, limits, "globex")
		ctx := tctx(t, "globex")

		var wg sync.WaitGroup
		invs := make([]identityapi.Invitation, tries)
		errs := make([]error, tries)
		for i := range tries {
			wg.Go(func() { invs[i], errs[i] = inviteStaff(s, ctx, fmt.Sprintf("g%d@example.com", i)) })
		}
		wg.Wait()
		var made []identityapi.Invitation
		for i, err := range errs {
			switch {
			case err == nil:
				made = append(made, invs[i])
			case !errors.Is(err, tenantapi.ErrLimitReached):
				t.Errorf("invitation %d: %v", i, err)
			}
		}
		var open int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM invitations WHERE tenant_id = 'globex'", &open); err != nil || len(made) != limit-1 || open != limit-1 {
			t.Fatalf("%d invitations succeeded, %d exist (%v); want %d beside the owner", len(made), open, err, limit-1)
		}

		// The plan shrinks to 2: of the open invitations, one may be accepted.
		limits.set("globex", freePlan(2))
		errs = make([]error, len(made))
		for i, inv := range made {
			wg.Go(func() { _, errs[i] = acceptInv(s, ctx, inv) })
		}
		wg.Wait()
		accepted := 0
		for i, err := range errs {
			switch {
			case err == nil:
				accepted++
			case !errors.Is(err, tenantapi.ErrLimitReached):
				t.Errorf("acceptance %d: %v", i, err)
			}
		}
		var active int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM staff WHERE tenant_id = 'globex' AND status = 'active'", &active); err != nil || accepted != 1 || active != 2 {
			t.Errorf("%d acceptances succeeded, %d active staff (%v); want 1 and 2", accepted, active, err)
		}
	}, Migrations...)
}

// TestStaffLimitUnavailable: when the plan cannot be read, no staff is
// invited or added (503 over HTTP); signup's owner and everything else
// work, since they add no seat.
func TestStaffLimitUnavailable(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		limits := &fakeLimits{plans: map[string]tenantapi.Limits{"default": freePlan(3)}}
		s, _ := limitedService(t, db, limits, "default")
		ctx := tctx(t, "default")
		inv, err := inviteStaff(s, ctx, "member@example.com")
		if err != nil {
			t.Fatal(err)
		}
		gone, err := inviteStaff(s, ctx, "gone@example.com")
		if err != nil {
			t.Fatal(err)
		}
		goneSS, err := acceptInv(s, ctx, gone)
		if err != nil {
			t.Fatal(err)
		}

		limits.fail(errors.New("connection refused"))
		before := rowCounts(t, db, "default")
		if _, err := inviteStaff(s, ctx, "other@example.com"); !errors.Is(err, ErrLimitsUnavailable) {
			t.Errorf("invite without limits: err = %v, want ErrLimitsUnavailable", err)
		}
		if _, err := acceptInv(s, ctx, inv); !errors.Is(err, ErrLimitsUnavailable) {
			t.Errorf("accept without limits: err = %v, want ErrLimitsUnavailable", err)
		}
		srv := newHTTPServer(t, s)
		if a := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", bearer(webtest.AdminToken), map[string]any{"email": "http@example.com", "role": "staff"}); a.status != 503 || a.body["code"] != "plan_limits_unavailable" {
			t.Errorf("invite without limits over HTTP = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/staff/invitations/accept", "default", nil, map[string]any{"token": inv.Token, "password": goodPW, "name": "M"}); a.status != 503 || a.body["code"] != "plan_limits_unavailable" {
			t.Errorf("accept without limits over HTTP = %d %v", a.status, a.body)
		}
		if after := rowCounts(t, db, "default"); !maps.Equal(before, after) {
			t.Errorf("writes without limits: %v, then %v", before, after)
		}

		// What adds no seat does not ask.
		calls := limits.lookups()
		if _, err := s.CreateOwner(tctx(t, "acme"), identityapi.OwnerCreate{Email: "o@acme.test", Password: goodPW, Name: "O"}); err != nil {
			t.Errorf("signup's owner without limits: %v", err)
		}
		if _, err := s.Deactivate(ctx, adminP, goneSS.Staff.ID); err != nil {
			t.Errorf("deactivate without limits: %v", err)
		}
		if _, err := s.ListStaff(ctx); err != nil {
			t.Errorf("list staff without limits: %v", err)
		}
		if limits.lookups() != calls {
			t.Errorf("signup, deactivation or listing read the plan limits")
		}
	}, Migrations...)
}

// TestStaffNoLimits: without a limits client (identity alone, the default
// store of a laptop) there is no staff limit.
func TestStaffNoLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		if _, err := s.CreateOwner(ctx, identityapi.OwnerCreate{Email: "owner@example.com", Password: goodPW, Name: "O"}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			inv, err := inviteStaff(s, ctx, fmt.Sprintf("n%d@example.com", i))
			if err != nil {
				t.Fatalf("invitation %d: %v", i, err)
			}
			if _, err := acceptInv(s, ctx, inv); err != nil {
				t.Fatalf("acceptance %d: %v", i, err)
			}
		}
		var locks int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM staff_quota_locks WHERE tenant_id = 'default'", &locks); err != nil || locks != 0 {
			t.Errorf("lock rows without limits: %d, %v", locks, err)
		}
	}, Migrations...)
}
