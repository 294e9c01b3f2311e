package identity

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestEmailVerification: registration mails a one-time token (an outbox
// event, its hash stored); the token verifies the address once and
// announces it; a used, unknown or expired token is refused; a resend is
// sent only when it is of use.
func TestEmailVerification(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tctx(t, "default")
		count := func(subject string) int {
			t.Helper()
			var n int
			if err := queryRow(ctx, db, "SELECT COUNT(*) FROM outbox WHERE subject = '"+subject+"'", &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		lastToken := func() string {
			t.Helper()
			var data string
			if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectEmailVerificationRequested+"' ORDER BY id DESC LIMIT 1", &data); err != nil {
				t.Fatalf("verification event: %v", err)
			}
			return eventField(t, data, "token")
		}
		reg, err := s.Register(ctx, identityapi.Register{Email: "Ada@Example.com", Password: goodPW, Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		if reg.EmailVerified || reg.EmailVerifiedAt != nil || count(identityapi.SubjectEmailVerificationRequested) != 1 {
			t.Fatalf("registered: %+v, %d verification events", reg, count(identityapi.SubjectEmailVerificationRequested))
		}
		raw := lastToken()
		var stored int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM email_verifications WHERE token_hash = '"+raw+"'", &stored); err != nil || stored != 0 {
			t.Fatalf("the raw token is stored: %d, %v", stored, err)
		}
		// A resend right away sends nothing: the first mail is on its way.
		if st, err := s.ResendVerification(ctx, reg.ID); err != nil || st != identityapi.ResendRecentlySent {
			t.Fatalf("resend at once: %q, %v", st, err)
		}
		clk.add(resendGap + time.Second)
		if st, err := s.ResendVerification(ctx, reg.ID); err != nil || st != identityapi.ResendSent {
			t.Fatalf("resend later: %q, %v", st, err)
		}
		second := lastToken()
		if second == raw || count(identityapi.SubjectEmailVerificationRequested) != 2 {
			t.Fatal("a resend sent no new token")
		}

		if _, err := s.VerifyEmail(ctx, "not-a-token"); !errors.Is(err, ErrInvalidVerificationToken) {
			t.Fatalf("unknown token: %v", err)
		}
		// The first mail's token still works.
		v, err := s.VerifyEmail(ctx, raw)
		if err != nil || v.Email != "ada@example.com" || v.VerifiedAt.IsZero() {
			t.Fatalf("verify: %+v, %v", v, err)
		}
		c, err := s.Customer(ctx, reg.ID)
		if err != nil || !c.EmailVerified || c.EmailVerifiedAt == nil || !c.EmailVerifiedAt.Equal(v.VerifiedAt) {
			t.Fatalf("customer after verifying: %+v, %v", c, err)
		}
		if n := count(identityapi.SubjectCustomerEmailVerified); n != 1 {
			t.Fatalf("%d verified events, want 1", n)
		}
		// Used, or used up by the verification: refused, nothing announced.
		for name, tok := range map[string]string{"used": raw, "other mail's": second} {
			if _, err := s.VerifyEmail(ctx, tok); !errors.Is(err, ErrInvalidVerificationToken) {
				t.Errorf("%s token: %v", name, err)
			}
		}
		if n := count(identityapi.SubjectCustomerEmailVerified); n != 1 {
			t.Fatalf("%d verified events after refusals, want 1", n)
		}
		if st, err := s.ResendVerification(ctx, reg.ID); err != nil || st != identityapi.ResendAlreadyVerified {
			t.Fatalf("resend when verified: %q, %v", st, err)
		}

		// Expiry.
		if _, err := s.Register(ctx, identityapi.Register{Email: "bob@example.com", Password: goodPW, Name: "Bob"}); err != nil {
			t.Fatal(err)
		}
		late := lastToken()
		clk.add(s.cfg.VerifyTTL + time.Second)
		if _, err := s.VerifyEmail(ctx, late); !errors.Is(err, ErrInvalidVerificationToken) {
			t.Fatalf("expired token: %v", err)
		}
		// Another store's token means nothing here.
		other := tctx(t, "other")
		if _, err := s.Register(other, identityapi.Register{Email: "eve@example.com", Password: goodPW, Name: "Eve"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyEmail(ctx, lastToken()); !errors.Is(err, ErrInvalidVerificationToken) {
			t.Fatalf("another store's token: %v", err)
		}
	}, Migrations...)
}

// TestVerificationClient walks email verification and password reset
// through the typed client and the HTTP routes: the refusals are problem
// answers the client maps to ErrInvalidToken and ErrWeakPassword, and the
// resend is the signed-in customer's alone.
func TestVerificationClient(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		srv := newHTTPServer(t, s)
		c := identityapi.NewClient(srv.URL, nil)
		ctx := tenancy.WithID(t.Context(), "default")
		if _, err := c.Register(ctx, identityapi.Register{Email: "ada@example.com", Password: goodPW, Name: "Ada"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ResendVerification(ctx); !apiclient.IsStatus(err, http.StatusUnauthorized) {
			t.Fatalf("resend without a customer: %v, want 401", err)
		}
		tok, err := c.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		ada := apiclient.WithToken(ctx, tok.AccessToken)
		if me, err := c.Me(ada); err != nil || me.EmailVerified {
			t.Fatalf("me before verifying: %+v, %v", me, err)
		}
		clk.add(resendGap + time.Second)
		if st, err := c.ResendVerification(ada); err != nil || st != identityapi.ResendSent {
			t.Fatalf("resend: %q, %v", st, err)
		}
		var data string
		if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectEmailVerificationRequested+"' ORDER BY id DESC LIMIT 1", &data); err != nil {
			t.Fatal(err)
		}
		raw := eventField(t, data, "token")
		if v, err := c.VerifyEmail(ctx, raw); err != nil || v.Email != "ada@example.com" {
			t.Fatalf("verify: %+v, %v", v, err)
		}
		_, err = c.VerifyEmail(ctx, raw)
		var ae *apiclient.Error
		if !errors.Is(err, identityapi.ErrInvalidToken) || !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != "invalid_verification_token" {
			t.Fatalf("verify twice: %v, want 422 invalid_verification_token", err)
		}
		if me, err := c.Me(ada); err != nil || !me.EmailVerified || me.EmailVerifiedAt == nil {
			t.Fatalf("me after verifying: %+v, %v", me, err)
		}
		if st, err := c.ResendVerification(ada); err != nil || st != identityapi.ResendAlreadyVerified {
			t.Fatalf("resend when verified: %q, %v", st, err)
		}

		// Password reset through the client.
		if err := c.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectPasswordResetRequested+"' ORDER BY id DESC LIMIT 1", &data); err != nil {
			t.Fatal(err)
		}
		reset := eventField(t, data, "token")
		if _, err := c.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: reset, NewPassword: "password123"}); !errors.Is(err, identityapi.ErrWeakPassword) {
			t.Fatalf("weak reset: %v", err)
		}
		if t2, err := c.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: reset, NewPassword: "a fresh good password"}); err != nil || t2.AccessToken == "" {
			t.Fatalf("reset: %v", err)
		}
		if _, err := c.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: reset, NewPassword: "a fresh good password"}); !errors.Is(err, identityapi.ErrInvalidToken) {
			t.Fatalf("reset twice: %v, want ErrInvalidToken", err)
		}
	}, Migrations...)
}
