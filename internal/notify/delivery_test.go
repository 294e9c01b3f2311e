package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// clock is a settable now; zero means the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testConfig retries fast: the tests wait for conditions, never sleep.
func testConfig() Config {
	return Config{AllowPrivate: true, Timeout: 5 * time.Second, RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond,
		Poll: 5 * time.Millisecond, Workers: 2}
}

func newTestService(t *testing.T, db *sqldb.DB, cfg Config) (*Service, *clock) {
	t.Helper()
	s, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	s.now = clk.now
	return s, clk
}

// run runs the service's worker until the test ends.
func run(t *testing.T, s *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// receiver is a webhook endpoint that fails the first fail requests
// (500), then answers 204; it keeps every request.
type receiver struct {
	*httptest.Server
	fail atomic.Int32
	mu   sync.Mutex
	reqs []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{}
	r.fail.Store(int32(fail))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, received{req.Header.Clone(), b})
		r.mu.Unlock()
		if r.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, strings.Repeat("boom ", 2000))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, with a deadline
	}
}

func event(tenant, typ string) outbox.Envelope {
	return outbox.Envelope{ID: kit.NewID(), Type: typ, Source: "order", Tenant: tenant, Time: time.Now().UTC(),
		Data: json.RawMessage(`{"order_id":"o-1","total":1234}`)}
}

func deliveryOf(t *testing.T, s *Service, ctx context.Context, sub string) notifyapi.Delivery {
	t.Helper()
	l, err := s.Deliveries(ctx, DeliveryQuery{SubscriptionID: sub})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("deliveries of %s: %+v, %v", sub, l, err)
	}
	d, err := s.Delivery(ctx, l.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRetriesUntilDelivered: a receiver failing the first three times gets
// four requests, each signed (verified independently), with the same
// webhook-id; the log has one entry per attempt.
func TestRetriesUntilDelivered(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, testConfig())
		ctx := tenancy.WithID(t.Context(), "shop1")
		rcv := newReceiver(t, 3)
		sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: rcv.URL + "/hook", EventTypes: []string{orderapi.SubjectConfirmed}})
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
		e := event("shop1", orderapi.SubjectConfirmed)
		if err := s.HandleEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the delivery to succeed", func() bool {
			l, err := s.Deliveries(ctx, DeliveryQuery{Status: notifyapi.StatusSucceeded})
			return err == nil && len(l.Items) == 1
		})
		reqs := rcv.requests()
		if len(reqs) != 4 {
			t.Fatalf("%d requests, want 4", len(reqs))
		}
		for i, r := range reqs {
			if err := verify(sub.Secret, r.header, r.body, time.Now(), 5*time.Minute); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			if r.header.Get("webhook-id") != reqs[0].header.Get("webhook-id") {
				t.Errorf("request %d has another webhook-id", i)
			}
		}
		var msg struct {
			Type    string          `json:"type"`
			EventID string          `json:"event_id"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(reqs[0].body, &msg); err != nil || msg.Type != e.Type || msg.EventID != e.ID || string(msg.Data) != string(e.Data) {
			t.Errorf("body %s (%v)", reqs[0].body, err)
		}
		d := deliveryOf(t, s, ctx, sub.ID)
		if d.Attempts != 4 || len(d.Log) != 4 || d.LastStatus != 204 {
			t.Fatalf("delivery %+v, want 4 attempts logged", d)
		}
		for i, a := range d.Log {
			want := 500
			if i == 3 {
				want = 204
			}
			if a.ResponseStatus != want || a.URL != sub.URL || a.RequestHeaders["webhook-id"] != d.ID || a.DurationMillis < 0 {
				t.Errorf("log %d: %+v", i, a)
			}
			if want == 500 && (len(a.ResponseBody) != maxResponseExcerpt || !strings.HasPrefix(a.ResponseBody, "boom")) {
				t.Errorf("log %d: response body excerpt of %d bytes", i, len(a.ResponseBody))
			}
		}
		got, _ := s.Subscription(ctx, sub.ID)
		if got.FailingSince != nil || !got.Enabled || got.Secret != "" {
			t.Errorf("subscription after success: %+v", got)
		}
	}, Migrations...)
}

// TestOneDeliveryPerSubscriptionPerEvent: the same event twice makes one
// delivery per subscription; another store's event, a type not subscribed
// and a disabled subscription make none.
func TestOneDeliveryPerSubscriptionPerEvent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, testConfig())
		ctx := tenancy.WithID(t.Context(), "shop1")
		mk := func(types ...string) notifyapi.Subscription {
			sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: "https://hooks.example.com/" + kit.NewID(), EventTypes: types})
			if err != nil {
				t.Fatal(err)
			}
			return sub
		}
		a, b := mk(orderapi.SubjectConfirmed), mk(orderapi.SubjectConfirmed, orderapi.SubjectShipped)
		other := mk(orderapi.SubjectShipped)
		off := mk(orderapi.SubjectConfirmed)
		no := false
		if _, err := s.UpdateSubscription(ctx, off.ID, notifyapi.SubscriptionUpdate{Enabled: &no}); err != nil {
			t.Fatal(err)
		}
		e := event("shop1", orderapi.SubjectConfirmed)
		for range 2 {
			if err := s.HandleEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		// Past the inbox too: the unique key holds on its own.
		if err := s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, _ *notifydb.Queries) error { return s.enqueue(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
		if err := s.HandleEvent(t.Context(), event("shop2", orderapi.SubjectConfirmed)); err != nil {
			t.Fatal(err)
		}
		l, err := s.Deliveries(ctx, DeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, d := range l.Items {
			got[d.SubscriptionID]++
			if d.EventID != e.ID || d.Status != notifyapi.StatusPending {
				t.Errorf("delivery %+v", d)
			}
		}
		if len(l.Items) != 2 || got[a.ID] != 1 || got[b.ID] != 1 || got[other.ID] != 0 || got[off.ID] != 0 {
			t.Fatalf("deliveries per subscription %v", got)
		}
	}, Migrations...)
}

// TestDisabledAfterFailingADay: an endpoint that fails for the
// disable-after period has its subscription disabled, announced through
// the outbox; enabling it again forgets the failures; a replay sends the
// delivery again.
func TestDisabledAfterFailingADay(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := testConfig()
		cfg.RetryBase, cfg.RetryMax = time.Hour, time.Hour
		s, clk := newTestService(t, db, cfg)
		t0 := time.Now().UTC().Truncate(time.Second)
		clk.set(t0)
		ctx := tenancy.WithID(t.Context(), "shop1")
		rcv := newReceiver(t, 1000)
		sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: rcv.URL, EventTypes: []string{orderapi.SubjectShipped}})
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
		if err := s.HandleEvent(t.Context(), event("shop1", orderapi.SubjectShipped)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the first attempt", func() bool { return deliveryOf(t, s, ctx, sub.ID).Attempts == 1 })
		got, _ := s.Subscription(ctx, sub.ID)
		if got.FailingSince == nil || !got.FailingSince.Equal(t0) || !got.Enabled {
			t.Fatalf("after one failure: %+v", got)
		}
		// A day and an hour later, the next attempt fails too: disabled.
		clk.set(t0.Add(25 * time.Hour))
		s.notifyWorker()
		eventually(t, "the subscription to be disabled", func() bool {
			got, _ = s.Subscription(ctx, sub.ID)
			return !got.Enabled
		})
		if got.DisabledReason != "failing" {
			t.Errorf("disabled_reason %q", got.DisabledReason)
		}
		d := deliveryOf(t, s, ctx, sub.ID)
		if d.Status != notifyapi.StatusFailed || d.Attempts != 2 || len(d.Log) != 2 {
			t.Errorf("delivery %+v", d)
		}
		var env string
		if err := db.ReadTx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
			return tx.QueryRowContext(t.Context(), `SELECT envelope FROM outbox WHERE subject = $1`, notifyapi.SubjectWebhookDisabled).Scan(&env)
		}); err != nil {
			t.Fatalf("no %s in the outbox: %v", notifyapi.SubjectWebhookDisabled, err)
		}
		if !strings.Contains(env, sub.ID) || !strings.Contains(env, `"tenant":"shop1"`) {
			t.Errorf("event %s", env)
		}
		// Disabled: new events make no delivery.
		if err := s.HandleEvent(t.Context(), event("shop1", orderapi.SubjectShipped)); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Deliveries(ctx, DeliveryQuery{}); len(l.Items) != 1 {
			t.Errorf("%d deliveries to a disabled subscription", len(l.Items)-1)
		}
		// Enabled again and replayed: the receiver now answers.
		yes := true
		got, err = s.UpdateSubscription(ctx, sub.ID, notifyapi.SubscriptionUpdate{Enabled: &yes})
		if err != nil || !got.Enabled || got.FailingSince != nil || got.DisabledReason != "" {
			t.Fatalf("enable: %+v, %v", got, err)
		}
		// Kept for the keep period after its last attempt, then deleted.
		if n, err := s.sweep(t.Context(), t0.Add(25*time.Hour+s.cfg.Keep-time.Minute)); err != nil || n != 0 {
			t.Fatalf("sweep before the keep period: %d, %v", n, err)
		}
		rcv.fail.Store(0)
		n := len(rcv.requests())
		if _, err := s.ReplayDelivery(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the replay to succeed", func() bool { return deliveryOf(t, s, ctx, sub.ID).Status == notifyapi.StatusSucceeded })
		if len(rcv.requests()) != n+1 || len(deliveryOf(t, s, ctx, sub.ID).Log) != 3 {
			t.Errorf("replay: %d requests, log %d", len(rcv.requests())-n, len(deliveryOf(t, s, ctx, sub.ID).Log))
		}
		if n, err := s.sweep(t.Context(), t0.Add(25*time.Hour+s.cfg.Keep+time.Minute)); err != nil || n != 1 {
			t.Fatalf("sweep after the keep period: %d, %v", n, err)
		}
		var attempts int
		if err := db.ReadTx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
			return tx.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM webhook_attempts`).Scan(&attempts)
		}); err != nil || attempts != 0 {
			t.Fatalf("%d attempts left after the sweep (%v)", attempts, err)
		}
	}, Migrations...)
}

// TestDisabledSubscriptionNotSent: a delivery pending when its
// subscription is disabled is not sent; it fails, its log says why, and
// the subscription is not counted as failing.
func TestDisabledSubscriptionNotSent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, testConfig())
		ctx := tenancy.WithID(t.Context(), "shop1")
		rcv := newReceiver(t, 0)
		sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: rcv.URL, EventTypes: []string{orderapi.SubjectConfirmed}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.HandleEvent(t.Context(), event("shop1", orderapi.SubjectConfirmed)); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := s.UpdateSubscription(ctx, sub.ID, notifyapi.SubscriptionUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		run(t, s)
		eventually(t, "the delivery to fail", func() bool { return deliveryOf(t, s, ctx, sub.ID).Status == notifyapi.StatusFailed })
		d := deliveryOf(t, s, ctx, sub.ID)
		if len(d.Log) != 1 || d.Log[0].Error != "subscription disabled" || len(rcv.requests()) != 0 {
			t.Fatalf("delivery %+v, %d requests", d, len(rcv.requests()))
		}
		if got, _ := s.Subscription(ctx, sub.ID); got.FailingSince != nil || got.DisabledReason != "manual" {
			t.Fatalf("subscription %+v", got)
		}
	}, Migrations...)
}

// TestReplayRange: the deliveries made in a time range are sent again;
// those outside it, and pending ones, are not.
func TestReplayRange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db, testConfig())
		ctx := tenancy.WithID(t.Context(), "shop1")
		rcv := newReceiver(t, 0)
		sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: rcv.URL, EventTypes: []string{orderapi.SubjectConfirmed}})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Second).Add(-5 * time.Hour)
		for i := range 3 {
			clk.set(t0.Add(time.Duration(i) * time.Hour))
			if err := s.HandleEvent(t.Context(), event("shop1", orderapi.SubjectConfirmed)); err != nil {
				t.Fatal(err)
			}
		}
		clk.set(time.Time{})
		run(t, s)
		eventually(t, "three deliveries", func() bool { return len(rcv.requests()) == 3 })
		eventually(t, "three successes", func() bool {
			l, _ := s.Deliveries(ctx, DeliveryQuery{Status: notifyapi.StatusSucceeded})
			return len(l.Items) == 3
		})
		r, err := s.Replay(ctx, notifyapi.Replay{From: t0.Add(30 * time.Minute), To: t0.Add(3 * time.Hour), SubscriptionID: sub.ID})
		if err != nil || r.Queued != 2 {
			t.Fatalf("replay: %+v, %v", r, err)
		}
		eventually(t, "two more requests", func() bool { return len(rcv.requests()) == 5 })
		if _, err := s.Replay(ctx, notifyapi.Replay{From: t0, To: t0}); err == nil {
			t.Error("empty range accepted")
		}
		if _, err := s.Replay(ctx, notifyapi.Replay{From: t0, To: t0.Add(time.Hour), SubscriptionID: "nope"}); !errors.Is(err, ErrSubscriptionNotFound) {
			t.Errorf("unknown subscription: %v", err)
		}
		if _, err := s.ReplayDelivery(ctx, "nope"); !errors.Is(err, ErrDeliveryNotFound) {
			t.Errorf("unknown delivery: %v", err)
		}
	}, Migrations...)
}

// TestPrivateTargetsRefused: without AllowPrivate, literal addresses are
// refused when saved, and a name resolving to loopback at connect time:
// the attempt is logged as refused and nothing reaches the receiver.
func TestPrivateTargetsRefused(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := testConfig()
		cfg.AllowPrivate = false
		s, _ := newTestService(t, db, cfg)
		ctx := tenancy.WithID(t.Context(), "shop1")
		for _, u := range []string{"http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://localhost/"} {
			_, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: u, EventTypes: []string{orderapi.SubjectConfirmed}})
			if !errors.Is(err, ErrForbiddenTarget) {
				t.Errorf("create %s: %v, want ErrForbiddenTarget", u, err)
			}
		}
		rcv := newReceiver(t, 0)
		// A name the check at save time cannot see through: as if DNS
		// answered 127.0.0.1 for a public-looking name.
		sub, err := s.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: "https://hooks.example.com/x", EventTypes: []string{orderapi.SubjectConfirmed}})
		if err != nil {
			t.Fatal(err)
		}
		byName := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
		if err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET url = $1 WHERE tenant_id = $2 AND id = $3`, byName, "shop1", sub.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		run(t, s)
		if err := s.HandleEvent(t.Context(), event("shop1", orderapi.SubjectConfirmed)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a refused attempt", func() bool { return deliveryOf(t, s, ctx, sub.ID).Attempts >= 1 })
		a := deliveryOf(t, s, ctx, sub.ID).Log[0]
		if a.ResponseStatus != 0 || !strings.HasPrefix(a.Error, "refused: "+ErrForbiddenTarget.Error()) {
			t.Errorf("attempt %+v", a)
		}
		if n := len(rcv.requests()); n != 0 {
			t.Errorf("%d requests reached the receiver", n)
		}
	}, Migrations...)
}
