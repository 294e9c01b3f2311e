package identity

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Web sessions: a browser signs a customer in with POST /api/v1/auth/session
// and gets an HttpOnly cookie (session.CookieName) instead of tokens; GET
// /api/v1/me accepts it. The session (scs, in Redis failing over to the
// database: internal/platform/session) holds the customer's ID and a
// fingerprint of the password hash at sign-in, so changing or resetting the
// password ends every web session of the account, as it revokes its
// refresh tokens.

// Keys of the session data.
const (
	sessionCustomer = "customer_id"
	sessionPassword = "password_mark"
)

// passwordMark fingerprints a password hash (whose salt changes with every
// new password): the session holds this, never the hash itself.
func passwordMark(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:12])
}

// checkSessionLogin checks a customer's email and password like Login,
// with the same throttle, and returns the customer and the mark of the
// password hash now stored, without issuing tokens.
func (s *Service) checkSessionLogin(ctx context.Context, email, password, ip string) (identityapi.Customer, string, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Customer{}, "", err
	}
	var row identitydb.Customer
	c, rehash, err := s.authenticate(ctx, tenant, auth.KindCustomer, email, password, ip, func(em string) (credentials, error) {
		var err error
		row, err = kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
			return q.GetCustomerByEmail(ctx, identitydb.GetCustomerByEmailParams{TenantID: tenant, Email: em})
		})
		return credentials{id: row.ID, hash: row.PasswordHash, active: true}, err
	})
	if err != nil {
		return identityapi.Customer{}, "", err
	}
	hash := c.hash
	if rehash {
		newHash := hashPassword(password, s.cfg.Argon2)
		err := s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
			n, err := q.RehashCustomerPassword(ctx, identitydb.RehashCustomerPasswordParams{
				PasswordHash: newHash, TenantID: tenant, ID: c.id, OldHash: c.hash})
			if err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
			if n > 0 {
				hash = newHash
			}
			return nil
		})
		if err != nil {
			return identityapi.Customer{}, "", err
		}
	}
	return toCustomer(row), passwordMark(hash), nil
}

// SessionLogin signs a customer in to a web session: it checks email and
// password (throttled like Login), replaces the session of token (the
// request's cookie, "" for none) with a new one under a new token, against
// session fixation, and returns the customer with the cookie to set.
func (s *Service) SessionLogin(ctx context.Context, token, email, password, ip string) (identityapi.Customer, *http.Cookie, error) {
	c, mark, err := s.checkSessionLogin(ctx, email, password, ip)
	if err != nil {
		return identityapi.Customer{}, nil, fmt.Errorf("session log in: %w", err)
	}
	sctx, err := s.sessions.Load(ctx, token)
	if err != nil {
		return identityapi.Customer{}, nil, s.sessionFailed(ctx, "load session", err)
	}
	if err := s.sessions.RenewToken(sctx); err != nil {
		return identityapi.Customer{}, nil, s.sessionFailed(ctx, "renew session token", err)
	}
	s.sessions.Put(sctx, sessionCustomer, c.ID)
	s.sessions.Put(sctx, sessionPassword, mark)
	tok, expiry, err := s.sessions.Commit(sctx)
	if err != nil {
		return identityapi.Customer{}, nil, s.sessionFailed(ctx, "save session", err)
	}
	return c, s.sessionCookie(tok, expiry), nil
}

// SessionCustomer returns the customer signed in to the web session of
// token, and the cookie that carries its idle expiry forward (nil when that
// could not be saved: the answer stands, the session just expires sooner).
// A missing or ended session, or one whose customer is gone or changed
// password since, is ErrUnauthenticated.
func (s *Service) SessionCustomer(ctx context.Context, token string) (identityapi.Customer, *http.Cookie, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Customer{}, nil, err
	}
	sctx, err := s.sessions.Load(ctx, token)
	if err != nil {
		return identityapi.Customer{}, nil, s.sessionFailed(ctx, "load session", err)
	}
	id := s.sessions.GetString(sctx, sessionCustomer)
	if id == "" {
		return identityapi.Customer{}, nil, ErrUnauthenticated
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: id})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return identityapi.Customer{}, nil, ErrUnauthenticated
	}
	if err != nil {
		return identityapi.Customer{}, nil, fmt.Errorf("load customer of session: %w", err)
	}
	if s.sessions.GetString(sctx, sessionPassword) != passwordMark(row.PasswordHash) {
		// The password changed since sign-in: the session is over.
		if err := s.sessions.Destroy(sctx); err != nil {
			s.log.WarnContext(ctx, "end session of a changed password", "err", err)
		}
		return identityapi.Customer{}, nil, ErrUnauthenticated
	}
	tok, expiry, err := s.sessions.Commit(sctx)
	if err != nil {
		s.log.WarnContext(ctx, "carry session idle expiry forward", "err", err)
		return toCustomer(row), nil, nil
	}
	return toCustomer(row), s.sessionCookie(tok, expiry), nil
}

// SessionLogout ends the web session of token, if there is one, and
// returns the cookie that deletes it from the browser.
func (s *Service) SessionLogout(ctx context.Context, token string) (*http.Cookie, error) {
	if token != "" {
		sctx, err := s.sessions.Load(ctx, token)
		if err != nil {
			return nil, s.sessionFailed(ctx, "load session", err)
		}
		// An unknown token loads as a new, unsaved session: nothing to end.
		if s.sessions.Token(sctx) != "" {
			if err := s.sessions.Destroy(sctx); err != nil {
				return nil, s.sessionFailed(ctx, "end session", err)
			}
		}
	}
	return s.sessionCookie("", time.Time{}), nil
}

// sessionFailed logs a session store error (Redis and the database both
// failing) and returns ErrSessionUnavailable: the cause is not the
// client's business.
func (s *Service) sessionFailed(ctx context.Context, doing string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	s.log.WarnContext(ctx, doing, "err", err)
	return fmt.Errorf("%w: %s", ErrSessionUnavailable, doing)
}

// sessionCookie is the cookie scs's LoadAndSave would write for token and
// expiry: an empty token deletes the cookie.
func (s *Service) sessionCookie(token string, expiry time.Time) *http.Cookie {
	sc := s.sessions.Cookie
	c := &http.Cookie{Name: sc.Name, Value: token, Domain: sc.Domain, Path: sc.Path,
		HttpOnly: sc.HttpOnly, Secure: sc.Secure, SameSite: sc.SameSite, Partitioned: sc.Partitioned}
	switch {
	case expiry.IsZero():
		c.Expires = time.Unix(1, 0)
		c.MaxAge = -1
	case sc.Persist:
		c.Expires = time.Unix(expiry.Unix()+1, 0)
		c.MaxAge = int(time.Until(expiry).Seconds() + 1) // scs keeps expiries in real time
	}
	return c
}
