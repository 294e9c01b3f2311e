package natsbus_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus/natstest"
)

func testLogger(t *testing.T) *slog.Logger { return bustest.Logger(t) }

func teardown(ctx context.Context, b bus.Bus) error { return b.(*natsbus.Bus).Teardown(ctx) }

// ackWait is the contract suite's AckWait: short, so a dead replica's
// message comes back to the other soon (running handlers extend it).
const ackWait = 3 * time.Second

func TestEmbedded(t *testing.T) {
	log := testLogger(t)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	// Keep one stream for the whole run: when a test's teardown deletes the
	// account's last stream, the server removes its directory asynchronously
	// and a stream created at that moment fails ("could not create storage
	// directory"). An application never deletes its streams, tests do.
	keep, err := natsbus.ConnectEmbedded(t.Context(), srv, natsbus.Options{Prefix: "KEEP"}, log)
	if err != nil {
		t.Fatalf("connect embedded: %v", err)
	}
	t.Cleanup(func() { _ = keep.Close() })
	bustest.Run(t, bustest.Harness{
		Open: func(t *testing.T, prefix string) bus.Bus {
			b, err := natsbus.ConnectEmbedded(t.Context(), srv, natsbus.Options{Prefix: prefix, AckWait: ackWait}, testLogger(t))
			if err != nil {
				t.Fatalf("connect embedded: %v", err)
			}
			return b
		},
		Teardown:   teardown,
		Redelivery: ackWait,
		Restart: func(t *testing.T) {
			if err := srv.Restart(); err != nil {
				t.Fatalf("restart embedded server: %v", err)
			}
		},
		DedupesPublish: true,
	})
}

func TestExternal(t *testing.T) {
	url := os.Getenv("MERCATO_TEST_NATS")
	if url == "" {
		t.Skip("MERCATO_TEST_NATS not set (e.g. nats://127.0.0.1:4222): skipping the external NATS server")
	}
	// This test restarts the shared server: keep other packages off it meanwhile.
	bustest.LockBroker(t, "nats", true)
	if err := natstest.JetStreamUp(t.Context(), url); err != nil {
		t.Fatalf("MERCATO_TEST_NATS=%s is set but JetStream does not answer: %v", url, err)
	}
	h := bustest.Harness{
		Open: func(t *testing.T, prefix string) bus.Bus {
			b, err := natsbus.Connect(t.Context(), url, natsbus.Options{Prefix: prefix, AckWait: ackWait}, testLogger(t))
			if err != nil {
				t.Fatalf("connect to MERCATO_TEST_NATS=%s: %v", url, err)
			}
			return b
		},
		Teardown:       teardown,
		Redelivery:     ackWait,
		DedupesPublish: true,
	}
	if cmd := os.Getenv("MERCATO_TEST_NATS_RESTART"); cmd != "" {
		h.Restart = func(t *testing.T) { restartExternal(t, url, cmd) }
	}
	bustest.Run(t, h)
}

// restartExternal runs the restart command and waits until JetStream answers.
func restartExternal(t *testing.T, url, command string) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.WaitDelay = 5 * time.Second // the restarted daemon may inherit our pipes
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restart nats with %q: %v\n%s", command, err, out)
	}
	t.Logf("restarted nats: %s", out)
	for {
		if err := natstest.JetStreamUp(ctx, url); err == nil {
			return
		} else if ctx.Err() != nil {
			t.Fatalf("nats did not come back after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlowHandlerKeepsMessage checks that in-progress acks keep a message
// with a handler running longer than AckWait: the idle second worker would
// otherwise get it redelivered.
func TestSlowHandlerKeepsMessage(t *testing.T) {
	log := testLogger(t)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	b, err := natsbus.ConnectEmbedded(t.Context(), srv, natsbus.Options{AckWait: time.Second}, log)
	if err != nil {
		t.Fatalf("connect embedded: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan string, 10)
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "slow", Subjects: []string{"slow.x"}, Concurrency: 2},
		func(ctx context.Context, m bus.Message) error {
			mu.Lock()
			seen[m.ID]++
			mu.Unlock()
			if m.ID == "slow" {
				time.Sleep(2500 * time.Millisecond) // the work, 2.5 × AckWait
			}
			done <- m.ID
			return nil
		})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)
	if err := b.Publish(t.Context(), bus.Message{ID: "slow", Subject: "slow.x"}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	waitDone(t, done, "slow")
	if err := b.Publish(t.Context(), bus.Message{ID: "next", Subject: "slow.x"}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	waitDone(t, done, "next")
	mu.Lock()
	defer mu.Unlock()
	if seen["slow"] != 1 {
		t.Errorf("slow message handled %d times, want once", seen["slow"])
	}
}

func waitDone(t *testing.T, done <-chan string, id string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-done:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", id)
		}
	}
}

// TestBacklog: Backlog counts what the Bus's subscriptions have still to
// handle, the message in a handler included, and is 0 once all is handled.
func TestBacklog(t *testing.T) {
	log := testLogger(t)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	b, err := natsbus.ConnectEmbedded(t.Context(), srv, natsbus.Options{}, log)
	if err != nil {
		t.Fatalf("connect embedded: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if n, err := b.Backlog(t.Context()); err != nil || n != 0 {
		t.Fatalf("backlog without subscriptions: %d, %v", n, err)
	}
	release := make(chan struct{})
	var released sync.Once
	releaseAll := func() { released.Do(func() { close(release) }) }
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "backlog", Subjects: []string{"backlog.x"}},
		func(ctx context.Context, m bus.Message) error { <-release; return nil })
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)
	t.Cleanup(releaseAll) // before Stop, which waits for the handler
	for _, id := range []string{"a", "b", "c"} {
		if err := b.Publish(t.Context(), bus.Message{ID: id, Subject: "backlog.x"}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	// The server counts a consumer's pending messages a moment after the
	// stream took them.
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := b.Backlog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 3 {
			break
		}
		if n > 3 || time.Now().After(deadline) {
			t.Fatalf("backlog with 3 published, none handled: %d; want 3", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	releaseAll()
	deadline = time.Now().Add(20 * time.Second)
	for {
		n, err := b.Backlog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d 20 s after the handler was released", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
