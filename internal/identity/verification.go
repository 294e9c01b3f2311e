package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Email verification: registration stores a one-time token (its hash, like
// a reset token's) and announces it with the raw token
// (identity.email_verification_requested.v1), which the notify service
// mails as a link to the store's /account/verify-email page. Confirming it
// sets the customer's email_verified_at and announces
// identity.customer_email_verified.v1, on which the order service gives
// the account the guest orders of the address: only someone who can read
// the address's mail gets them (docs/decisions/0026).

// resendGap is how soon after a verification email a resend sends nothing
// new: a double click, or an impatient second one, gets the first mail.
const resendGap = time.Minute

// verifyLimit bounds verification emails per account beyond resendGap.
var verifyLimit = Limit{Failures: 5, Window: time.Hour}

// addVerification stores a new verification token for the customer's
// address in tx and announces it with the raw token.
func (s *Service) addVerification(ctx context.Context, tx *sql.Tx, q *identitydb.Queries, tenant string, c identitydb.Customer, now time.Time) error {
	raw := newSecret()
	expires := now.Add(s.cfg.VerifyTTL)
	if err := q.InsertEmailVerification(ctx, identitydb.InsertEmailVerificationParams{TenantID: tenant, TokenHash: tokenHash(raw),
		CustomerID: c.ID, Email: c.Email, ExpiresAt: sqldb.Micros(expires), CreatedAt: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("store verification token: %w", err)
	}
	return addEvent(ctx, tx, identityapi.SubjectEmailVerificationRequested, now, identityapi.EmailVerificationRequested{
		CustomerID: c.ID, Email: c.Email, Name: c.Name, Token: raw, ExpiresAt: expires.UTC()})
}

// VerifyEmail confirms a customer's address with the token of the
// verification email, which it uses up (with every other open token of
// the customer), and announces identity.customer_email_verified.v1. An
// unknown, used or expired token is ErrInvalidVerificationToken.
func (s *Service) VerifyEmail(ctx context.Context, token string) (identityapi.EmailVerified, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.EmailVerified{}, err
	}
	var out identityapi.EmailVerified
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		now := s.now()
		// One statement marks the token used: of two confirmations
		// racing, one wins and the other is refused.
		v, err := q.UseEmailVerification(ctx, identitydb.UseEmailVerificationParams{Now: sqldb.NullMicros(&now), TenantID: tenant, TokenHash: tokenHash(token)})
		if err != nil {
			return noRows(err, badToken(ErrInvalidVerificationToken), "use verification token")
		}
		n, err := q.SetCustomerEmailVerified(ctx, identitydb.SetCustomerEmailVerifiedParams{
			VerifiedAt: sql.NullInt64{Int64: sqldb.Micros(now), Valid: true}, TenantID: tenant, ID: v.CustomerID, Email: v.Email})
		if err != nil {
			return fmt.Errorf("mark email verified: %w", err)
		}
		if n == 0 {
			// Verified already (by a token of another mail) or the
			// address is no longer the account's: nothing to prove.
			return badToken(ErrInvalidVerificationToken)
		}
		if err := q.ExpireCustomerVerifications(ctx, identitydb.ExpireCustomerVerificationsParams{Now: sqldb.NullMicros(&now), TenantID: tenant, CustomerID: v.CustomerID}); err != nil {
			return fmt.Errorf("expire verification tokens: %w", err)
		}
		out = identityapi.EmailVerified{Email: v.Email, VerifiedAt: sqldb.FromMicros(sqldb.Micros(now))}
		return addEvent(ctx, tx, identityapi.SubjectCustomerEmailVerified, now, identityapi.CustomerEmailVerified{
			CustomerID: v.CustomerID, Email: v.Email, VerifiedAt: out.VerifiedAt})
	})
	if err != nil {
		return identityapi.EmailVerified{}, fmt.Errorf("verify email: %w", err)
	}
	s.log.InfoContext(ctx, "customer email verified", "tenant", tenant)
	return out, nil
}

// ResendVerification sends the customer a new verification email unless
// the address is verified already (ResendAlreadyVerified) or one was sent
// less than resendGap ago or too many lately (ResendRecentlySent: the last
// link still works). Earlier tokens stay valid until they expire.
func (s *Service) ResendVerification(ctx context.Context, id string) (string, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return "", err
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: id})
	})
	if err != nil {
		return "", noRows(err, ErrNotFound, "load customer")
	}
	if row.EmailVerifiedAt.Valid {
		return identityapi.ResendAlreadyVerified, nil
	}
	key := "verify:" + tenant + ":" + id
	if wait, err := s.throttle.Blocked(ctx, key, verifyLimit); err == nil && wait > 0 {
		return identityapi.ResendRecentlySent, nil
	}
	status := identityapi.ResendSent
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		now := s.now()
		last, err := q.LatestEmailVerification(ctx, identitydb.LatestEmailVerificationParams{TenantID: tenant, CustomerID: id})
		switch {
		case err == nil && now.Sub(sqldb.FromMicros(last)) < resendGap:
			status = identityapi.ResendRecentlySent
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("load last verification: %w", err)
		}
		return s.addVerification(ctx, tx, q, tenant, row, now)
	})
	if err != nil {
		return "", fmt.Errorf("resend verification: %w", err)
	}
	if status == identityapi.ResendSent {
		_ = s.throttle.Fail(ctx, key, verifyLimit) // best effort, like the check
	}
	return status, nil
}
