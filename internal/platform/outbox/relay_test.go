package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// recordingBus records what is published to it, or fails every publish
// while fail is set. The relay only publishes.
type recordingBus struct {
	bus.Bus
	mu   sync.Mutex
	fail bool
	sent [][]string // message IDs, one slice per publish
}

func (b *recordingBus) Publish(_ context.Context, msgs ...bus.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return errors.New("broker down")
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	b.sent = append(b.sent, ids)
	return nil
}

func (b *recordingBus) publishes() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sent)
}

func (b *recordingBus) setFail(fail bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = fail
}

func health(t testing.TB, r *outbox.Relay) outbox.Health {
	t.Helper()
	h, err := r.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A failed publish stamps nothing (on PostgreSQL the claim's stamp rolls
// back with it), and the retry publishes every row once, in ID order.
func TestRelayFailedPublishStampsNothing(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "acme")
		b := &recordingBus{fail: true}
		relay := outbox.NewRelay(db, b, slog.New(slog.DiscardHandler), outbox.RelayConfig{Batch: 3})
		for i := range 5 {
			if err := placeOrder(ctx, db, fmt.Sprintf("o%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := relay.Flush(ctx); err == nil || n != 0 {
			t.Fatalf("flush with the broker down = %d, %v; want 0 and an error", n, err)
		}
		if p, err := relay.Pending(ctx); err != nil || p != 5 {
			t.Fatalf("pending after a failed publish = %d, %v; want 5", p, err)
		}
		b.setFail(false)
		if n, err := relay.Flush(ctx); err != nil || n != 5 {
			t.Fatalf("flush = %d, %v; want 5", n, err)
		}
		if p, _ := relay.Pending(ctx); p != 0 {
			t.Fatalf("pending after flush = %d", p)
		}
		var all []string
		for _, ids := range b.publishes() {
			if !slices.IsSorted(ids) {
				t.Errorf("a publish out of ID order: %v", ids)
			}
			all = append(all, ids...)
		}
		if len(all) != 5 || !slices.IsSorted(all) {
			t.Errorf("published %v; want 5 events in ID order", all)
		}
		if h := health(t, relay); h.Passes != 2 || h.EmptyPasses != 0 {
			t.Errorf("passes = %d, empty = %d; want 2 and 0", h.Passes, h.EmptyPasses)
		}
	}, outbox.Migrations, effects)
}

// Run skips a wake by Notify when every Notify before it came before its
// last pass began (a commit during the linger shares the pass and leaves a
// wake behind), and never skips one for a commit that pass may have missed.
func TestRelaySkipsEmptyWakes(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "acme")
		b := &recordingBus{}
		// The poll never comes during the test: only Notify wakes the relay.
		relay := outbox.NewRelay(db, b, slog.New(slog.DiscardHandler), outbox.RelayConfig{Poll: time.Hour})
		commit := func(id string) {
			if err := placeOrder(ctx, db, id); err != nil {
				t.Error(err)
			}
			relay.Notify()
		}
		// The hooks run on Run's goroutine, one call at a time.
		passes, publishes := 0, 0
		outbox.BeforePass(relay, func() {
			// The second pass: an order commits during its linger, so the
			// pass publishes it and its wake waits in the channel.
			if passes++; passes == 2 {
				commit("lingered")
			}
		})
		outbox.CrashAfterPublish(relay, func() {
			// The second publish: an order commits after the pass's read,
			// which did not see it. Its wake must run a pass.
			if publishes++; publishes == 2 {
				commit("late")
			}
		})
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- relay.Run(runCtx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		drained := func(n int) func() bool {
			return func() bool {
				p, err := relay.Pending(ctx)
				return err == nil && p == 0 && len(b.publishes()) == n
			}
		}

		// Run starts with a pass, which finds nothing.
		waitFor(t, "the first pass", func() bool { return health(t, relay).Passes == 1 })
		commit("o1")
		waitFor(t, "o1 and the lingered order published, and a wake skipped", func() bool {
			return drained(1)() && health(t, relay).SkippedPasses == 1
		})
		if got := b.publishes()[0]; len(got) != 2 {
			t.Fatalf("the second pass published %v; want o1's and the lingered order's events", got)
		}
		commit("o2")
		waitFor(t, "o2 and the late order published", drained(3))
		if h := health(t, relay); h.Passes != 4 || h.EmptyPasses != 1 || h.SkippedPasses != 1 {
			t.Errorf("passes = %d, empty = %d, skipped = %d; want 4, 1 (the first), 1", h.Passes, h.EmptyPasses, h.SkippedPasses)
		}
	}, outbox.Migrations, effects)
}
