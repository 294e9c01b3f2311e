package natsbus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus/natstest"
)

// got collects the IDs a handler saw.
type got struct {
	mu  sync.Mutex
	ids []string
}

func (g *got) handler(_ context.Context, m bus.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ids = append(g.ids, m.ID)
	return nil
}

func (g *got) wait(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g.mu.Lock()
		missing := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return slices.Contains(g.ids, id) })
		g.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %v", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgs(prefix string, n int) ([]bus.Message, []string) {
	var ms []bus.Message
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		ms = append(ms, bus.Message{ID: id, Subject: "order.confirmed.v1", Data: []byte(id)})
		ids = append(ids, id)
	}
	return ms, ids
}

// TestServerComesBackEmpty kills a server of the test's own, wipes its store
// and starts it again, as an operator's broker that lost its volume: the same
// client publishes again without a restart (the stream is declared again),
// and a group subscribed before the loss receives what is published after
// it (its consumer is declared again and reads the new stream from the
// start).
//
// It runs on a nats-server program (the version installed; before 2.10 a
// group is a consumer per pattern) and on the embedded server (2.10+, one
// consumer per group), wiped the same way.
func TestServerComesBackEmpty(t *testing.T) {
	t.Run("program", func(t *testing.T) {
		srv := natstest.Start(t)
		comesBackEmpty(t, srv.URL(), func() { srv.Kill(); srv.Wipe(); srv.Start() })
	})
	t.Run("embedded", func(t *testing.T) {
		dir, log := t.TempDir(), testLogger(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		opts := natsbus.Options{Dir: dir, Listen: addr}
		srv, err := natsbus.StartEmbedded(opts, log)
		if err != nil {
			t.Fatalf("start embedded server: %v", err)
		}
		t.Cleanup(func() { srv.Shutdown() })
		comesBackEmpty(t, "nats://"+addr, func() {
			srv.Shutdown()
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if srv, err = natsbus.StartEmbedded(opts, log); err != nil {
				t.Fatalf("start embedded server again: %v", err)
			}
		})
	})
}

func comesBackEmpty(t *testing.T, url string, wipe func()) {
	b, err := natsbus.Connect(t.Context(), url, natsbus.Options{}, testLogger(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	var g got
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "cart", Subjects: []string{"order.>"}}, g.handler)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)
	before, beforeIDs := msgs("before", 3)
	if err := b.Publish(t.Context(), before...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	g.wait(t, beforeIDs...)

	wipe()

	after, afterIDs := msgs("after", 5)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		err := b.Publish(ctx, after...)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the server came back empty: %v", err)
		}
		t.Logf("publish after the wipe: %v (retrying)", err)
		time.Sleep(100 * time.Millisecond)
	}
	g.wait(t, afterIDs...)
}

// TestNewGroupGetsRetained: a group subscribed for the first time after
// events were published receives every event the stream retains, and a
// group that exists resumes where it was.
func TestNewGroupGetsRetained(t *testing.T) {
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
	early, earlyIDs := msgs("early", 4)
	if err := b.Publish(t.Context(), early...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	var first got
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "late", Subjects: []string{"order.*.v1"}}, first.handler)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	first.wait(t, earlyIDs...)
	c.Stop()

	// The group exists now: subscribing again resumes after what it acked.
	more, moreIDs := msgs("more", 2)
	if err := b.Publish(t.Context(), more...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	var again got
	c, err = b.Subscribe(t.Context(), bus.Subscription{Group: "late", Subjects: []string{"order.*.v1"}}, again.handler)
	if err != nil {
		t.Fatalf("subscribe again: %v", err)
	}
	t.Cleanup(c.Stop)
	again.wait(t, moreIDs...)
	again.mu.Lock()
	defer again.mu.Unlock()
	for _, id := range again.ids {
		if slices.Contains(earlyIDs, id) {
			t.Errorf("resumed group got %s again, acked before", id)
		}
	}
}
