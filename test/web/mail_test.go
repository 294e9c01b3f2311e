package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/test/harness"
)

// mailbox reads the tokens identity publishes for the customer emails
// (verification and password reset) from the process's bus, as the notify
// service does: the links a customer would find in their mail, with no
// back door in the program.
type mailbox struct {
	t      *testing.T
	mu     sync.Mutex
	tokens map[string][]string // subject + " " + lowercased email → tokens, oldest first
}

// startWithMailbox runs a fresh mercato whose embedded bus also listens on
// a loopback port, and subscribes to identity's mail events on it.
func startWithMailbox(t *testing.T, args ...string) (*harness.Proc, *mailbox) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := start(t, append([]string{"-bus.listen=" + addr}, args...)...)
	b, err := natsbus.Connect(t.Context(), "nats://"+addr, natsbus.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connect to the bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	mb := &mailbox{t: t, tokens: map[string][]string{}}
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "web-test-mailbox", Subjects: []string{
		identityapi.SubjectEmailVerificationRequested, identityapi.SubjectPasswordResetRequested,
	}}, func(_ context.Context, m bus.Message) error {
		e, err := outbox.Decode(m)
		if err != nil {
			return err
		}
		var d struct {
			Email string `json:"email"`
			Token string `json:"token"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return err
		}
		mb.mu.Lock()
		k := e.Type + " " + strings.ToLower(d.Email)
		mb.tokens[k] = append(mb.tokens[k], d.Token)
		mb.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return p, mb
}

// token waits for the n-th (1-based) token of subject mailed to email.
func (mb *mailbox) token(subject, email string, n int) string {
	mb.t.Helper()
	k := subject + " " + strings.ToLower(email)
	for deadline := time.Now().Add(20 * time.Second); ; {
		mb.mu.Lock()
		got := mb.tokens[k]
		mb.mu.Unlock()
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			mb.t.Fatalf("no mail %d of %s to %s within 20s (%d arrived)", n, subject, email, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
