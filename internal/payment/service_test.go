package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// clock is a settable now for lease tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestService returns the service on db with a fake provider it also
// returns, and its clock.
func newTestService(t *testing.T, db *sqldb.DB) (*Service, *Fake, *clock) {
	t.Helper()
	svc, err := New(t.Context(), Config{Fake: FakeOn, FakeWebhookSecret: "whsec_test"}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	c := &clock{t: time.Now()}
	svc.now = c.now
	fake := NewFake(db, 0, "whsec_test")
	fake.now = c.now
	svc.providers[paymentapi.ProviderFake] = fake
	return svc, fake, c
}

// held reports whether the fake holds ref open (authorized, neither
// captured nor voided).
func held(t *testing.T, fake *Fake, ctx context.Context, ref string) bool {
	t.Helper()
	open, err := fake.Authorized(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return open
}

// openAuths counts the holds the fake keeps open in ctx's tenant.
func openAuths(t *testing.T, fake *Fake, ctx context.Context) int {
	t.Helper()
	n, err := fake.OpenAuthorizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tctx(t *testing.T) context.Context {
	return tenancy.WithID(t.Context(), "default")
}

func eur(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }

func mustAuthorize(t *testing.T, svc *Service, ctx context.Context, order string, amount int64) paymentapi.Payment {
	t.Helper()
	p, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: order, Amount: eur(amount), Token: TokenVisa})
	if err != nil {
		t.Fatalf("authorize %s: %v", order, err)
	}
	if p.Status != paymentapi.StatusAuthorized {
		t.Fatalf("authorize %s: status %s", order, p.Status)
	}
	return p
}

func countOps(t *testing.T, svc *Service, ctx context.Context, paymentID, kind string) int64 {
	t.Helper()
	n, err := kit.ReadOne(ctx, svc.store, func(q *paymentdb.Queries) (int64, error) {
		return q.CountOperations(ctx, paymentdb.CountOperationsParams{TenantID: "default", PaymentID: paymentID, Kind: kind})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func auditClean(t *testing.T, svc *Service, ctx context.Context) paymentapi.Audit {
	t.Helper()
	a, err := svc.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.InvariantViolations != 0 {
		t.Fatalf("audit: %d invariant violations", a.InvariantViolations)
	}
	return a
}

func TestRefundRules(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, _ := newTestService(t, db)
		ctx := tctx(t)
		mustAuthorize(t, svc, ctx, "o-1", 10000)

		// Capture above authorized: 409, nothing captured.
		_, err := svc.Capture(ctx, "o-1", paymentapi.CaptureRequest{Amount: eur(10001), Key: "c0"})
		if !errors.Is(err, ErrCaptureExceeds) {
			t.Fatalf("capture above authorized: got %v, want ErrCaptureExceeds", err)
		}
		p, err := svc.Capture(ctx, "o-1", paymentapi.CaptureRequest{Amount: eur(8000), Key: "c1"})
		if err != nil || p.Status != paymentapi.StatusPartiallyCaptured || p.Captured.Amount != 8000 {
			t.Fatalf("partial capture: %+v, %v", p, err)
		}
		steps := []struct {
			name         string
			amount       int64
			key          string
			wantErr      error
			wantRefunded int64
			wantStatus   paymentapi.Status
			wantRefunds  int
		}{
			{"partial", 3000, "r1", nil, 3000, paymentapi.StatusPartiallyRefunded, 1},
			{"repeated", 2000, "r2", nil, 5000, paymentapi.StatusPartiallyRefunded, 2},
			{"same key again is the same refund", 2000, "r2", nil, 5000, paymentapi.StatusPartiallyRefunded, 2},
			{"same key other amount", 2500, "r2", ErrKeyReused, 5000, paymentapi.StatusPartiallyRefunded, 2},
			{"beyond captured", 3001, "r3", ErrRefundExceedsCaptured, 5000, paymentapi.StatusPartiallyRefunded, 2},
			{"shipping-sized", 495, "ship", nil, 5495, paymentapi.StatusPartiallyRefunded, 3},
			{"the rest", 2505, "r4", nil, 8000, paymentapi.StatusRefunded, 4},
			{"nothing left", 1, "r5", ErrRefundExceedsCaptured, 8000, paymentapi.StatusRefunded, 4},
		}
		for _, st := range steps {
			_, err := svc.Refund(ctx, "o-1", paymentapi.RefundRequest{Amount: eur(st.amount), Key: st.key, Reason: st.name})
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
			}
			got, err := svc.Get(ctx, "o-1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Refunded.Amount != st.wantRefunded || got.Status != st.wantStatus || len(got.Refunds) != st.wantRefunds {
				t.Fatalf("%s: refunded %d status %s refunds %d; want %d %s %d", st.name, got.Refunded.Amount, got.Status, len(got.Refunds), st.wantRefunded, st.wantStatus, st.wantRefunds)
			}
			if n := countOps(t, svc, ctx, got.ID, opRefund); n != int64(st.wantRefunds) {
				t.Fatalf("%s: %d refund operations in the ledger, want %d", st.name, n, st.wantRefunds)
			}
		}
		if n := fake.Count("refund"); n != 4 { // r1, r2, ship, r4: a repeated key is answered from the ledger
			t.Errorf("provider saw %d refund calls, want 4", n)
		}
		// A capture after refunds still cannot pass the authorization.
		if _, err := svc.Capture(ctx, "o-1", paymentapi.CaptureRequest{Amount: eur(2001), Key: "c2"}); !errors.Is(err, ErrInvalidState) && !errors.Is(err, ErrCaptureExceeds) {
			t.Errorf("capture after refunds: %v", err)
		}
		if _, err := svc.Refund(ctx, "o-1", paymentapi.RefundRequest{Amount: money.Money{Amount: 1, Currency: "USD"}, Key: "usd"}); !errors.Is(err, ErrCurrencyMismatch) {
			t.Errorf("refund in another currency: %v", err)
		}
		auditClean(t, svc, ctx)
	}, Migrations...)
}

func TestConcurrentAuthorizeOneProviderCall(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, _ := newTestService(t, db)
		ctx := tctx(t)
		const n = 20
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				p, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-conc", Amount: eur(4200), Token: TokenVisa})
				ids[i], errs[i] = p.ID, err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("call %d got payment %s, call 0 %s", i, ids[i], ids[0])
			}
		}
		if got := fake.Count("authorize"); got != 1 {
			t.Errorf("provider saw %d authorize calls, want 1", got)
		}
		l, err := svc.List(ctx, ListQuery{})
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("list: %d payments, %v; want 1", len(l.Items), err)
		}
		if c := countOps(t, svc, ctx, ids[0], opAuthorize); c != 1 {
			t.Errorf("%d authorize operations, want 1", c)
		}
	}, Migrations...)
}

func TestDeclinesAndTimeout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, _ := newTestService(t, db)
		ctx := tctx(t)
		for _, tc := range []struct{ token, reason string }{
			{TokenDeclined, "declined"},
			{TokenInsufficientFunds, "insufficient_funds"},
			{"tok_nonsense", "invalid_token"},
		} {
			order := "o-" + tc.token
			for attempt := range 2 { // the repeat answers the same, without a call
				_, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: order, Amount: eur(100), Token: tc.token})
				var d *DeclineError
				if !errors.As(err, &d) || d.Reason != tc.reason {
					t.Fatalf("%s attempt %d: got %v, want decline %s", tc.token, attempt, err, tc.reason)
				}
			}
			p, err := svc.Get(ctx, order)
			if err != nil || p.Status != paymentapi.StatusFailed || p.FailureCode != tc.reason {
				t.Fatalf("%s: payment %+v, %v", tc.token, p, err)
			}
		}
		if got := fake.Count("authorize"); got != 3 {
			t.Errorf("provider saw %d authorize calls, want 3", got)
		}

		for attempt := range 2 {
			_, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-timeout", Amount: eur(100), Token: TokenTimeout})
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("timeout attempt %d: got %v, want ErrTimeout", attempt, err)
			}
		}
		p, err := svc.Get(ctx, "o-timeout")
		if err != nil || p.Status != paymentapi.StatusFailed || p.FailureCode != paymentapi.FailureTimeout {
			t.Fatalf("timed out payment: %+v, %v", p, err)
		}
		if open := openAuths(t, fake, ctx); fake.Count("void") != 1 || open != 0 {
			t.Errorf("after a timeout: %d voids, %d open authorizations; want 1, 0", fake.Count("void"), open)
		}
		a := auditClean(t, svc, ctx)
		if a.Pending != 0 || a.AuthorizedWithoutCaptureOrVoid != 0 {
			t.Errorf("audit %+v", a)
		}
	}, Migrations...)
}

// gate is a provider that holds Authorize until released, to catch an
// authorization in flight.
type gate struct {
	*Fake
	entered chan struct{}
	release chan struct{}
}

func (g *gate) Authorize(ctx context.Context, req AuthRequest) (AuthResult, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Fake.Authorize(ctx, req)
}

func TestVoidWinsOverAuthorizationInFlight(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, _ := newTestService(t, db)
		g := &gate{Fake: fake, entered: make(chan struct{}, 1), release: make(chan struct{})}
		svc.providers[paymentapi.ProviderFake] = g
		ctx := tctx(t)
		done := make(chan error, 1)
		go func() {
			_, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-race", Amount: eur(900), Token: TokenVisa})
			done <- err
		}()
		<-g.entered
		p, err := svc.Void(ctx, "o-race")
		if err != nil || p.Status != paymentapi.StatusVoided {
			t.Fatalf("void of pending: %+v, %v", p, err)
		}
		close(g.release)
		err = <-done
		var d *DeclineError
		if !errors.As(err, &d) || d.Reason != failureVoided {
			t.Fatalf("authorize overtaken by void: got %v, want decline voided", err)
		}
		p, err = svc.Get(ctx, "o-race")
		if err != nil || p.Status != paymentapi.StatusVoided || p.ProviderRef == "" {
			t.Fatalf("payment after race: %+v, %v", p, err)
		}
		if open := held(t, fake, ctx, p.ProviderRef); open || fake.Count("void") != 1 {
			t.Errorf("the authorization must be voided at the provider: open %v, voids %d", open, fake.Count("void"))
		}
		if p, err := svc.Void(ctx, "o-race"); err != nil || p.Status != paymentapi.StatusVoided {
			t.Errorf("void again: %+v, %v", p, err)
		}
		a := auditClean(t, svc, ctx)
		if a.Pending != 0 || a.AuthorizedWithoutCaptureOrVoid != 0 {
			t.Errorf("audit %+v", a)
		}
	}, Migrations...)
}

// TestVoidBeforeAuthorizeRefusesIt: an order that gives up on an Authorize
// call before it arrives voids a payment that does not exist yet; the
// Authorize that arrives afterwards is declined as voided and never reaches
// the provider, so no money is held for the cancelled order. The mark is
// the tenant's only.
func TestVoidBeforeAuthorizeRefusesIt(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, clk := newTestService(t, db)
		ctx := tctx(t)
		for range 2 { // a repeated void marks once
			if _, err := svc.Void(ctx, "o-late"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("void before any authorization: %v, want not found", err)
			}
		}
		_, err := svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-late", Amount: eur(900), Token: TokenVisa})
		var d *DeclineError
		if !errors.As(err, &d) || d.Reason != failureVoided {
			t.Fatalf("authorize after the void: %v, want declined as voided", err)
		}
		if n := fake.Count("authorize"); n != 0 {
			t.Errorf("the provider saw %d authorize calls, want none", n)
		}
		if _, err := svc.Get(ctx, "o-late"); !errors.Is(err, ErrNotFound) {
			t.Errorf("payment after the refused authorize: %v, want none", err)
		}
		// Another store's order of the same ID is not voided.
		other := tenancy.WithID(t.Context(), "acme")
		if p, err := svc.Authorize(other, paymentapi.AuthorizeRequest{OrderID: "o-late", Amount: eur(900), Token: TokenVisa}); err != nil || p.Status != paymentapi.StatusAuthorized {
			t.Fatalf("the same order ID in another store: %+v, %v; want authorized", p, err)
		}
		a := auditClean(t, svc, ctx)
		if a.Pending != 0 || a.AuthorizedWithoutCaptureOrVoid != 0 {
			t.Errorf("audit %+v", a)
		}
		// The sweep keeps the mark through its retention, then drops it.
		marks := func() int {
			t.Helper()
			var n int
			all := sqldb.AllTenants(ctx)
			if err := db.Tx(all, func(tx *sql.Tx) error {
				return tx.QueryRowContext(all, `SELECT COUNT(*) FROM voided_orders`).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := svc.Sweep(ctx); err != nil || marks() != 1 {
			t.Fatalf("sweep within the retention: %v, %d marks; want the mark kept", err, marks())
		}
		clk.add(voidMarkRetention + time.Minute)
		if _, err := svc.Sweep(ctx); err != nil || marks() != 0 {
			t.Fatalf("sweep past the retention: %v, %d marks; want none", err, marks())
		}
	}, Migrations...)
}

func TestStalePendingIsVoided(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, clk := newTestService(t, db)
		ctx := tctx(t)
		// A process inserted the payment, reached the provider and died
		// before recording: the row stays pending, the card is held.
		now := clk.now()
		key := providerKey("default", "o-crash", opAuthorize, "")
		err := svc.write(ctx, func(ctx context.Context, _ *sql.Tx, q *paymentdb.Queries) error {
			if _, err := q.InsertPayment(ctx, paymentdb.InsertPaymentParams{TenantID: "default", ID: "p-crash", OrderID: "o-crash", Provider: "fake",
				Currency: "EUR", Amount: 700, AuthToken: TokenVisa, CreatedAt: sqldb.Micros(now)}); err != nil {
				return err
			}
			return q.InsertOperation(ctx, paymentdb.InsertOperationParams{TenantID: "default", ID: "op-crash", PaymentID: "p-crash",
				Kind: opAuthorize, Amount: 700, IdemKey: key, Status: opPending, CreatedAt: sqldb.Micros(now)})
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := fake.Authorize(ctx, AuthRequest{Amount: eur(700), Token: TokenVisa, IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Sweep(t.Context()); err != nil || n != 0 {
			t.Fatalf("sweep within the lease settled %d, %v", n, err)
		}
		clk.add(svc.cfg.PendingLease + time.Second)
		if n, err := svc.Sweep(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep after the lease settled %d, %v; want 1", n, err)
		}
		p, err := svc.Get(ctx, "o-crash")
		if err != nil || p.Status != paymentapi.StatusFailed || p.FailureCode != paymentapi.FailureAbandoned || p.ProviderRef != res.Ref {
			t.Fatalf("abandoned payment: %+v, %v", p, err)
		}
		if held(t, fake, ctx, res.Ref) {
			t.Error("the abandoned authorization is still held at the provider")
		}
		if got := fake.Count("authorize"); got != 2 { // the crashed call and its replay
			t.Errorf("provider saw %d authorize calls, want 2", got)
		}
		_, err = svc.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-crash", Amount: eur(700), Token: TokenVisa})
		var d *DeclineError
		if !errors.As(err, &d) || d.Reason != paymentapi.FailureAbandoned {
			t.Errorf("authorize of an abandoned payment: %v", err)
		}
	}, Migrations...)
}

// TestLedgerInvariantRandom runs random captures, refunds and voids against
// a model and checks 0 <= refunded <= captured <= amount after each.
func TestLedgerInvariantRandom(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, _, _ := newTestService(t, db)
		ctx := tctx(t)
		seed := time.Now().UnixNano()
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		t.Logf("seed %d", seed)
		for o := range 6 {
			order := fmt.Sprintf("o-rand-%d", o)
			amount := 1 + rng.Int64N(5000)
			mustAuthorize(t, svc, ctx, order, amount)
			var captured, refunded int64
			voided := false
			for step := range 25 {
				key := fmt.Sprintf("k%d", step)
				switch rng.IntN(5) {
				case 0, 1:
					a := 1 + rng.Int64N(amount)
					_, err := svc.Capture(ctx, order, paymentapi.CaptureRequest{Amount: eur(a), Key: key})
					ok := !voided && refunded == 0 && captured+a <= amount
					if (err == nil) != ok {
						t.Fatalf("%s step %d capture %d (captured %d/%d, refunded %d, voided %v): %v", order, step, a, captured, amount, refunded, voided, err)
					}
					if ok {
						captured += a
					}
				case 2, 3:
					a := 1 + rng.Int64N(amount)
					_, err := svc.Refund(ctx, order, paymentapi.RefundRequest{Amount: eur(a), Key: key})
					ok := captured > 0 && refunded+a <= captured
					if (err == nil) != ok {
						t.Fatalf("%s step %d refund %d (captured %d, refunded %d): %v", order, step, a, captured, refunded, err)
					}
					if ok {
						refunded += a
					}
				case 4:
					_, err := svc.Void(ctx, order)
					ok := captured == 0
					if (err == nil) != ok {
						t.Fatalf("%s step %d void (captured %d): %v", order, step, captured, err)
					}
					if ok {
						voided = true
					}
				}
				p, err := svc.Get(ctx, order)
				if err != nil {
					t.Fatal(err)
				}
				if p.Captured.Amount != captured || p.Refunded.Amount != refunded || p.Amount.Amount != amount {
					t.Fatalf("%s step %d: payment %d/%d/%d, model %d/%d/%d", order, step, p.Amount.Amount, p.Captured.Amount, p.Refunded.Amount, amount, captured, refunded)
				}
				if !(0 <= p.Refunded.Amount && p.Refunded.Amount <= p.Captured.Amount && p.Captured.Amount <= p.Amount.Amount) {
					t.Fatalf("%s step %d: invariant broken: %+v", order, step, p)
				}
			}
		}
		auditClean(t, svc, ctx)
	}, Migrations...)
}

func TestTenantsAreSeparate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, _, _ := newTestService(t, db)
		mustAuthorize(t, svc, tctx(t), "o-t", 100)
		acme := tenancy.WithID(t.Context(), "acme")
		if _, err := svc.Get(acme, "o-t"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant sees the payment: %v", err)
		}
		p, err := svc.Authorize(acme, paymentapi.AuthorizeRequest{OrderID: "o-t", Amount: eur(300), Token: TokenVisa})
		if err != nil || p.Amount.Amount != 300 {
			t.Fatalf("same order ID in another tenant: %+v, %v", p, err)
		}
	}, Migrations...)
}

// TestAuthorizeRecordsWithoutRereading checks what Authorize writes after
// the provider answers without reading the payment back: the answer, the
// stored payment and the event agree, and the ledger row is settled.
func TestAuthorizeRecordsWithoutRereading(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, _, _ := newTestService(t, db)
		ctx := tctx(t)
		p := mustAuthorize(t, svc, ctx, "o-1", 1500)
		got, err := svc.Get(ctx, "o-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || got.ProviderRef != p.ProviderRef || got.Status != p.Status || !got.CreatedAt.Equal(p.CreatedAt) ||
			got.CreatedAt.Location() != p.CreatedAt.Location() || got.Amount != p.Amount || len(p.Refunds) != 0 || p.Refunds == nil {
			t.Fatalf("answer %+v, stored %+v", p, got)
		}
		r, err := svc.readByOrder(ctx, "default", "o-1")
		if err != nil {
			t.Fatal(err)
		}
		if r.AuthOpen || r.AuthToken != "" || r.Version != 1 {
			t.Errorf("stored record %+v: want the authorization closed, the token gone, version 1", r)
		}
		var (
			op operation
			ok bool
		)
		err = svc.store.Read(ctx, func(q *paymentdb.Queries) error {
			op, ok, err = getOp(ctx, q, "default", p.ID, providerKey("default", "o-1", opAuthorize, ""))
			return err
		})
		if err != nil || !ok || op.Status != opSucceeded || op.ProviderRef != p.ProviderRef {
			t.Fatalf("authorize operation %+v, %v", op, err)
		}
		var raw string
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT envelope FROM outbox WHERE subject = $1`, paymentapi.SubjectAuthorized).Scan(&raw)
		})
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data paymentapi.PaymentEvent `json:"data"`
		}
		if err := json.Unmarshal([]byte(raw), &env); err != nil {
			t.Fatal(err)
		}
		if e := env.Data.Payment; e.ID != p.ID || e.Status != paymentapi.StatusAuthorized || e.ProviderRef != p.ProviderRef ||
			!e.CreatedAt.Equal(p.CreatedAt) || env.Data.Amount != p.Amount {
			t.Errorf("event %+v, answer %+v", env.Data, p)
		}
	}, Migrations...)
}

// TestDeclinedCaptureReleasesItsReservation: a capture the provider refuses
// gives back its reservation and its key, so the amount can be captured.
func TestDeclinedCaptureReleasesItsReservation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, _ := newTestService(t, db)
		ctx := tctx(t)
		p := mustAuthorize(t, svc, ctx, "o-1", 1000)
		if err := fake.Void(ctx, p.ProviderRef, "voided-at-the-provider"); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Capture(ctx, "o-1", paymentapi.CaptureRequest{Amount: eur(1000), Key: "c"})
		var d *DeclineError
		if !errors.As(err, &d) {
			t.Fatalf("capture of a voided authorization: got %v, want a decline", err)
		}
		r, err := svc.readByOrder(ctx, "default", "o-1")
		if err != nil {
			t.Fatal(err)
		}
		if r.CapturePending != 0 || r.Captured != 0 || r.Status != paymentapi.StatusAuthorized {
			t.Errorf("after a declined capture: %+v; want nothing held", r)
		}
		if n := countOps(t, svc, ctx, p.ID, opCapture); n != 0 {
			t.Errorf("%d capture operations left, want 0", n)
		}
		auditClean(t, svc, ctx)
	}, Migrations...)
}
