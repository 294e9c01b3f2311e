package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
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
