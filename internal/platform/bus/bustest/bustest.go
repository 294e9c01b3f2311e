// Package bustest is the contract test suite every bus.Bus adapter passes.
// An adapter's test calls Run with a Harness that opens clients on an
// isolated namespace of its broker (embedded or external).
//
// The order an adapter must keep is publish order among messages of one
// store: one "tenant" header, or none (the outbox relay sets it on every
// event). Kafka keeps order per partition and kafkabus partitions by that
// header, so where a case checks the relative order of messages (which one
// is handled or dead-lettered first) they share their tenant header, and
// where it checks that a group's members share the work, the messages come
// from several stores, as they do in production.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
)

// Harness connects the suite to one adapter and broker.
type Harness struct {
	// Open returns a new client, with its own connection, on the namespace
	// prefix: streams, exchanges and queues named after prefix, so tests on a
	// shared server never see each other's messages. Run closes it.
	Open func(t *testing.T, prefix string) bus.Bus
	// Teardown deletes what b created under its prefix. Run calls it for every
	// client it opened, after the test and before Close. Optional.
	Teardown func(ctx context.Context, b bus.Bus) error
	// Restart restarts the broker and returns once it answers again. Nil when
	// the broker cannot be restarted from the test: the durability case then
	// checks with a brand-new client only.
	Restart func(t *testing.T)
	// Redelivery is how long the broker takes to give a vanished client's
	// unacknowledged messages to another consumer of the group (NATS: the
	// AckWait the harness's clients use; RabbitMQ: none, at once). The
	// suite waits that long besides its usual timeout.
	Redelivery time.Duration
	// DedupesPublish says the broker stores a message published twice with the
	// same ID once (NATS). When false the bus is plainly at least once
	// (RabbitMQ) and consumers dedupe through their inbox.
	DedupesPublish bool
}

// New opens a client on a fresh, unique namespace.
func (h Harness) New(t *testing.T) bus.Bus {
	t.Helper()
	return h.open(t, NewPrefix())
}

func (h Harness) open(t *testing.T, prefix string) bus.Bus {
	t.Helper()
	b := h.Open(t, prefix)
	t.Cleanup(func() {
		if h.Teardown != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := h.Teardown(ctx, b); err != nil {
				t.Logf("teardown %s: %v", prefix, err)
			}
		}
		if err := b.Close(); err != nil {
			t.Logf("close %s: %v", prefix, err)
		}
	})
	return b
}

// NewPrefix returns a unique namespace prefix: letters and digits only, so it
// is a valid NATS stream name and subject token and a RabbitMQ name.
func NewPrefix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// timeout bounds every wait. It is generous: a passing test never waits it out.
const timeout = 20 * time.Second

// fast is a backoff for tests: short, so retries do not slow the suite.
func fast(int) time.Duration { return 20 * time.Millisecond }

// Run runs the contract suite. The cases run one after another: Restart
// affects the whole broker.
func Run(t *testing.T, h Harness) {
	cases := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"DuplicateID", testDuplicateID},
		{"RetryWithBackoff", testRetryWithBackoff},
		{"DeadLetter", testDeadLetter},
		{"ReplayToOneGroup", testReplayToOneGroup},
		{"ReplayOfStillFailingMessages", testReplayStillFailing},
		{"ReplayOfDuplicateID", testReplayDuplicateID},
		{"GroupSharesWork", testGroupSharesWork},
		{"DeadReplicaHandsOver", testDeadReplicaHandsOver},
		{"GroupsEachGetAll", testGroupsEachGetAll},
		{"Wildcards", testWildcards},
		{"OrderWithConcurrencyOne", testOrder},
		{"LargeBatch", testLargeBatch},
		{"Concurrency", testConcurrency},
		{"StopWaitsForHandlers", testStopWaits},
		{"ContextCancelStops", testContextCancel},
		{"RetainedWhileStopped", testRetainedWhileStopped},
		{"Durability", testDurability},
		{"ListenersEachGetAll", testListenFanOut},
		{"ListenKeepsNothing", testListenKeepsNothing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// recorder collects deliveries and lets the test wait for them.
type recorder struct {
	mu     sync.Mutex
	msgs   []bus.Message
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) add(m bus.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) handler(_ context.Context, m bus.Message) error {
	r.add(m)
	return nil
}

func (r *recorder) all() []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// waitFor waits until cond holds over the recorded messages.
func (r *recorder) waitFor(t *testing.T, what string, cond func([]bus.Message) bool) []bus.Message {
	t.Helper()
	return r.waitForUntil(t, what, time.Now().Add(timeout), cond)
}

// waitForUntil is waitFor with a deadline of its own.
func (r *recorder) waitForUntil(t *testing.T, what string, until time.Time, cond func([]bus.Message) bool) []bus.Message {
	t.Helper()
	deadline := time.NewTimer(time.Until(until))
	defer deadline.Stop()
	for {
		msgs := r.all()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got %d messages: %v", what, len(msgs), ids(msgs))
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		}
	}
}

// waitIDs waits until every id was delivered at least once.
func (r *recorder) waitIDs(t *testing.T, want ...string) []bus.Message {
	t.Helper()
	return r.waitFor(t, fmt.Sprintf("ids %v", want), func(msgs []bus.Message) bool {
		got := map[string]bool{}
		for _, m := range msgs {
			got[m.ID] = true
		}
		for _, id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

func ids(msgs []bus.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func count(msgs []bus.Message) map[string]int {
	c := map[string]int{}
	for _, m := range msgs {
		c[m.ID]++
	}
	return c
}

func subscribe(t *testing.T, b bus.Bus, sub bus.Subscription, h bus.Handler) bus.Consumer {
	t.Helper()
	c, err := b.Subscribe(t.Context(), sub, h)
	if err != nil {
		t.Fatalf("subscribe %s: %v", sub.Group, err)
	}
	t.Cleanup(c.Stop)
	return c
}

func publish(t *testing.T, b bus.Bus, msgs ...bus.Message) {
	t.Helper()
	if err := b.Publish(t.Context(), msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func msg(subject, id string) bus.Message {
	return bus.Message{ID: id, Subject: subject, Data: []byte(`{"id":"` + id + `"}`)}
}

// seq makes n messages on subject with IDs prefix-0 … prefix-(n-1).
func seq(subject, prefix string, n int) []bus.Message {
	out := make([]bus.Message, n)
	for i := range out {
		out[i] = msg(subject, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

func testRoundTrip(t *testing.T, h Harness) {
	b := h.New(t)
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "rt", Subjects: []string{"catalog.product_created.v1"}}, r.handler)
	want := bus.Message{
		ID:      "evt-1",
		Subject: "catalog.product_created.v1",
		Data:    []byte(`{"sku":"A-1","name":"Tea ☕"}`),
		Header:  map[string]string{"tenant": "shop-1", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
	publish(t, b, want)
	got := r.waitIDs(t, "evt-1")[0]
	want.Attempt = 1
	if got.ID != want.ID || got.Subject != want.Subject || string(got.Data) != string(want.Data) || got.Attempt != 1 {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for k, v := range want.Header {
		if got.Header[k] != v {
			t.Errorf("header %s = %q, want %q (all: %v)", k, got.Header[k], v, got.Header)
		}
	}
	if len(got.Header) != len(want.Header) {
		t.Errorf("headers %v, want exactly %v", got.Header, want.Header)
	}
}

func testDuplicateID(t *testing.T, h Harness) {
	b := h.New(t)
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "dup", Subjects: []string{"dup.x"}}, r.handler)
	publish(t, b, msg("dup.x", "same"))
	publish(t, b, msg("dup.x", "same"))
	publish(t, b, msg("dup.x", "end"))
	// With Concurrency 1 and no failures, "end" comes after both copies.
	msgs := r.waitIDs(t, "end")
	got := count(msgs)["same"]
	if h.DedupesPublish && got != 1 {
		t.Errorf("message published twice with one ID delivered %d times, want 1 (broker dedupes)", got)
	}
	if !h.DedupesPublish && got != 2 {
		t.Errorf("message published twice with one ID delivered %d times, want 2 (at least once, no broker dedupe)", got)
	}
}

func testRetryWithBackoff(t *testing.T, h Harness) {
	b := h.New(t)
	const delay = 150 * time.Millisecond
	var mu sync.Mutex
	var attempts []int
	var times []time.Time
	var backoffCalls []int
	r := newRecorder()
	sub := bus.Subscription{
		Group:       "retry",
		Subjects:    []string{"retry.x"},
		MaxAttempts: 5,
		Backoff: func(n int) time.Duration {
			mu.Lock()
			backoffCalls = append(backoffCalls, n)
			mu.Unlock()
			return delay
		},
	}
	subscribe(t, b, sub, func(ctx context.Context, m bus.Message) error {
		mu.Lock()
		attempts = append(attempts, m.Attempt)
		times = append(times, time.Now())
		n := len(attempts)
		mu.Unlock()
		if n <= 2 {
			return errors.New("transient")
		}
		r.add(m)
		return nil
	})
	publish(t, b, msg("retry.x", "r1"))
	r.waitIDs(t, "r1")
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(attempts, []int{1, 2, 3}) {
		t.Errorf("attempts %v, want [1 2 3]", attempts)
	}
	if !slices.Equal(backoffCalls, []int{1, 2}) {
		t.Errorf("backoff asked for %v, want [1 2]", backoffCalls)
	}
	for i := 1; i < len(times); i++ {
		// A redelivery can come late, never early (a little slack for clocks).
		if gap := times[i].Sub(times[i-1]); gap < delay-25*time.Millisecond {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+1, gap, delay)
		}
	}
}

func testDeadLetter(t *testing.T, h Harness) {
	b := h.New(t)
	var bad, perm atomic.Int32
	r := newRecorder()
	sub := bus.Subscription{Group: "dl", Subjects: []string{"dl.*"}, MaxAttempts: 3, Backoff: fast}
	subscribe(t, b, sub, func(ctx context.Context, m bus.Message) error {
		switch m.ID {
		case "perm":
			perm.Add(1)
			return bus.Permanent(errors.New("cannot parse"))
		case "bad":
			bad.Add(1)
			return fmt.Errorf("still broken at attempt %d", m.Attempt)
		}
		r.add(m)
		return nil
	})
	permMsg := msg("dl.perm", "perm")
	permMsg.Header = map[string]string{"tenant": "t1"}
	// Of the same store, so perm is handled (and dead-lettered) first.
	badMsg := msg("dl.bad", "bad")
	badMsg.Header = map[string]string{"tenant": "t1"}
	publish(t, b, permMsg, badMsg)
	publish(t, b, seq("dl.good", "good", 5)...)
	r.waitIDs(t, "good-000", "good-001", "good-002", "good-003", "good-004")

	var dls []bus.DeadLetter
	waitUntil(t, "two dead letters", func() bool {
		var err error
		dls, err = b.DeadLetters(t.Context(), "dl", 10)
		if err != nil {
			t.Fatalf("dead letters: %v", err)
		}
		return len(dls) == 2
	})
	if n := perm.Load(); n != 1 {
		t.Errorf("permanent failure handled %d times, want 1", n)
	}
	if n := bad.Load(); n != 3 {
		t.Errorf("failing message handled %d times, want MaxAttempts = 3", n)
	}
	byID := map[string]bus.DeadLetter{}
	for _, dl := range dls {
		byID[dl.ID] = dl
	}
	p, ok := byID["perm"]
	if !ok || p.Subject != "dl.perm" || string(p.Data) != string(permMsg.Data) || p.Header["tenant"] != "t1" ||
		p.Group != "dl" || p.Attempts != 1 || p.Error != "cannot parse" || p.FailedAt.IsZero() {
		t.Errorf("dead letter of permanent failure = %+v", p)
	}
	d, ok := byID["bad"]
	if !ok || d.Subject != "dl.bad" || d.Attempts != 3 || d.Error != "still broken at attempt 3" || d.Group != "dl" {
		t.Errorf("dead letter after attempts = %+v", d)
	}
	if dls[0].ID != "perm" {
		t.Errorf("dead letters %v, want oldest (perm) first", []string{dls[0].ID, dls[1].ID})
	}
	// Listing does not consume, and limit is honoured.
	again, err := b.DeadLetters(t.Context(), "dl", 10)
	if err != nil || len(again) != 2 {
		t.Errorf("second listing: %d dead letters, err %v; want 2", len(again), err)
	}
	one, err := b.DeadLetters(t.Context(), "dl", 1)
	if err != nil || len(one) != 1 || one[0].ID != "perm" {
		t.Errorf("listing with limit 1: %v, err %v", one, err)
	}
	other, err := b.DeadLetters(t.Context(), "nobody", 10)
	if err != nil || len(other) != 0 {
		t.Errorf("dead letters of another group: %v, err %v; want none", other, err)
	}
}

// testReplayStillFailing replays to a group that rejects the messages again:
// each replay is one delivery, and the letters that come back are not
// replayed again by the same call (which would loop).
func testReplayStillFailing(t *testing.T, h Harness) {
	b := h.New(t)
	var handled atomic.Int32
	subscribe(t, b, bus.Subscription{Group: "sf", Subjects: []string{"sf.x"}, Backoff: fast},
		func(context.Context, bus.Message) error {
			handled.Add(1)
			return bus.Permanent(errors.New("still broken"))
		})
	publish(t, b, msg("sf.x", "s1"), msg("sf.x", "s2"))
	letters := func(want int) {
		t.Helper()
		waitUntil(t, fmt.Sprintf("%d dead letters", want), func() bool {
			dls, err := b.DeadLetters(t.Context(), "sf", 0)
			if err != nil {
				t.Fatalf("dead letters: %v", err)
			}
			return len(dls) == want && handled.Load() >= int32(want)
		})
	}
	letters(2)
	for round := range 3 {
		n, err := b.Replay(t.Context(), "sf")
		if err != nil || n != 2 {
			t.Fatalf("replay round %d: n=%d err=%v, want 2", round, n, err)
		}
		waitUntil(t, "the replays to fail again", func() bool { return handled.Load() >= int32(4+2*round) })
		letters(2)
	}
	if n := handled.Load(); n != 8 {
		t.Errorf("handled %d times, want 8 (2 + 3 replays of 2)", n)
	}
}

// testReplayDuplicateID dead-letters a message published twice with one ID:
// a broker that dedupes holds one letter, another two. Replay replays every
// letter, however many share an ID, and each comes back when it fails again.
func testReplayDuplicateID(t *testing.T, h Harness) {
	b := h.New(t)
	var handled atomic.Int32
	end := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "twin", Subjects: []string{"twin.x"}, Backoff: fast},
		func(_ context.Context, m bus.Message) error {
			if m.ID == "end" {
				end.add(m)
				return nil
			}
			handled.Add(1)
			return bus.Permanent(errors.New("still broken"))
		})
	publish(t, b, msg("twin.x", "twin"))
	publish(t, b, msg("twin.x", "twin"))
	publish(t, b, msg("twin.x", "end"))
	want := 2
	if h.DedupesPublish {
		want = 1
	}
	// With Concurrency 1, a message is dead-lettered before the next one is
	// handled: once "end" is handled, every letter of "twin" is stored.
	end.waitIDs(t, "end")
	letters := func(what string) {
		t.Helper()
		var dls []bus.DeadLetter
		waitUntil(t, what, func() bool {
			var err error
			dls, err = b.DeadLetters(t.Context(), "twin", 0)
			if err != nil {
				t.Fatalf("dead letters: %v", err)
			}
			return len(dls) >= want
		})
		for _, dl := range dls {
			if dl.ID != "twin" {
				t.Errorf("dead letter %+v, want only twin", dl)
			}
		}
		if len(dls) != want {
			t.Fatalf("%d dead letters, want %d (broker dedupes: %v)", len(dls), want, h.DedupesPublish)
		}
	}
	letters(fmt.Sprintf("%d dead letters", want))
	for round := range 2 {
		n, err := b.Replay(t.Context(), "twin")
		if err != nil || n != want {
			t.Fatalf("replay round %d: n=%d err=%v, want %d", round, n, err, want)
		}
		waitUntil(t, "the replays to fail again", func() bool { return handled.Load() >= int32((round+2)*want) })
		letters("the letters to come back")
	}
	if n := handled.Load(); n != int32(3*want) {
		t.Errorf("handled %d times, want %d (%d letters, 2 replays)", n, 3*want, want)
	}
}

func testReplayToOneGroup(t *testing.T, h Harness) {
	b := h.New(t)
	var failA atomic.Bool
	failA.Store(true)
	ra, rb := newRecorder(), newRecorder()
	subscribe(t, b, bus.Subscription{Group: "a", Subjects: []string{"rp.x"}, MaxAttempts: 2, Backoff: fast},
		func(ctx context.Context, m bus.Message) error {
			if failA.Load() && m.ID != "end" {
				return bus.Permanent(errors.New("a is broken"))
			}
			ra.add(m)
			return nil
		})
	subscribe(t, b, bus.Subscription{Group: "b", Subjects: []string{"rp.x"}}, rb.handler)
	m1 := msg("rp.x", "m1")
	m1.Header = map[string]string{"tenant": "t9"}
	publish(t, b, m1, msg("rp.x", "m2"), msg("rp.x", "m3"))
	rb.waitIDs(t, "m1", "m2", "m3")
	waitUntil(t, "three dead letters in a", func() bool {
		dls, err := b.DeadLetters(t.Context(), "a", 0)
		if err != nil {
			t.Fatalf("dead letters: %v", err)
		}
		return len(dls) == 3
	})
	failA.Store(false)

	n, err := b.Replay(t.Context(), "a", "m2")
	if err != nil || n != 1 {
		t.Fatalf("replay m2: n=%d err=%v, want 1", n, err)
	}
	got := ra.waitIDs(t, "m2")
	if got[0].Attempt != 1 || got[0].Subject != "rp.x" {
		t.Errorf("replayed message %+v, want attempt 1 on rp.x", got[0])
	}
	dls, err := b.DeadLetters(t.Context(), "a", 0)
	if err != nil || len(dls) != 2 {
		t.Fatalf("after replaying one: %d dead letters, err %v; want 2", len(dls), err)
	}
	n, err = b.Replay(t.Context(), "a")
	if err != nil || n != 2 {
		t.Fatalf("replay all: n=%d err=%v, want 2", n, err)
	}
	got = ra.waitIDs(t, "m1", "m3")
	for _, m := range got {
		if m.ID == "m1" && (m.Header["tenant"] != "t9" || string(m.Data) != string(m1.Data)) {
			t.Errorf("replayed m1 lost its header or data: %+v", m)
		}
	}
	if dls, _ := b.DeadLetters(t.Context(), "a", 0); len(dls) != 0 {
		t.Errorf("dead letters left after replaying all: %v", dls)
	}
	// Group b must not see the replays: it handles in order, so had they
	// reached it they would come before "end".
	publish(t, b, msg("rp.x", "end"))
	bmsgs := rb.waitIDs(t, "end")
	if c := count(bmsgs); c["m1"] != 1 || c["m2"] != 1 || c["m3"] != 1 || len(bmsgs) != 4 {
		t.Errorf("group b got %v, want m1 m2 m3 end once each", ids(bmsgs))
	}
	ra.waitIDs(t, "end")
	if c := count(ra.all()); c["m1"] != 1 || c["m2"] != 1 || c["m3"] != 1 {
		t.Errorf("group a got %v, want each replayed message once", ids(ra.all()))
	}
}

func testGroupSharesWork(t *testing.T, h Harness) {
	prefix := NewPrefix()
	b1, b2 := h.open(t, prefix), h.open(t, prefix)
	const n = 40
	r1, r2, all := newRecorder(), newRecorder(), newRecorder()
	handler := func(r *recorder) bus.Handler {
		return func(ctx context.Context, m bus.Message) error {
			// A little work, so both consumers get a share.
			time.Sleep(5 * time.Millisecond)
			r.add(m)
			all.add(m)
			return nil
		}
	}
	sub := bus.Subscription{Group: "workers", Subjects: []string{"work.>"}}
	c1 := subscribe(t, b1, sub, handler(r1))
	c2 := subscribe(t, b2, sub, handler(r2))
	work := seq("work.item", "w", n)
	for i := range work {
		// Each of its own store: an adapter that partitions by store
		// (kafkabus) shares work between stores.
		work[i].Header = map[string]string{"tenant": fmt.Sprintf("shop-%02d", i)}
	}
	publish(t, b1, work...)
	all.waitFor(t, "all work items", func(msgs []bus.Message) bool { return len(count(msgs)) == n })
	c1.Stop()
	c2.Stop()
	for id, c := range count(all.all()) {
		if c != 1 {
			t.Errorf("%s handled %d times, want once", id, c)
		}
	}
	n1, n2 := len(r1.all()), len(r2.all())
	if n1 == 0 || n2 == 0 {
		t.Errorf("work split %d/%d, want both consumers to get some", n1, n2)
	}
	t.Logf("work split %d/%d", n1, n2)
}

// testDeadReplicaHandsOver: two replicas of a consumer share one group; the
// one that dies (its connection closed while a handler runs, without an
// ack or a Stop) leaves its unacknowledged message to the other, which also
// gets everything published after the death. The messages come from many
// stores, so that an adapter that gives each replica a share of the stores
// (kafkabus, whose replica holds its partitions while its handler runs)
// is held to the same rule as one that gives out messages one by one.
func testDeadReplicaHandsOver(t *testing.T, h Harness) {
	prefix := NewPrefix()
	b1, b2 := h.open(t, prefix), h.open(t, prefix)
	sub := bus.Subscription{Group: "replicas", Subjects: []string{"hand.>"}}
	stuck, release := make(chan string, 1), make(chan struct{})
	subscribe(t, b1, sub, func(ctx context.Context, m bus.Message) error {
		select {
		case stuck <- m.ID:
		default:
		}
		<-release
		return errors.New("replica died")
	})
	// Cleanups run last first: release the dead replica's handler before
	// its Stop waits for it.
	t.Cleanup(func() { close(release) })
	r := newRecorder()
	subscribe(t, b2, sub, r.handler)
	fromStore := func(id string, store int) bus.Message {
		m := msg("hand.x", id)
		m.Header = map[string]string{"tenant": fmt.Sprintf("shop-%02d", store)}
		return m
	}
	// One message at a time, each of another store, until replica 1 is
	// stuck in a handler.
	var sent []string
	first := ""
	until := time.Now().Add(timeout)
	for first == "" {
		if time.Now().After(until) {
			t.Fatalf("replica 1 got none of %d messages", len(sent))
		}
		m := fromStore(fmt.Sprintf("before-%03d", len(sent)), len(sent))
		publish(t, b2, m)
		sent = append(sent, m.ID)
		select {
		case first = <-stuck:
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Replica 1 dies with its message unacknowledged.
	if err := b1.Close(); err != nil {
		t.Logf("close replica 1: %v", err)
	}
	for i := range 5 {
		m := fromStore(fmt.Sprintf("after-%03d", i), i)
		publish(t, b2, m)
		sent = append(sent, m.ID)
	}
	deadline := time.Now().Add(timeout + h.Redelivery)
	r.waitForUntil(t, "the dead replica's message ("+first+") and every other", deadline, func(msgs []bus.Message) bool {
		got := ids(msgs)
		for _, id := range sent {
			if !slices.Contains(got, id) {
				return false
			}
		}
		return true
	})
}

func testGroupsEachGetAll(t *testing.T, h Harness) {
	b := h.New(t)
	const n = 20
	r1, r2 := newRecorder(), newRecorder()
	subscribe(t, b, bus.Subscription{Group: "g1", Subjects: []string{"order.placed.v1"}}, r1.handler)
	subscribe(t, b, bus.Subscription{Group: "g2", Subjects: []string{"order.*.v1"}, Concurrency: 3}, r2.handler)
	publish(t, b, seq("order.placed.v1", "o", n)...)
	for _, r := range []*recorder{r1, r2} {
		msgs := r.waitFor(t, "all orders", func(msgs []bus.Message) bool { return len(count(msgs)) == n })
		if len(msgs) != n {
			t.Errorf("group got %d deliveries for %d messages", len(msgs), n)
		}
	}
}

func testWildcards(t *testing.T, h Harness) {
	b := h.New(t)
	r := newRecorder()
	patterns := []string{"shop.*.created", "audit.>"}
	subscribe(t, b, bus.Subscription{Group: "wild", Subjects: patterns, Concurrency: 2}, r.handler)
	subjects := []string{
		"shop.order.updated", "shop.a.b.created", "shop.created", "audit", "other.audit.x", "auditx.y",
		"shop.order.created", "audit.x", "audit.x.y.z",
	}
	var want []string
	for i, s := range subjects {
		id := fmt.Sprintf("s%d", i)
		if slices.ContainsFunc(patterns, func(p string) bool { return bus.Match(p, s) }) {
			want = append(want, id)
		}
		publish(t, b, msg(s, id))
	}
	if len(want) != 3 {
		t.Fatalf("bus.Match selects %v, want the last three", want)
	}
	// Non-matching messages were published first: had they been routed,
	// they would most likely have arrived by now.
	msgs := r.waitIDs(t, want...)
	slices.Sort(want)
	got := ids(msgs)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	for _, m := range msgs {
		if m.ID == "s7" && m.Subject != "audit.x" {
			t.Errorf("s7 delivered with subject %q, want audit.x", m.Subject)
		}
	}
}

func testOrder(t *testing.T, h Harness) {
	b := h.New(t)
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "ord", Subjects: []string{"ord.*"}, Concurrency: 1}, r.handler)
	const n = 30
	var batch []bus.Message
	for i := range n {
		batch = append(batch, msg("ord.a", fmt.Sprintf("a-%03d", i)), msg("ord.b", fmt.Sprintf("b-%03d", i)))
	}
	publish(t, b, batch[:n]...)
	for _, m := range batch[n:] {
		publish(t, b, m) // one at a time as well as in a batch
	}
	msgs := r.waitFor(t, "all ordered messages", func(msgs []bus.Message) bool { return len(count(msgs)) == 2*n })
	last := map[string]string{}
	for _, m := range msgs {
		if prev := last[m.Subject]; m.ID <= prev {
			t.Errorf("on %s, %s delivered after %s", m.Subject, m.ID, prev)
		}
		last[m.Subject] = m.ID
	}
}

// testLargeBatch publishes one batch larger than an adapter's window of
// messages in flight (the outbox relay sends up to 100 at once): every message
// arrives, and each subject's in publish order.
func testLargeBatch(t *testing.T, h Harness) {
	b := h.New(t)
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "large", Subjects: []string{"large.*"}, Concurrency: 1}, r.handler)
	const n = 1000
	subjects := []string{"large.a", "large.b", "large.c"}
	batch := make([]bus.Message, n)
	for i := range batch {
		batch[i] = msg(subjects[i%len(subjects)], fmt.Sprintf("m-%04d", i))
	}
	publish(t, b, batch...)
	msgs := r.waitFor(t, "the whole batch", func(msgs []bus.Message) bool { return len(count(msgs)) == n })
	last := map[string]string{}
	for _, m := range msgs {
		if prev := last[m.Subject]; m.ID <= prev {
			t.Errorf("on %s, %s delivered after %s", m.Subject, m.ID, prev)
		}
		last[m.Subject] = m.ID
	}
	if len(msgs) != n && h.DedupesPublish {
		t.Errorf("%d deliveries of %d messages published once", len(msgs), n)
	}
}

func testConcurrency(t *testing.T, h Harness) {
	b := h.New(t)
	const conc = 4
	var inFlight, maxSeen atomic.Int32
	release := make(chan struct{})
	full := make(chan struct{}, 1)
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "conc", Subjects: []string{"conc.x"}, Concurrency: conc},
		func(ctx context.Context, m bus.Message) error {
			n := inFlight.Add(1)
			for {
				old := maxSeen.Load()
				if n <= old || maxSeen.CompareAndSwap(old, n) {
					break
				}
			}
			if n == conc {
				select {
				case full <- struct{}{}:
				default:
				}
			}
			<-release
			inFlight.Add(-1)
			r.add(m)
			return nil
		})
	publish(t, b, seq("conc.x", "c", 2*conc)...)
	select {
	case <-full:
	case <-time.After(timeout):
		t.Fatalf("never had %d handlers running at once (max %d)", conc, maxSeen.Load())
	}
	close(release)
	r.waitFor(t, "all messages", func(msgs []bus.Message) bool { return len(count(msgs)) == 2*conc })
	if m := maxSeen.Load(); m != conc {
		t.Errorf("max handlers at once %d, want %d", m, conc)
	}
}

func testStopWaits(t *testing.T, h Harness) {
	b := h.New(t)
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	c := subscribe(t, b, bus.Subscription{Group: "stop", Subjects: []string{"stop.x"}},
		func(ctx context.Context, m bus.Message) error {
			close(started)
			<-release
			finished.Store(true)
			return nil
		})
	publish(t, b, msg("stop.x", "s1"))
	select {
	case <-started:
	case <-time.After(timeout):
		t.Fatal("handler never started")
	}
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	close(release)
	select {
	case <-stopped:
	case <-time.After(timeout):
		t.Fatal("Stop did not return")
	}
	if !finished.Load() {
		t.Error("Stop returned before the handler in flight finished")
	}
	// The handled message was acknowledged: a new consumer of the group
	// gets the next message, not s1 again.
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "stop", Subjects: []string{"stop.x"}}, r.handler)
	publish(t, b, msg("stop.x", "s2"))
	if got := ids(r.waitIDs(t, "s2")); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("after restart of the consumer got %v, want [s2]", got)
	}
}

func testContextCancel(t *testing.T, h Harness) {
	b := h.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	var old atomic.Int32
	c, err := b.Subscribe(ctx, bus.Subscription{Group: "cc", Subjects: []string{"cc.x"}},
		func(ctx context.Context, m bus.Message) error { old.Add(1); return nil })
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	cancel()
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(timeout):
		t.Fatal("consumer did not stop after its context was cancelled")
	}
	r := newRecorder()
	subscribe(t, b, bus.Subscription{Group: "cc", Subjects: []string{"cc.x"}}, r.handler)
	publish(t, b, msg("cc.x", "c1"))
	r.waitIDs(t, "c1")
	if n := old.Load(); n != 0 {
		t.Errorf("cancelled consumer handled %d messages", n)
	}
}

func testRetainedWhileStopped(t *testing.T, h Harness) {
	b := h.New(t)
	sub := bus.Subscription{Group: "later", Subjects: []string{"kept.>"}}
	c := subscribe(t, b, sub, func(context.Context, bus.Message) error { return errors.New("not now") })
	c.Stop()
	publish(t, b, seq("kept.x", "k", 5)...)
	r := newRecorder()
	subscribe(t, b, sub, r.handler)
	r.waitIDs(t, "k-000", "k-001", "k-002", "k-003", "k-004")
}

func testDurability(t *testing.T, h Harness) {
	prefix := NewPrefix()
	b1 := h.open(t, prefix)
	stored := bus.Subscription{Group: "stored", Subjects: []string{"dur.>"}}
	c := subscribe(t, b1, stored, func(context.Context, bus.Message) error { return errors.New("not now") })
	c.Stop()
	live := newRecorder()
	subscribe(t, b1, bus.Subscription{Group: "live", Subjects: []string{"dur.>"}, Backoff: fast}, live.handler)

	before := seq("dur.x", "before", 10)
	publish(t, b1, before...)
	live.waitIDs(t, ids(before)...)

	if h.Restart != nil {
		h.Restart(t)
	} else {
		t.Log("broker restart not configured: checking durability with a brand-new client and connection only")
	}
	// Publishing through the old client works again once it has reconnected.
	after := seq("dur.x", "after", 10)
	waitUntil(t, "publish after restart", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		err := b1.Publish(ctx, after...)
		if err != nil {
			t.Logf("publish after restart: %v (retrying)", err)
		}
		return err == nil
	})
	// The consumer that ran across the restart resumes by itself.
	live.waitIDs(t, ids(after)...)

	// A brand-new client finds everything the stopped group was kept.
	b2 := h.open(t, prefix)
	r := newRecorder()
	subscribe(t, b2, stored, r.handler)
	msgs := r.waitIDs(t, append(ids(before), ids(after)...)...)
	if len(count(msgs)) != len(before)+len(after) {
		t.Errorf("stored group got %v", ids(msgs))
	}
}

// waitUntil polls cond every 50ms until it holds or the timeout passes. It is
// for state that has no notification (a dead-letter store).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		}
	}
}

// Logger returns a logger writing to the test's output (shown for failing
// tests and with -v), at warn level, or debug with MERCATO_TEST_BUS_DEBUG set.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("MERCATO_TEST_BUS_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// listen starts listening on b, skipping the test when the adapter cannot.
func listen(t *testing.T, b bus.Bus, patterns []string, r *recorder) bus.Consumer {
	t.Helper()
	l, ok := b.(bus.Listener)
	if !ok {
		t.Skip("the adapter does not listen (bus.Listener)")
	}
	c, err := l.Listen(t.Context(), patterns, r.add)
	if err != nil {
		t.Fatalf("listen %v: %v", patterns, err)
	}
	t.Cleanup(c.Stop)
	return c
}

// testListenFanOut: two clients listening each get every matching message,
// in order and with its ID, subject, data and headers, and nothing else,
// while a durable group spread over the same clients still handles each
// message once.
func testListenFanOut(t *testing.T, h Harness) {
	prefix := NewPrefix()
	b1, b2 := h.open(t, prefix), h.open(t, prefix)
	l1, l2, group := newRecorder(), newRecorder(), newRecorder()
	listen(t, b1, []string{"live.*.v1"}, l1)
	listen(t, b2, []string{"live.>"}, l2)
	sub := bus.Subscription{Group: "durable", Subjects: []string{"live.>"}}
	subscribe(t, b1, sub, group.handler)
	subscribe(t, b2, sub, group.handler)
	const n = 20
	msgs := seq("live.order.v1", "l", n)
	for i := range msgs {
		msgs[i].Header = map[string]string{"tenant": "shop-1"} // one store: in order
	}
	publish(t, b1, msg("other.order.v1", "not-heard"))
	publish(t, b1, msgs...)
	for i, r := range []*recorder{l1, l2} {
		got := r.waitFor(t, "every message", func(ms []bus.Message) bool { return len(ms) >= n })
		if !slices.Equal(ids(got), ids(msgs)) {
			t.Errorf("listener %d heard %v, want %v in order", i+1, ids(got), ids(msgs))
		}
		if got[0].Subject != "live.order.v1" || string(got[0].Data) != string(msgs[0].Data) || got[0].Header["tenant"] != "shop-1" {
			t.Errorf("listener %d heard %+v, want %+v", i+1, got[0], msgs[0])
		}
	}
	group.waitFor(t, "the group's share", func(ms []bus.Message) bool { return len(count(ms)) == n })
	for id, c := range count(group.all()) {
		if c != 1 {
			t.Errorf("group handled %s %d times, want once", id, c)
		}
	}
}

// testListenKeepsNothing: a listener hears only what is published while it
// listens; a stopped one gets nothing later, and nothing waits for it.
func testListenKeepsNothing(t *testing.T, h Harness) {
	b := h.New(t)
	first := newRecorder()
	c := listen(t, b, []string{"gone.x"}, first)
	publish(t, b, msg("gone.x", "before"))
	first.waitIDs(t, "before")
	c.Stop()
	publish(t, b, msg("gone.x", "while-away"))
	second := newRecorder()
	listen(t, b, []string{"gone.x"}, second)
	publish(t, b, msg("gone.x", "after"))
	got := second.waitIDs(t, "after")
	if !slices.Equal(ids(got), []string{"after"}) {
		t.Errorf("new listener heard %v, want only [after]", ids(got))
	}
	if !slices.Equal(ids(first.all()), []string{"before"}) {
		t.Errorf("stopped listener heard %v, want only [before]", ids(first.all()))
	}
}
