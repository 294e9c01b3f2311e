package payment

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

func usd(a int64) money.Money { return money.Money{Amount: a, Currency: "USD"} }

// wantDecline fails unless err is a decline for reason.
func wantDecline(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var d *DeclineError
	if !errors.As(err, &d) || d.Reason != reason {
		t.Errorf("%s: got %v, want a decline %q", what, err, reason)
	}
}

// TestFakeIsDurable: the fake keeps its authorizations and the outcomes of
// its idempotency keys in the database, so a fake started again on it (a
// restarted process) captures, voids and refunds what the first made, and
// answers a repeated key with the first outcome.
func TestFakeIsDurable(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tctx(t)
		before := NewFake(db, 0, "whsec_test")
		a1, err := before.Authorize(ctx, AuthRequest{Amount: eur(5000), Token: TokenVisa, IdempotencyKey: "auth-1"})
		if err != nil {
			t.Fatal(err)
		}
		a2, err := before.Authorize(ctx, AuthRequest{Amount: eur(3000), Token: TokenVisa, IdempotencyKey: "auth-2"})
		if err != nil {
			t.Fatal(err)
		}
		if err := before.Capture(ctx, a1.Ref, eur(2000), "cap-1"); err != nil {
			t.Fatal(err)
		}
		_, err = before.Authorize(ctx, AuthRequest{Amount: eur(100), Token: TokenDeclined, IdempotencyKey: "auth-declined"})
		wantDecline(t, "declined card", err, "declined")

		after := NewFake(db, 0, "whsec_test") // the process restarted
		if again, err := after.Authorize(ctx, AuthRequest{Amount: eur(5000), Token: TokenVisa, IdempotencyKey: "auth-1"}); err != nil || again.Ref != a1.Ref {
			t.Errorf("repeated authorize after restart: %+v, %v; want ref %s", again, err, a1.Ref)
		}
		_, err = after.Authorize(ctx, AuthRequest{Amount: eur(100), Token: TokenVisa, IdempotencyKey: "auth-declined"})
		wantDecline(t, "repeated declined authorize after restart", err, "declined")
		if err := after.Capture(ctx, a1.Ref, eur(2000), "cap-1"); err != nil {
			t.Errorf("repeated capture after restart: %v", err)
		}
		wantDecline(t, "capture above what is left", after.Capture(ctx, a1.Ref, eur(3001), "cap-2"), "amount_too_large")
		if err := after.Capture(ctx, a1.Ref, eur(3000), "cap-3"); err != nil {
			t.Fatalf("capture of the rest after restart: %v", err)
		}
		r1, err := after.Refund(ctx, a1.Ref, eur(4000), "ref-1")
		if err != nil || r1 == "" {
			t.Fatalf("refund after restart: %q, %v", r1, err)
		}
		if again, err := after.Refund(ctx, a1.Ref, eur(4000), "ref-1"); err != nil || again != r1 {
			t.Errorf("repeated refund: %q, %v; want %q", again, err, r1)
		}
		_, err = after.Refund(ctx, a1.Ref, eur(1001), "ref-2")
		wantDecline(t, "refund above what is left", err, "amount_too_large")
		_, err = after.Refund(ctx, a1.Ref, usd(1000), "ref-3")
		wantDecline(t, "refund in another currency", err, "currency_mismatch")
		wantDecline(t, "void of a captured authorization", after.Void(ctx, a1.Ref, "void-1"), "already_captured")

		if open := held(t, after, ctx, a2.Ref); !open {
			t.Fatal("the second authorization is not held after restart")
		}
		if err := after.Void(ctx, a2.Ref, "void-2"); err != nil {
			t.Fatalf("void after restart: %v", err)
		}
		wantDecline(t, "capture of a voided authorization", after.Capture(ctx, a2.Ref, eur(1), "cap-4"), "authorization_voided")
		wantDecline(t, "capture of an unknown authorization", after.Capture(ctx, "fake_auth_nothing", eur(1), "cap-5"), "unknown_authorization")
		if n := openAuths(t, after, ctx); n != 0 {
			t.Errorf("%d open authorizations, want 0", n)
		}

		// A key sent again for another operation, amount or authorization
		// is refused, and changes nothing.
		for _, reuse := range []struct {
			name string
			err  error
		}{
			{"capture key with another amount", after.Capture(ctx, a1.Ref, eur(1999), "cap-1")},
			{"capture key for another authorization", after.Capture(ctx, a2.Ref, eur(2000), "cap-1")},
			{"capture key for a void", after.Void(ctx, a1.Ref, "cap-1")},
			{"authorize key with another amount", func() error {
				_, err := after.Authorize(ctx, AuthRequest{Amount: eur(5001), Token: TokenVisa, IdempotencyKey: "auth-1"})
				return err
			}()},
		} {
			var d *DeclineError
			if reuse.err == nil || errors.As(reuse.err, &d) || !errors.Is(reuse.err, errFakeKeyReused) {
				t.Errorf("%s: got %v, want a refusal of the key", reuse.name, reuse.err)
			}
		}
	}, Migrations...)
}

// TestFakeReferences: references are random, not counters, and each
// tenant sees only its own authorizations.
func TestFakeReferences(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		fake := NewFake(db, 0, "whsec_test")
		ctx := tctx(t)
		seen := map[string]bool{}
		for i := range 20 {
			res, err := fake.Authorize(ctx, AuthRequest{Amount: eur(100), Token: TokenVisa, IdempotencyKey: fmt.Sprintf("k-%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			rest, ok := strings.CutPrefix(res.Ref, "fake_auth_")
			if !ok || len(rest) < 26 || seen[res.Ref] {
				t.Fatalf("reference %q: want fake_auth_ and at least 128 random bits, unique", res.Ref)
			}
			seen[res.Ref] = true
		}
		var ref string
		for r := range seen {
			ref = r
			break
		}
		other := tenancy.WithID(t.Context(), "other")
		wantDecline(t, "another tenant's authorization", fake.Capture(other, ref, eur(100), "steal"), "unknown_authorization")
		if !held(t, fake, ctx, ref) {
			t.Error("another tenant's capture changed the authorization")
		}
	}, Migrations...)
}

// TestFakeConcurrentCalls: concurrent captures never together pass the
// authorized amount, and concurrent calls with one key act once.
func TestFakeConcurrentCalls(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		fake := NewFake(db, 0, "whsec_test")
		ctx := tctx(t)
		a, err := fake.Authorize(ctx, AuthRequest{Amount: eur(1000), Token: TokenVisa, IdempotencyKey: "auth"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			wg.Go(func() { errs[i] = fake.Capture(ctx, a.Ref, eur(300), fmt.Sprintf("cap-%d", i)) })
			wg.Go(func() { errs[n+i] = fake.Capture(ctx, a.Ref, eur(100), "same-key") })
		}
		wg.Wait()
		ok := 0
		for i, err := range errs[:n] {
			if err == nil {
				ok++
			} else {
				wantDecline(t, fmt.Sprintf("capture %d", i), err, "amount_too_large")
			}
		}
		for i, err := range errs[n:] {
			if err != nil {
				t.Errorf("capture %d with the shared key: %v", i, err)
			}
		}
		// 100 went to the shared key once; 900 is left for at most three
		// captures of 300.
		if ok != 3 {
			t.Errorf("%d captures of 300 succeeded, want 3", ok)
		}
		wantDecline(t, "capture past the amount", fake.Capture(ctx, a.Ref, eur(1), "last"), "amount_too_large")
	}, Migrations...)
}

// TestServiceAfterRestart: a payment authorized before the process
// restarted is captured, refunded and voided after it, through a new
// service on the same database.
func TestServiceAfterRestart(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tctx(t)
		open := func() *Service {
			svc, err := New(t.Context(), Config{Fake: FakeOn, FakeWebhookSecret: "whsec_test"}, Deps{Deps: kit.Deps{DB: db}})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		first := open()
		for _, o := range []string{"o-ship", "o-cancel"} {
			mustAuthorize(t, first, ctx, o, 2500)
		}
		second := open()
		p, err := second.Capture(ctx, "o-ship", paymentapi.CaptureRequest{Amount: eur(2500), Key: "ship"})
		if err != nil || p.Status != paymentapi.StatusCaptured {
			t.Fatalf("capture after restart: %+v, %v", p, err)
		}
		if p, err = second.Refund(ctx, "o-ship", paymentapi.RefundRequest{Amount: eur(2500), Key: "return"}); err != nil || p.Status != paymentapi.StatusRefunded {
			t.Fatalf("refund after restart: %+v, %v", p, err)
		}
		if p, err = second.Void(ctx, "o-cancel"); err != nil || p.Status != paymentapi.StatusVoided {
			t.Fatalf("void after restart: %+v, %v", p, err)
		}
		a := auditClean(t, second, ctx)
		if a.AuthorizedWithoutCaptureOrVoid != 0 {
			t.Errorf("audit: %+v", a)
		}
	}, Migrations...)
}

// TestFakeShapeRule: the fake provider runs by default in the laptop shape
// only; an explicit true or false wins; enabled elsewhere, it is announced
// as a warning. The flag takes true, false and auto, and alone means true.
func TestFakeShapeRule(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		laptop   bool
		want     bool
		wantWarn bool
	}{
		{nil, true, true, false},
		{nil, false, false, false},
		{[]string{"--payment.fake=auto"}, true, true, false},
		{[]string{"--payment.fake=auto"}, false, false, false},
		{[]string{"--payment.fake"}, false, true, true},
		{[]string{"--payment.fake=true"}, false, true, true},
		{[]string{"--payment.fake=false"}, true, false, false},
		{[]string{"--payment.fake=0"}, true, false, false},
	} {
		t.Run(fmt.Sprintf("%v laptop=%v", tc.args, tc.laptop), func(t *testing.T) {
			var cfg Config
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			cfg.RegisterFlags(fs, "payment.")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg.Laptop = tc.laptop
			if got := cfg.FakeEnabled(); got != tc.want {
				t.Fatalf("fake enabled: %v, want %v", got, tc.want)
			}
			db := sqldbtest.Open(t, "", Migrations...)
			svc, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.provider(paymentapi.ProviderFake)
			if (err == nil) != tc.want {
				t.Errorf("fake provider available: %v, want %v", err == nil, tc.want)
			}
			if w := svc.Warnings(); (len(w) == 1 && strings.Contains(w[0], "test tokens")) != tc.wantWarn || (len(w) != 0) != tc.wantWarn {
				t.Errorf("warnings %q, want a warning: %v", w, tc.wantWarn)
			}
		})
	}
	var cfg Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs, "payment.")
	if err := fs.Parse([]string{"--payment.fake=sometimes"}); err == nil {
		t.Error("--payment.fake=sometimes was accepted")
	}
	if got := fs.Lookup("payment.fake-webhook-secret").DefValue; got != "" {
		t.Errorf("the webhook secret has a default %q; it must be generated or set", got)
	}
}
