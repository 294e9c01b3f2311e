package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// credentials is what a login checks, loaded by kind.
type credentials struct {
	id     string
	hash   string
	role   auth.Role
	active bool
}

// Limits of the login throttle.
func (s *Service) accountLimit() Limit {
	return Limit{Failures: s.cfg.AccountFailures, Window: s.cfg.AccountWindow}
}

func (s *Service) ipLimit() Limit {
	return Limit{Failures: s.cfg.IPFailures, Window: s.cfg.IPWindow}
}

// throttleKeys are the throttle keys of a login attempt: the account's and,
// when known, the client IP's (across tenants: one IP guessing in many
// stores is still one guesser).
func throttleKeys(tenant string, kind auth.Kind, email, ip string) (acct, addr string) {
	acct = "acct:" + tenant + ":" + string(kind) + ":" + email
	if ip != "" {
		addr = "ip:" + ip
	}
	return acct, addr
}

// checkThrottle refuses an attempt whose account or IP has no attempts
// left. A throttle that cannot answer (Redis down) lets the attempt
// through, logged: logins must not depend on the throttle's store.
func (s *Service) checkThrottle(ctx context.Context, acct, addr string) error {
	var wait time.Duration
	for _, k := range []struct {
		key string
		l   Limit
	}{{acct, s.accountLimit()}, {addr, s.ipLimit()}} {
		if k.key == "" {
			continue
		}
		d, err := s.throttle.Blocked(ctx, k.key, k.l)
		if err != nil {
			s.log.WarnContext(ctx, "login throttle unavailable", "err", err)
			return nil
		}
		wait = max(wait, d)
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// failed counts a failed attempt against the account and the IP.
func (s *Service) failed(ctx context.Context, acct, addr string) {
	if err := s.throttle.Fail(ctx, acct, s.accountLimit()); err != nil {
		s.log.WarnContext(ctx, "login throttle unavailable", "err", err)
	}
	if addr != "" {
		if err := s.throttle.Fail(ctx, addr, s.ipLimit()); err != nil {
			s.log.WarnContext(ctx, "login throttle unavailable", "err", err)
		}
	}
}

// authenticate checks email and password of an account of kind, with the
// throttle, and returns the account's credentials. Every failure is
// ErrInvalidCredentials (or a ThrottledError), and an unknown email costs
// one argon2 hash like a known one, so neither the answer nor its timing
// tells which accounts exist.
func (s *Service) authenticate(ctx context.Context, tenant string, kind auth.Kind, email, password, ip string,
	load func(email string) (credentials, error)) (credentials, bool, error) {
	em := loginEmail(email)
	acct, addr := throttleKeys(tenant, kind, em, ip)
	if err := s.checkThrottle(ctx, acct, addr); err != nil {
		return credentials{}, false, err
	}
	c, err := load(em)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return credentials{}, false, fmt.Errorf("load account: %w", err)
	}
	hash := c.hash
	// An account without a password (imported by staff, waiting for its
	// customer to set one) costs the same hash and fails the same way.
	usable := found && hash != ""
	if !usable {
		hash = s.dummyHash
	}
	ok, rehash, err := verifyPassword(password, hash, s.cfg.Argon2)
	if err != nil {
		return credentials{}, false, fmt.Errorf("verify password of %s %s: %w", kind, c.id, err)
	}
	if !usable || !ok || !c.active {
		s.failed(ctx, acct, addr)
		return credentials{}, false, ErrInvalidCredentials
	}
	if err := s.throttle.Reset(ctx, acct); err != nil {
		s.log.WarnContext(ctx, "login throttle unavailable", "err", err)
	}
	return c, rehash, nil
}

// Login signs a customer in with email and password; ip is the client's
// address for throttling ("" if unknown).
func (s *Service) Login(ctx context.Context, email, password, ip string) (identityapi.Tokens, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	c, rehash, err := s.authenticate(ctx, tenant, auth.KindCustomer, email, password, ip, func(em string) (credentials, error) {
		row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
			return q.GetCustomerByEmail(ctx, identitydb.GetCustomerByEmailParams{TenantID: tenant, Email: em})
		})
		return credentials{id: row.ID, hash: row.PasswordHash, active: true}, err
	})
	if err != nil {
		return identityapi.Tokens{}, fmt.Errorf("log in: %w", err)
	}
	newHash := ""
	if rehash {
		newHash = hashPassword(password, s.cfg.Argon2)
	}
	var out identityapi.Tokens
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		if newHash != "" {
			if _, err := q.RehashCustomerPassword(ctx, identitydb.RehashCustomerPasswordParams{
				PasswordHash: newHash, TenantID: tenant, ID: c.id, OldHash: c.hash}); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
		var err error
		out, err = s.issue(ctx, q, tenant, account{kind: auth.KindCustomer, id: c.id}, "", "")
		return err
	})
	if err != nil {
		return identityapi.Tokens{}, fmt.Errorf("log in: %w", err)
	}
	return out, nil
}

// StaffLogin signs a staff member in; deactivated accounts cannot.
func (s *Service) StaffLogin(ctx context.Context, email, password, ip string) (identityapi.StaffSession, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.StaffSession{}, err
	}
	var m identitydb.Staff
	c, rehash, err := s.authenticate(ctx, tenant, auth.KindStaff, email, password, ip, func(em string) (credentials, error) {
		var err error
		m, err = kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Staff, error) {
			return q.GetStaffByEmail(ctx, identitydb.GetStaffByEmailParams{TenantID: tenant, Email: em})
		})
		return credentials{id: m.ID, hash: m.PasswordHash, role: auth.Role(m.Role), active: m.Status == identityapi.StatusActive}, err
	})
	if err != nil {
		return identityapi.StaffSession{}, fmt.Errorf("staff log in: %w", err)
	}
	newHash := ""
	if rehash {
		newHash = hashPassword(password, s.cfg.Argon2)
	}
	var out identityapi.StaffSession
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		if newHash != "" {
			if _, err := q.RehashStaffPassword(ctx, identitydb.RehashStaffPasswordParams{
				PasswordHash: newHash, TenantID: tenant, ID: c.id, OldHash: c.hash}); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
		tok, err := s.issue(ctx, q, tenant, account{kind: auth.KindStaff, id: c.id, role: c.role}, "", "")
		out = identityapi.StaffSession{Staff: toStaff(m), Tokens: tok}
		return err
	})
	if err != nil {
		return identityapi.StaffSession{}, fmt.Errorf("staff log in: %w", err)
	}
	return out, nil
}
