package telemetry_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// A caller's trace context, as an upstream service or browser would send it.
const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
	callerTP    = "00-" + callerTrace + "-" + callerSpan + "-01"
)

type placed struct {
	OrderID string `json:"order_id"`
}

// pipeline is the path of one order through the platform: a POST served by
// the web platform writes order.placed.v1 to the outbox in its transaction,
// a relay publishes it to the embedded bus, and a consumer applies it through
// the inbox, writing a follow-up event of its own.
type pipeline struct {
	srv   *webtest.Server
	relay *outbox.Relay

	mu       sync.Mutex
	consumed []outbox.Envelope
	followUp []outbox.Envelope
}

// newPipeline builds the path with tp (nil: tracing off).
func newPipeline(t *testing.T, tp trace.TracerProvider) *pipeline {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	db := sqldbtest.Open(t, "", outbox.Migrations)
	ns, err := natsbus.StartEmbedded(natsbus.Options{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	b, err := natsbus.ConnectEmbedded(t.Context(), ns, natsbus.Options{}, log)
	if err != nil {
		ns.Shutdown()
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(func() { b.Close(); ns.Shutdown() })

	p := &pipeline{relay: outbox.NewRelay(db, b, log, outbox.RelayConfig{Tracer: tp})}
	sub := bus.Subscription{Group: "fulfil", Subjects: []string{"order.placed.v1"}, MaxAttempts: 2, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
	c, err := outbox.Consume(outbox.WithTracing(t.Context(), tp), b, db, sub, time.Now, func(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
		next, err := outbox.NewEvent(ctx, "fulfil", "order.fulfilment_started.v1", time.Now(), e.Data)
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.consumed = append(p.consumed, e)
		p.followUp = append(p.followUp, next)
		p.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)

	p.srv = webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "place-order", Method: http.MethodPost, Path: "/api/v1/orders", DefaultStatus: http.StatusAccepted}),
			func(ctx context.Context, in *struct{ Body placed }) (*struct{}, error) {
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					e, err := outbox.NewEvent(ctx, "order", "order.placed.v1", time.Now(), in.Body)
					if err != nil {
						return err
					}
					return outbox.Add(ctx, tx, e)
				})
				return nil, err
			})
	}, func(d *web.Deps) { d.Tracer = tp })
	return p
}

// place posts an order with the given traceparent header (none when empty),
// publishes the outbox and waits for the consumer to apply the event.
func (p *pipeline) place(t *testing.T, traceparent string) (outbox.Envelope, outbox.Envelope) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.srv.URL+"/api/v1/orders", strings.NewReader(`{"order_id":"o-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.TenantHeader, "acme")
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/v1/orders = %d", resp.StatusCode)
	}
	if n, err := p.relay.Flush(t.Context()); err != nil || n != 1 {
		t.Fatalf("flush = %d, %v; want 1", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		n := len(p.consumed)
		p.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the consumer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.consumed[0], p.followUp[0]
}

// TestTracingOffCarriesTraceparent: without a tracer no span is made, but a
// caller's traceparent still reaches the event the request writes, and the
// events its consumers write in turn.
func TestTracingOffCarriesTraceparent(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
	}{
		{"caller's traceparent", callerTP, callerTP},
		{"no traceparent", "", ""},
		{"malformed traceparent", "00-not-a-trace-01", ""},
		{"all-zero trace ID", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"unsampled", "00-" + callerTrace + "-" + callerSpan + "-00", "00-" + callerTrace + "-" + callerSpan + "-00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t, nil)
			e, next := p.place(t, tc.header)
			if e.TraceParent != tc.want {
				t.Errorf("event traceparent = %q, want %q", e.TraceParent, tc.want)
			}
			if next.TraceParent != tc.want {
				t.Errorf("the consumer's follow-up event traceparent = %q, want %q", next.TraceParent, tc.want)
			}
		})
	}
}

// TestTraceAcrossHTTPAndEvents follows one order with tracing on: the server
// span, the relay's producer span and the consumer span are one trace, the
// caller's, with the server span as the parent of both event hops and the
// consumer span as the parent of the events the consumer writes.
func TestTraceAcrossHTTPAndEvents(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p := newPipeline(t, tp)
	e, next := p.place(t, callerTP)

	// The consumer's span ends after its handler returns, which may be just
	// after place saw the handler's effect: wait for it, not for a time.
	spans := exp.GetSpans()
	for deadline := time.Now().Add(10 * time.Second); len(spans) < 3 && time.Now().Before(deadline); spans = exp.GetSpans() {
		time.Sleep(10 * time.Millisecond)
	}
	byKind := map[trace.SpanKind]tracetest.SpanStub{}
	for _, s := range spans {
		if _, dup := byKind[s.SpanKind]; dup {
			t.Fatalf("two %s spans: %v", s.SpanKind, names(spans))
		}
		byKind[s.SpanKind] = s
	}
	server, producer, consumer := byKind[trace.SpanKindServer], byKind[trace.SpanKindProducer], byKind[trace.SpanKindConsumer]
	if len(spans) != 3 || server.Name == "" || producer.Name == "" || consumer.Name == "" {
		t.Fatalf("spans = %v, want a server, a producer and a consumer span", names(spans))
	}
	for _, s := range spans {
		if got := s.SpanContext.TraceID().String(); got != callerTrace {
			t.Errorf("span %q trace ID = %s, want the caller's %s", s.Name, got, callerTrace)
		}
	}

	links := []struct {
		what          string
		child, parent trace.SpanContext
		remote        bool
	}{
		{"server span ← caller", server.Parent, spanContext(t, callerTP), true},
		{"event traceparent = server span", spanContext(t, e.TraceParent), server.SpanContext, false},
		{"producer span ← server span", producer.Parent, server.SpanContext, true},
		{"consumer span ← server span", consumer.Parent, server.SpanContext, true},
		{"follow-up event traceparent = consumer span", spanContext(t, next.TraceParent), consumer.SpanContext, false},
	}
	for _, l := range links {
		if l.child.SpanID() != l.parent.SpanID() || l.child.TraceID() != l.parent.TraceID() {
			t.Errorf("%s: got %s/%s, want %s/%s", l.what, l.child.TraceID(), l.child.SpanID(), l.parent.TraceID(), l.parent.SpanID())
		}
		if l.remote && !l.child.IsRemote() {
			t.Errorf("%s: the parent should be remote (carried in a header or an event)", l.what)
		}
	}

	checks := []struct {
		span  tracetest.SpanStub
		name  string
		attrs map[attribute.Key]attribute.Value
	}{
		{server, "POST /api/v1/orders", map[attribute.Key]attribute.Value{
			"http.request.method":       attribute.StringValue("POST"),
			"http.route":                attribute.StringValue("/api/v1/orders"),
			"url.path":                  attribute.StringValue("/api/v1/orders"),
			"http.response.status_code": attribute.IntValue(http.StatusAccepted),
			"mercato.tenant":            attribute.StringValue("acme"),
		}},
		{producer, "send order.placed.v1", map[attribute.Key]attribute.Value{
			"messaging.operation.type":   attribute.StringValue("send"),
			"messaging.destination.name": attribute.StringValue("order.placed.v1"),
			"messaging.message.id":       attribute.StringValue(e.ID),
			"mercato.tenant":             attribute.StringValue("acme"),
		}},
		{consumer, "process order.placed.v1", map[attribute.Key]attribute.Value{
			"messaging.operation.type":      attribute.StringValue("process"),
			"messaging.destination.name":    attribute.StringValue("order.placed.v1"),
			"messaging.message.id":          attribute.StringValue(e.ID),
			"messaging.consumer.group.name": attribute.StringValue("fulfil"),
			"mercato.tenant":                attribute.StringValue("acme"),
			"mercato.duplicate":             attribute.BoolValue(false),
		}},
	}
	for _, c := range checks {
		if c.span.Name != c.name {
			t.Errorf("%s span name = %q, want %q", c.span.SpanKind, c.span.Name, c.name)
		}
		got := map[attribute.Key]attribute.Value{}
		for _, kv := range c.span.Attributes {
			got[kv.Key] = kv.Value
		}
		for k, want := range c.attrs {
			if got[k] != want {
				t.Errorf("%s: %s = %v, want %v", c.name, k, got[k].Emit(), want.Emit())
			}
		}
		if c.span.Status.Code == codes.Error {
			t.Errorf("%s: status %v", c.name, c.span.Status)
		}
	}
	if id := attrOf(server, "mercato.request_id"); id == "" {
		t.Error("the server span has no mercato.request_id")
	}
}

// TestServerSpanWithoutCaller: a request without a traceparent starts a new
// trace, and its event carries that trace.
func TestServerSpanWithoutCaller(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p := newPipeline(t, tp)
	e, _ := p.place(t, "")
	var server tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			server = s
		}
	}
	if server.Parent.IsValid() {
		t.Errorf("server span has a parent %s; want a new trace", server.Parent.SpanID())
	}
	if got := spanContext(t, e.TraceParent); got.SpanID() != server.SpanContext.SpanID() || got.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("event traceparent %q is not the server span %s", e.TraceParent, server.SpanContext.SpanID())
	}
}

func spanContext(t *testing.T, tp string) trace.SpanContext {
	t.Helper()
	sc := trace.SpanContextFromContext(outbox.WithTraceParent(context.Background(), tp))
	if !sc.IsValid() {
		t.Fatalf("traceparent %q does not parse", tp)
	}
	return sc
}

func attrOf(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.SpanKind.String() + " " + s.Name
	}
	return out
}
