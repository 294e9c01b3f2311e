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
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// resetLimit bounds password reset emails per account: a reset request
// for an account over it is answered like any other but sends nothing.
var resetLimit = Limit{Failures: 3, Window: 15 * time.Minute}

// Register creates a customer account, announces it
// (identity.customer_registered.v1) and asks for its address to be verified
// (identity.email_verification_requested.v1, with a one-time token of
// VerifyTTL for the mail; see verification.go): the order service gives
// the account the address's guest orders once it is. An address that already has an account in the
// store is ErrEmailTaken, which the HTTP API answers exactly like a new
// account (see registerOp): the work is the same in both cases, hashing
// included, so that neither the answer nor its time tells them apart. It
// signs no one in: the customer logs in next.
func (s *Service) Register(ctx context.Context, in identityapi.Register) (identityapi.Customer, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Customer{}, err
	}
	email, err := s.checkNewAccount(in.Email, in.Name, in.Password)
	if err != nil {
		return identityapi.Customer{}, err
	}
	// Hashing takes ~100 ms: before the transaction, not holding the
	// writer, and for a known address too (the insert finds it).
	hash := hashPassword(in.Password, s.cfg.Argon2)
	now := s.now()
	row := identitydb.Customer{TenantID: tenant, ID: kit.NewID(), Email: email, Name: in.Name, PasswordHash: hash,
		CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)}
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		err := q.InsertCustomer(ctx, identitydb.InsertCustomerParams{TenantID: tenant, ID: row.ID, Email: row.Email,
			Name: row.Name, PasswordHash: row.PasswordHash, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt})
		if sqldb.IsUniqueViolation(err) {
			return emailTaken()
		}
		if err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		if err := addEvent(ctx, tx, identityapi.SubjectCustomerRegistered, now, identityapi.CustomerRegistered{
			CustomerID: row.ID, Email: row.Email, Name: row.Name}); err != nil {
			return err
		}
		return s.addVerification(ctx, tx, q, tenant, row, now)
	})
	if err != nil {
		return identityapi.Customer{}, fmt.Errorf("register customer: %w", err)
	}
	s.log.DebugContext(ctx, "customer registered", "tenant", tenant, "customer_id", row.ID)
	return toCustomer(row), nil
}

// Customer returns a customer of the tenant in ctx, or ErrNotFound.
func (s *Service) Customer(ctx context.Context, id string) (identityapi.Customer, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Customer{}, err
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: id})
	})
	if err != nil {
		return identityapi.Customer{}, noRows(err, ErrNotFound, "load customer")
	}
	return toCustomer(row), nil
}

// UpdateProfile changes a customer's name and phone; absent fields stay.
func (s *Service) UpdateProfile(ctx context.Context, id string, in identityapi.ProfileUpdate) (identityapi.Customer, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Customer{}, err
	}
	var checks []*kit.FieldError
	if in.Name != nil {
		checks = append(checks, checkText("name", *in.Name, identityapi.MaxNameLength, true))
	}
	if in.Phone != nil {
		checks = append(checks, checkPhone("phone", *in.Phone))
	}
	if err := texts(checks...); err != nil {
		return identityapi.Customer{}, err
	}
	var out identityapi.Customer
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		row, err := q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: id})
		if err != nil {
			return noRows(err, ErrNotFound, "load customer")
		}
		if in.Name != nil {
			row.Name = *in.Name
		}
		if in.Phone != nil {
			row.Phone = *in.Phone
		}
		row.UpdatedAt = sqldb.Micros(s.now())
		if _, err := q.UpdateCustomerProfile(ctx, identitydb.UpdateCustomerProfileParams{
			Name: row.Name, Phone: row.Phone, UpdatedAt: row.UpdatedAt, TenantID: tenant, ID: id}); err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		out = toCustomer(row)
		return nil
	})
	if err != nil {
		return identityapi.Customer{}, fmt.Errorf("update profile: %w", err)
	}
	return out, nil
}

// ChangePassword replaces a signed-in customer's password after checking
// the current one, revokes every session of the account (a password change
// is what one does when a device is lost) and returns a new session for
// the caller. A wrong current password counts as a failed login.
func (s *Service) ChangePassword(ctx context.Context, id string, in identityapi.PasswordChange, ip string) (identityapi.Tokens, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: id})
	})
	if err != nil {
		return identityapi.Tokens{}, noRows(err, ErrNotFound, "load customer")
	}
	if _, _, err := s.authenticate(ctx, tenant, auth.KindCustomer, row.Email, in.CurrentPassword, ip, func(string) (credentials, error) {
		return credentials{id: row.ID, hash: row.PasswordHash, active: true}, nil
	}); err != nil {
		return identityapi.Tokens{}, fmt.Errorf("change password: %w", err)
	}
	if err := s.checkNewPassword("new_password", in.NewPassword, row.Email); err != nil {
		return identityapi.Tokens{}, err
	}
	return s.setPassword(ctx, tenant, id, hashPassword(in.NewPassword, s.cfg.Argon2), "")
}

// setPassword stores a customer's new hash, revokes every session and
// every open reset token, consumes resetHash (a reset token) if given,
// and opens a new session.
func (s *Service) setPassword(ctx context.Context, tenant, id, hash, resetHash string) (identityapi.Tokens, error) {
	var out identityapi.Tokens
	err := s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		now := s.now()
		if resetHash != "" {
			cid, err := q.UsePasswordReset(ctx, identitydb.UsePasswordResetParams{Now: sqldb.NullMicros(&now), TenantID: tenant, TokenHash: resetHash})
			if err != nil {
				return noRows(err, badToken(ErrInvalidResetToken), "use reset token")
			}
			if cid != id {
				return badToken(ErrInvalidResetToken)
			}
		}
		n, err := q.SetCustomerPassword(ctx, identitydb.SetCustomerPasswordParams{PasswordHash: hash, UpdatedAt: sqldb.Micros(now), TenantID: tenant, ID: id})
		if err != nil {
			return fmt.Errorf("store password: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := q.ExpireCustomerResets(ctx, identitydb.ExpireCustomerResetsParams{Now: sqldb.NullMicros(&now), TenantID: tenant, CustomerID: id}); err != nil {
			return fmt.Errorf("expire reset tokens: %w", err)
		}
		if err := s.revokeAccount(ctx, q, tenant, auth.KindCustomer, id); err != nil {
			return err
		}
		out, err = s.issue(ctx, q, tenant, account{kind: auth.KindCustomer, id: id}, "", "")
		return err
	})
	if err != nil {
		return identityapi.Tokens{}, fmt.Errorf("set password: %w", err)
	}
	return out, nil
}

// RequestPasswordReset starts a password reset: when the email belongs to a
// customer, it stores a one-time token (ResetTTL) and announces it
// (identity.password_reset_requested.v1, with the raw token, for the
// email). An unknown email does nothing, without saying so.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	em, err := normalizeEmail("email", email)
	if err != nil {
		return err
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomerByEmail(ctx, identitydb.GetCustomerByEmailParams{TenantID: tenant, Email: em})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("request password reset: load customer: %w", err)
	}
	key := "reset:" + tenant + ":" + em
	if wait, err := s.throttle.Blocked(ctx, key, resetLimit); err == nil && wait > 0 {
		s.log.InfoContext(ctx, "password reset throttled", "tenant", tenant, "customer_id", row.ID)
		return nil
	}
	_ = s.throttle.Fail(ctx, key, resetLimit) // best effort, like the check
	raw := newSecret()
	now := s.now()
	expires := now.Add(s.cfg.ResetTTL)
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		if err := q.InsertPasswordReset(ctx, identitydb.InsertPasswordResetParams{TenantID: tenant, TokenHash: tokenHash(raw),
			CustomerID: row.ID, ExpiresAt: sqldb.Micros(expires), CreatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("store reset token: %w", err)
		}
		return addEvent(ctx, tx, identityapi.SubjectPasswordResetRequested, now, identityapi.PasswordResetRequested{
			CustomerID: row.ID, Email: row.Email, Token: raw, ExpiresAt: expires.UTC()})
	})
	if err != nil {
		return fmt.Errorf("request password reset: %w", err)
	}
	return nil
}

// ConfirmPasswordReset sets a new password with a reset token, which it
// uses up, revokes every session of the account and signs the customer in.
// A weak password leaves the token usable.
func (s *Service) ConfirmPasswordReset(ctx context.Context, in identityapi.PasswordResetConfirm) (identityapi.Tokens, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Tokens{}, err
	}
	hash := tokenHash(in.Token)
	rs, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.PasswordReset, error) {
		return q.GetPasswordReset(ctx, identitydb.GetPasswordResetParams{TenantID: tenant, TokenHash: hash})
	})
	if err != nil {
		return identityapi.Tokens{}, noRows(err, badToken(ErrInvalidResetToken), "load reset token")
	}
	if rs.UsedAt.Valid || rs.ExpiresAt <= sqldb.Micros(s.now()) {
		return identityapi.Tokens{}, badToken(ErrInvalidResetToken)
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Customer, error) {
		return q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: rs.CustomerID})
	})
	if err != nil {
		return identityapi.Tokens{}, noRows(err, badToken(ErrInvalidResetToken), "load customer")
	}
	if err := s.checkNewPassword("new_password", in.NewPassword, row.Email); err != nil {
		return identityapi.Tokens{}, err
	}
	// setPassword uses the token up in its transaction: of two confirmations
	// racing, one wins.
	return s.setPassword(ctx, tenant, row.ID, hashPassword(in.NewPassword, s.cfg.Argon2), hash)
}

// checkNewAccount checks the fields of a new account, as a customer
// registers one or signup creates a store's owner: an email (returned
// normalized), a name and a password fit for that email.
func (s *Service) checkNewAccount(email, name, password string) (string, error) {
	email, err := normalizeEmail("email", email)
	if err != nil {
		return "", err
	}
	if err := texts(checkText("name", name, identityapi.MaxNameLength, true)); err != nil {
		return "", err
	}
	if err := s.checkNewPassword("password", password, email); err != nil {
		return "", err
	}
	return email, nil
}
