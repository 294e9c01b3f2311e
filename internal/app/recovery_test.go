package app_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus/natstest"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// emitter is a service with an outbox and a consumer of its own events.
type emitter struct {
	d kit.Deps

	mu  sync.Mutex
	got []string
}

func (e *emitter) Run(ctx context.Context) error {
	c, err := outbox.Consume(ctx, e.d.Bus, e.d.DB, bus.Subscription{Group: "emitter-listener", Subjects: []string{"emit.>"}}, time.Now,
		func(_ context.Context, _ *sql.Tx, env outbox.Envelope) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.got = append(e.got, string(env.Data))
			return nil
		})
	if err != nil {
		return err
	}
	<-ctx.Done()
	c.Stop()
	return nil
}

// emit writes one event to the outbox, as a service's write would.
func (e *emitter) emit(t *testing.T, name string) {
	t.Helper()
	ctx := tenancy.WithID(t.Context(), tenancy.DefaultID)
	err := e.d.DB.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return outbox.AddEvent(ctx, tx, "emitter", "emit.happened.v1", time.Now(), name)
	})
	if err != nil {
		t.Fatalf("emit %s: %v", name, err)
	}
	e.d.Relay.Notify()
}

func (e *emitter) waitGot(t *testing.T, name string) {
	t.Helper()
	want := `"` + name + `"`
	waitFor(t, "event "+name+" handled", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return slices.Contains(e.got, want)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrokerComesBackEmpty: the process publishes through its outbox to a
// NATS server of the test's own, which is killed, wiped and started again.
// /readyz says 503 with the outbox's reason while events cannot be
// published, and the metrics say so; once the server is back the process,
// never restarted, publishes again, /readyz answers 200 by itself, and the
// consumer group made before the loss receives the events written after it.
func TestBrokerComesBackEmpty(t *testing.T) {
	srv := natstest.Start(t)
	e := &emitter{}
	sys, url := serveWith(t, func(c *app.Config) {
		c.Bus = srv.URL()
		c.OutboxReadyMaxAge = 2 * time.Second
	}, app.Service{Name: "emitter", New: func(ctx context.Context, p *app.Platform) (any, error) {
		d, err := p.Deps(ctx, "emitter", outbox.Migrations)
		e.d = d
		return e, err
	}})
	metrics, _ := metricsURLs.Load(sys)
	e.emit(t, "before")
	e.waitGot(t, "before")
	if status, body := call(t, "GET", url+"/readyz", ""); status != 200 {
		t.Fatalf("readyz before the loss: %d %s", status, body)
	}

	srv.Kill()
	srv.Wipe()
	e.emit(t, "during")
	var body string
	waitFor(t, "readyz 503 while the outbox cannot publish", func() bool {
		var status int
		status, body = call(t, "GET", url+"/readyz", "")
		return status == 503
	})
	if !strings.Contains(body, "outbox of emitter") {
		t.Errorf("readyz 503 without the outbox's reason: %s", body)
	}
	// A publish fails after its acknowledgement's timeout (5 s).
	var m string
	waitFor(t, "metrics showing the waiting event and publish errors", func() bool {
		_, m = call(t, "GET", metrics.(string)+"/metrics", "")
		return strings.Contains(m, `mercato_outbox_unpublished{service="emitter"} 1`) &&
			strings.Contains(m, `mercato_outbox_publish_errors_total{service="emitter"}`) &&
			!strings.Contains(m, `mercato_outbox_publish_errors_total{service="emitter"} 0`)
	})
	if status, body := call(t, "GET", url+"/readyz", ""); status != 503 || !strings.Contains(body, "cannot publish") {
		t.Errorf("readyz while publishing fails: %d %s; want 503 saying the outbox cannot publish", status, body)
	}

	srv.Start()
	e.waitGot(t, "during")
	e.emit(t, "after")
	e.waitGot(t, "after")
	waitFor(t, "readyz 200 again", func() bool {
		status, _ := call(t, "GET", url+"/readyz", "")
		return status == 200
	})
	_, m = call(t, "GET", metrics.(string)+"/metrics", "")
	for _, want := range []string{
		`mercato_outbox_unpublished{service="emitter"} 0`,
		`mercato_outbox_oldest_unpublished_age_seconds{service="emitter"} 0`,
		`mercato_events_handled_total{group="emitter-listener",outcome="ok"} 3`,
		`mercato_event_handle_lag_seconds_count{group="emitter-listener"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics after recovery lack %s:\n%s", want, grep(m, "mercato_outbox", "mercato_event"))
		}
	}
}

// grep keeps the lines of s that contain one of the words.
func grep(s string, words ...string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if slices.ContainsFunc(words, func(w string) bool { return strings.Contains(line, w) }) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
