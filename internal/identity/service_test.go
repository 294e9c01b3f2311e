package identity

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newTestService returns a started service with cheap hashing and a clock.
func newTestService(t testing.TB, db *sqldb.DB) (*Service, *clock) {
	t.Helper()
	s, err := New(t.Context(), Config{Argon2: cheap}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	s.now = c.now
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func tctx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

const goodPW = "correct horse battery"

func TestCustomerSessions(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tctx(t, "default")
		reg, err := signUp(ctx, s, identityapi.Register{Email: "Ada@Example.com", Password: goodPW, Name: "<b>Ada</b>'; DROP TABLE customers;--"})
		if err != nil {
			t.Fatal(err)
		}
		if reg.Customer.Email != "ada@example.com" || reg.Customer.Name != "<b>Ada</b>'; DROP TABLE customers;--" {
			t.Fatalf("customer = %+v", reg.Customer)
		}
		p, err := s.Verifier().Verify(ctx, reg.AccessToken)
		if err != nil || p != (auth.Principal{Tenant: "default", Subject: reg.Customer.ID, Kind: auth.KindCustomer}) {
			t.Fatalf("verify = %+v, %v", p, err)
		}
		if _, err := s.Register(ctx, identityapi.Register{Email: "ada@EXAMPLE.com", Password: goodPW, Name: "Ada"}); !errors.Is(err, ErrEmailTaken) {
			t.Fatalf("duplicate register: %v", err)
		}
		// The event is in the outbox.
		var n int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM outbox WHERE subject = '"+identityapi.SubjectCustomerRegistered+"'", &n); err != nil || n != 1 {
			t.Fatalf("outbox events = %d, %v", n, err)
		}

		if _, err := s.Login(ctx, "ada@example.com", "wrong password!", "10.0.0.1"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := s.Login(ctx, "nobody@example.com", goodPW, "10.0.0.1"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("unknown email: %v", err)
		}
		tok, err := s.Login(ctx, " ADA@example.com", goodPW, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}

		// Rotation: each refresh token works once.
		r1, err := s.Refresh(ctx, tok.RefreshToken)
		if err != nil || r1.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh = %+v, %v", r1, err)
		}
		r2, err := s.Refresh(ctx, r1.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		// Reuse of a rotated token revokes the family: r2 dies too.
		if _, err := s.Refresh(ctx, r1.RefreshToken); !errors.Is(err, ErrRefreshTokenReused) {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := s.Refresh(ctx, r2.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("refresh after family revoked: %v", err)
		}
		// Other sessions are untouched; logout revokes one.
		if _, err := s.Refresh(ctx, reg.RefreshToken); err != nil {
			t.Fatalf("other session: %v", err)
		}
		tok2, _ := s.Login(ctx, "ada@example.com", goodPW, "")
		if err := s.Logout(ctx, tok2.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Refresh(ctx, tok2.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("refresh after logout: %v", err)
		}
		if err := s.Logout(ctx, "unknown"); err != nil {
			t.Fatalf("logout of unknown token: %v", err)
		}

		// Access tokens expire.
		clk.add(s.cfg.AccessTTL + time.Minute)
		if _, err := s.Verifier().Verify(ctx, tok.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("expired token: %v", err)
		}
		// Refresh tokens too.
		tok3, _ := s.Login(ctx, "ada@example.com", goodPW, "")
		clk.add(s.cfg.RefreshTTL + time.Minute)
		if _, err := s.Refresh(ctx, tok3.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("expired refresh: %v", err)
		}
	}, Migrations...)
}

func TestPasswordChangeAndReset(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tctx(t, "default")
		reg, err := signUp(ctx, s, identityapi.Register{Email: "bob@example.com", Password: goodPW, Name: "Bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangePassword(ctx, reg.Customer.ID, identityapi.PasswordChange{CurrentPassword: "nope nope nope", NewPassword: "another fine password"}, ""); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong current: %v", err)
		}
		if _, err := s.ChangePassword(ctx, reg.Customer.ID, identityapi.PasswordChange{CurrentPassword: goodPW, NewPassword: "password123"}, ""); !errors.Is(err, ErrWeakPassword) {
			t.Fatalf("weak new: %v", err)
		}
		fresh, err := s.ChangePassword(ctx, reg.Customer.ID, identityapi.PasswordChange{CurrentPassword: goodPW, NewPassword: "another fine password"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Refresh(ctx, reg.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("old session after change: %v", err)
		}
		if _, err := s.Refresh(ctx, fresh.RefreshToken); err != nil {
			t.Fatalf("new session: %v", err)
		}

		// Reset: unknown emails are silent; known ones get a token event.
		if err := s.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.RequestPasswordReset(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		var data string
		if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectPasswordResetRequested+"'", &data); err != nil {
			t.Fatalf("reset event: %v", err)
		}
		raw := eventField(t, data, "token")
		if _, err := s.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: raw, NewPassword: "short"}); !errors.Is(err, ErrWeakPassword) {
			t.Fatalf("weak reset: %v", err)
		}
		if _, err := s.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: raw, NewPassword: "yet another password"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: raw, NewPassword: "and one more password"}); !errors.Is(err, ErrInvalidResetToken) {
			t.Fatalf("reused reset token: %v", err)
		}
		if _, err := s.Login(ctx, "bob@example.com", "yet another password", ""); err != nil {
			t.Fatalf("login with reset password: %v", err)
		}
		// Expiry.
		if err := s.RequestPasswordReset(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		var data2 string
		if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectPasswordResetRequested+"' ORDER BY id DESC LIMIT 1", &data2); err != nil {
			t.Fatalf("second reset event: %v", err)
		}
		clk.add(s.cfg.ResetTTL + time.Second)
		if _, err := s.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: eventField(t, data2, "token"), NewPassword: "and one more password"}); !errors.Is(err, ErrInvalidResetToken) {
			t.Fatalf("expired reset token: %v", err)
		}
	}, Migrations...)
}

func TestKeyRotation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tctx(t, "default")
		reg, err := signUp(ctx, s, identityapi.Register{Email: "k@example.com", Password: goodPW, Name: "K"})
		if err != nil {
			t.Fatal(err)
		}
		old, _ := s.JWKS(ctx)
		if len(old.Keys) != 1 {
			t.Fatalf("jwks before rotation = %+v", old)
		}
		// A second service (another replica) on the same DB starts without
		// creating a second key.
		s2, _ := newTestService(t, db)
		if set, _ := s2.JWKS(ctx); len(set.Keys) != 1 || set.Keys[0].Kid != old.Keys[0].Kid {
			t.Fatalf("replica jwks = %+v", set)
		}
		kid, _, err := s.RotateKey(ctx)
		if err != nil || kid == old.Keys[0].Kid {
			t.Fatalf("rotate = %q, %v", kid, err)
		}
		set, _ := s.JWKS(ctx)
		if len(set.Keys) != 2 || set.Keys[0].Kid != kid || set.Keys[1].Kid != old.Keys[0].Kid {
			t.Fatalf("jwks after rotation = %+v", set)
		}
		// The old token still verifies; new tokens use the new key; the
		// replica learns the new key on first sight of its kid.
		if _, err := s.Verifier().Verify(ctx, reg.AccessToken); err != nil {
			t.Fatalf("old token: %v", err)
		}
		tok, err := s.Login(ctx, "k@example.com", goodPW, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := headerKid(t, tok.AccessToken); got != kid {
			t.Fatalf("new token kid = %q, want %q", got, kid)
		}
		if _, err := s2.Verifier().Verify(ctx, tok.AccessToken); err != nil {
			t.Fatalf("replica verifying new key: %v", err)
		}
		// Pruning keeps the old key until access TTL + leeway passed.
		if err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if set, _ := s.JWKS(ctx); len(set.Keys) != 2 {
			t.Fatalf("pruned too early: %+v", set)
		}
		clk.add(s.keys.publishFor() + time.Second)
		if err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if set, _ := s.JWKS(ctx); len(set.Keys) != 1 || set.Keys[0].Kid != kid {
			t.Fatalf("jwks after prune = %+v", set)
		}
		if _, err := s.keys.Key(ctx, old.Keys[0].Kid); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("pruned key: %v", err)
		}
	}, Migrations...)
}

func TestStaffRules(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		admin := auth.Principal{Subject: "admin", Kind: auth.KindAdmin}
		if ok, _ := s.OwnerExists(ctx); ok {
			t.Fatal("owner exists in a new store")
		}
		owner, err := s.CreateOwner(ctx, identityapi.OwnerCreate{Email: "owner@example.com", Password: goodPW, Name: "Olive"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateOwner(ctx, identityapi.OwnerCreate{Email: "other@example.com", Password: goodPW, Name: "O2"}); !errors.Is(err, ErrOwnerExists) {
			t.Fatalf("second owner: %v", err)
		}
		if ok, _ := s.OwnerExists(ctx); !ok {
			t.Fatal("no owner after CreateOwner")
		}
		ownerP := auth.Principal{Tenant: "default", Subject: owner.Staff.ID, Kind: auth.KindStaff, Role: auth.RoleOwner}

		accept := func(inv identityapi.Invitation, name string) identityapi.StaffSession {
			t.Helper()
			ss, err := s.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return ss
		}
		invM, err := s.Invite(ctx, ownerP, identityapi.InvitationCreate{Email: "mgr@example.com", Role: "manager"})
		if err != nil {
			t.Fatal(err)
		}
		mgr := accept(invM, "Manny")
		if mgr.Staff.Role != "manager" {
			t.Fatalf("accepted = %+v", mgr.Staff)
		}
		if _, err := s.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: invM.Token, Password: goodPW, Name: "Again"}); !errors.Is(err, ErrInvalidInvitation) {
			t.Fatalf("reused invitation: %v", err)
		}
		mgrP := auth.Principal{Tenant: "default", Subject: mgr.Staff.ID, Kind: auth.KindStaff, Role: auth.RoleManager}
		if _, err := s.Invite(ctx, mgrP, identityapi.InvitationCreate{Email: "o2@example.com", Role: "owner"}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("manager inviting owner: %v", err)
		}
		if _, err := s.Invite(ctx, mgrP, identityapi.InvitationCreate{Email: "owner@example.com", Role: "staff"}); !errors.Is(err, ErrEmailTaken) {
			t.Fatalf("inviting an existing member: %v", err)
		}
		invS, err := s.Invite(ctx, mgrP, identityapi.InvitationCreate{Email: "clerk@example.com", Role: "staff"})
		if err != nil {
			t.Fatal(err)
		}
		clerk := accept(invS, "Clerk")

		// Roles: only an owner makes or unmakes an owner (that only owners
		// change roles at all is the access table's: TestHTTP); the last
		// owner stays.
		if _, err := s.ChangeRole(ctx, mgrP, clerk.Staff.ID, "owner"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("manager making an owner: %v", err)
		}
		if _, err := s.ChangeRole(ctx, mgrP, owner.Staff.ID, "support"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("manager demoting an owner: %v", err)
		}
		if _, err := s.ChangeRole(ctx, ownerP, owner.Staff.ID, "manager"); !errors.Is(err, ErrLastOwner) {
			t.Fatalf("demoting the last owner: %v", err)
		}
		if _, err := s.Deactivate(ctx, admin, owner.Staff.ID); !errors.Is(err, ErrLastOwner) {
			t.Fatalf("deactivating the last owner: %v", err)
		}
		if m, err := s.ChangeRole(ctx, ownerP, mgr.Staff.ID, "owner"); err != nil || m.Role != "owner" {
			t.Fatalf("promote = %+v, %v", m, err)
		}
		if m, err := s.ChangeRole(ctx, ownerP, owner.Staff.ID, "manager"); err != nil || m.Role != "manager" {
			t.Fatalf("demote with another owner = %+v, %v", m, err)
		}
		// The refresh carries the new role.
		r, err := s.Refresh(ctx, owner.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Verifier().Verify(ctx, r.AccessToken); p.Role != auth.RoleManager {
			t.Fatalf("role after refresh = %q", p.Role)
		}

		// Deactivation: no login, sessions revoked, managers cannot touch owners.
		if _, err := s.Deactivate(ctx, ownerP /* now a manager in the DB, but the token says owner */, clerk.Staff.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StaffLogin(ctx, "clerk@example.com", goodPW, ""); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("deactivated login: %v", err)
		}
		if _, err := s.Refresh(ctx, clerk.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("deactivated refresh: %v", err)
		}
		demoted := auth.Principal{Tenant: "default", Subject: owner.Staff.ID, Kind: auth.KindStaff, Role: auth.RoleManager}
		if _, err := s.Deactivate(ctx, demoted, mgr.Staff.ID); !errors.Is(err, ErrForbidden) {
			t.Fatalf("manager deactivating owner: %v", err)
		}
		ss, err := s.StaffLogin(ctx, "MGR@example.com", goodPW, "")
		if err != nil || ss.Staff.Role != "owner" {
			t.Fatalf("staff login = %+v, %v", ss.Staff, err)
		}
		list, _ := s.ListStaff(ctx)
		if len(list.Items) != 3 {
			t.Fatalf("staff = %+v", list.Items)
		}
		// Expired invitations.
		s.now = func() time.Time { return time.Now() }
		inv, _ := s.Invite(ctx, admin, identityapi.InvitationCreate{Email: "late@example.com", Role: "support"})
		s.now = func() time.Time { return time.Now().Add(s.cfg.InviteTTL + time.Minute) }
		if _, err := s.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Late"}); !errors.Is(err, ErrInvalidInvitation) {
			t.Fatalf("expired invitation: %v", err)
		}
	}, Migrations...)
}

func TestTenantIsolation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		def, acme := tctx(t, "default"), tctx(t, "acme")
		a, err := signUp(acme, s, identityapi.Register{Email: "same@example.com", Password: goodPW, Name: "Acme customer"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Customer(def, a.Customer.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("acme customer under default: %v", err)
		}
		if _, err := s.Login(def, "same@example.com", goodPW, ""); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("acme account logging in to default: %v", err)
		}
		if _, err := s.Refresh(def, a.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
			t.Fatalf("acme refresh token under default: %v", err)
		}
		// The same email may register in another store.
		if _, err := s.Register(def, identityapi.Register{Email: "same@example.com", Password: goodPW, Name: "Default customer"}); err != nil {
			t.Fatal(err)
		}
		// An acme token is no principal under default.
		srv := newHTTPServer(t, s)
		if r := call(t, srv, "GET", "/api/v1/me", "default", bearer(a.AccessToken), nil); r.status != 401 || r.body["code"] != "unauthorized" {
			t.Fatalf("acme token under default = %d %v", r.status, r.body)
		}
		if r := call(t, srv, "GET", "/api/v1/me", "acme", bearer(a.AccessToken), nil); r.status != 200 || r.body["id"] != a.Customer.ID {
			t.Fatalf("acme token under acme = %d %v", r.status, r.body)
		}
	}, Migrations...)
}

func TestLoginThrottle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		s.throttle = NewMemoryThrottle(clk.now)
		ctx := tctx(t, "default")
		if _, err := s.Register(ctx, identityapi.Register{Email: "t@example.com", Password: goodPW, Name: "T"}); err != nil {
			t.Fatal(err)
		}
		for i := range s.cfg.AccountFailures {
			if _, err := s.Login(ctx, "t@example.com", "wrong password", "10.0.0."+string(rune('1'+i))); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		// Even the right password is refused now, from any IP.
		_, err := s.Login(ctx, "t@example.com", goodPW, "10.9.9.9")
		var te *ThrottledError
		if !errors.As(err, &te) || te.RetryAfterSeconds() < 1 || te.RetryAfter > s.cfg.AccountWindow {
			t.Fatalf("throttled login: %v", err)
		}
		clk.add(te.RetryAfter)
		if _, err := s.Login(ctx, "t@example.com", goodPW, "10.9.9.9"); err != nil {
			t.Fatalf("login after waiting: %v", err)
		}
	}, Migrations...)
}

// queryRow reads one row straight from a table as the tenant in ctx would:
// in a read transaction (row-level security on PostgreSQL shows a tenant's
// rows to nothing else).
func queryRow(ctx context.Context, db *sqldb.DB, query string, dest ...any) error {
	return db.ReadTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, query).Scan(dest...) })
}

// TestPruneEveryTenant checks that the housekeeping, which runs with no
// tenant in its context, deletes expired tokens of every tenant.
func TestPruneEveryTenant(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		all := sqldb.AllTenants(t.Context())
		for _, tenant := range []string{"default", "acme"} {
			ctx := tctx(t, tenant)
			if _, err := signUp(ctx, s, identityapi.Register{Email: "ada@example.com", Password: goodPW, Name: "Ada"}); err != nil {
				t.Fatal(err)
			}
			if err := s.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		count := func() (tokens, resets int) {
			t.Helper()
			if err := queryRow(all, db, "SELECT (SELECT COUNT(*) FROM refresh_tokens), (SELECT COUNT(*) FROM password_resets)", &tokens, &resets); err != nil {
				t.Fatal(err)
			}
			return tokens, resets
		}
		if tokens, resets := count(); tokens != 2 || resets != 2 {
			t.Fatalf("before prune: %d refresh tokens, %d resets; want 2 and 2", tokens, resets)
		}
		clk.add(max(s.cfg.RefreshTTL, s.cfg.ResetTTL) + time.Second)
		if err := s.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		if tokens, resets := count(); tokens != 0 || resets != 0 {
			t.Fatalf("after prune: %d refresh tokens, %d resets left", tokens, resets)
		}
	}, Migrations...)
}
