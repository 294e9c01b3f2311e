package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Sessions: a login issues an access token (a JWT, AccessTTL) and a refresh
// token (32 random bytes, RefreshTTL) that starts a new family. Each
// refresh marks its token used and issues the next of the family; a used
// token presented again means two parties hold the family (a stolen copy),
// so the whole family is revoked and both must log in again.

// account is who a session belongs to.
type account struct {
	kind auth.Kind // KindCustomer or KindStaff
	id   string
	role auth.Role // staff only
}

// issue adds a refresh token to family (a new family when family is "")
// in tx and signs an access token for a.
func (s *Service) issue(ctx context.Context, q *identitydb.Queries, tenant string, a account, family, parent string) (identityapi.Tokens, error) {
	kid, key, err := s.keys.signer(ctx)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	now := s.now()
	if family == "" {
		family = kit.NewID()
	}
	refresh := newSecret()
	err = q.InsertRefreshToken(ctx, identitydb.InsertRefreshTokenParams{
		TenantID: tenant, TokenHash: tokenHash(refresh), FamilyID: family, ParentHash: parent,
		AccountKind: string(a.kind), AccountID: a.id, ExpiresAt: sqldb.Micros(now.Add(s.cfg.RefreshTTL)), CreatedAt: sqldb.Micros(now),
	})
	if err != nil {
		return identityapi.Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	c := auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    auth.Issuer,
			Subject:   a.id,
			Audience:  jwt.ClaimStrings{auth.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			ID:        kit.NewID(),
		},
		Tenant: tenant,
		Kind:   a.kind,
		Role:   a.role,
	}
	access, err := auth.Sign(key, kid, c)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	return identityapi.Tokens{AccessToken: access, RefreshToken: refresh, TokenType: identityapi.TokenType,
		ExpiresIn: int64(s.cfg.AccessTTL / time.Second)}, nil
}

// Refresh exchanges a refresh token for new tokens (the refresh token is
// rotated). A used token revokes its family and fails with
// ErrRefreshTokenReused; an unknown, expired or revoked one, or one of an
// account that is gone or deactivated, fails with ErrInvalidRefreshToken.
func (s *Service) Refresh(ctx context.Context, raw string) (identityapi.Tokens, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	var out identityapi.Tokens
	var reused bool
	var fail error
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		reused, fail = false, nil
		now := s.now()
		hash := tokenHash(raw)
		rt, err := q.GetRefreshToken(ctx, identitydb.GetRefreshTokenParams{TenantID: tenant, TokenHash: hash})
		if err != nil {
			return noRows(err, ErrInvalidRefreshToken, "load refresh token")
		}
		if rt.RevokedAt.Valid || rt.ExpiresAt <= sqldb.Micros(now) {
			return ErrInvalidRefreshToken
		}
		revoke := func(err error) error {
			// Commit the revocation, then fail: fail is returned after Tx.
			fail = err
			_, rerr := q.RevokeFamily(ctx, identitydb.RevokeFamilyParams{Now: sqldb.NullMicros(&now), TenantID: tenant, FamilyID: rt.FamilyID})
			return rerr
		}
		if rt.UsedAt.Valid {
			reused = true
			return revoke(ErrRefreshTokenReused)
		}
		n, err := q.UseRefreshToken(ctx, identitydb.UseRefreshTokenParams{Now: sqldb.NullMicros(&now), TenantID: tenant, TokenHash: hash})
		if err != nil {
			return fmt.Errorf("use refresh token: %w", err)
		}
		if n == 0 { // a concurrent refresh used it first
			reused = true
			return revoke(ErrRefreshTokenReused)
		}
		a := account{kind: auth.Kind(rt.AccountKind), id: rt.AccountID}
		switch a.kind {
		case auth.KindCustomer:
			if _, err := q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: a.id}); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return revoke(ErrInvalidRefreshToken)
				}
				return fmt.Errorf("load customer: %w", err)
			}
		case auth.KindStaff:
			m, err := q.GetStaff(ctx, identitydb.GetStaffParams{TenantID: tenant, ID: a.id})
			if errors.Is(err, sql.ErrNoRows) || (err == nil && m.Status != identityapi.StatusActive) {
				return revoke(ErrInvalidRefreshToken)
			}
			if err != nil {
				return fmt.Errorf("load staff: %w", err)
			}
			a.role = auth.Role(m.Role) // a role change applies from the next refresh
		default:
			return fmt.Errorf("refresh token of unknown account kind %q", rt.AccountKind)
		}
		out, err = s.issue(ctx, q, tenant, a, rt.FamilyID, hash)
		return err
	})
	if err == nil {
		err = fail
	}
	if err != nil {
		if reused {
			s.log.WarnContext(ctx, "refresh token reused; family revoked", "tenant", tenant)
		}
		return identityapi.Tokens{}, fmt.Errorf("refresh session: %w", err)
	}
	return out, nil
}

// Logout revokes the family of a refresh token. Unknown tokens are
// ignored: logging out twice is no error, and the answer says nothing
// about which tokens exist.
func (s *Service) Logout(ctx context.Context, raw string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		rt, err := q.GetRefreshToken(ctx, identitydb.GetRefreshTokenParams{TenantID: tenant, TokenHash: tokenHash(raw)})
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		now := s.now()
		_, err = q.RevokeFamily(ctx, identitydb.RevokeFamilyParams{Now: sqldb.NullMicros(&now), TenantID: tenant, FamilyID: rt.FamilyID})
		return err
	})
	if err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}

// revokeAccount revokes every session of an account in tx.
func (s *Service) revokeAccount(ctx context.Context, q *identitydb.Queries, tenant string, kind auth.Kind, id string) error {
	now := s.now()
	_, err := q.RevokeAccountTokens(ctx, identitydb.RevokeAccountTokensParams{
		Now: sqldb.NullMicros(&now), TenantID: tenant, AccountKind: string(kind), AccountID: id})
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// Prune deletes refresh and reset tokens past their expiry and signing keys
// retired longer ago than an access token lives (plus leeway), across all
// tenants: it is the deployment's housekeeping, not a tenant's request.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	err := s.st.Write(sqldb.AllTenants(ctx), func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		if _, err := q.PruneRefreshTokens(ctx, sqldb.Micros(now)); err != nil {
			return err
		}
		if _, err := q.PrunePasswordResets(ctx, sqldb.Micros(now)); err != nil {
			return err
		}
		_, err := q.PruneEmailVerifications(ctx, sqldb.Micros(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("prune expired tokens: %w", err)
	}
	n, err := s.keys.prune(ctx, now.Add(-s.keys.publishFor()))
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.InfoContext(ctx, "retired signing keys pruned", "count", n)
		return s.keys.reload(ctx)
	}
	return nil
}
