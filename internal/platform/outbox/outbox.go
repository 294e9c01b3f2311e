// Package outbox gives Mercato exactly-once effects over an at-least-once bus.
//
// A service writes the events a change must announce with Add, in the same
// transaction as the change. A Relay publishes those rows, with the row ID as
// the broker message ID, and stamps them published, keeping them for a replay
// window. A consumer applies each event through Handle, which records the
// event ID in the inbox table in the same transaction as the effect, so a
// redelivered or republished event changes nothing the second time.
//
// Both tables live in every service's own database (see Migrations).
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the outbox and inbox tables; every service database
// applies it before its own set.
var Migrations = sqldb.Embedded(migrations, "migrations", "outbox_db_version")

// Envelope is the wire form of every Mercato event. Fields are only ever added.
type Envelope struct {
	// ID is unique per event (a UUIDv7) and doubles as the bus message ID.
	ID string `json:"id"`
	// Type is the versioned event type, e.g. "catalog.product_created.v1",
	// which is also the bus subject.
	Type string `json:"type"`
	// Source is the publishing service.
	Source string `json:"source"`
	// Tenant is the tenant the event belongs to.
	Tenant string `json:"tenant"`
	// Time is when the change happened.
	Time time.Time `json:"time"`
	// TraceParent is the W3C trace context of the request that caused it.
	TraceParent string `json:"traceparent,omitempty"`
	// Data is the event payload, defined by the producer's <service>api package.
	Data json.RawMessage `json:"data"`
}

// traceCarrier holds one traceparent for the W3C propagator, which parses
// and formats it (tracestate is not carried in events).
type traceCarrier struct{ tp string }

func (c *traceCarrier) Get(key string) string {
	if key == "traceparent" {
		return c.tp
	}
	return ""
}

func (c *traceCarrier) Set(key, value string) {
	if key == "traceparent" {
		c.tp = value
	}
}

func (c *traceCarrier) Keys() []string { return []string{"traceparent"} }

// WithTraceParent returns a context carrying the W3C traceparent tp as the
// remote parent of what follows: events created from it record it, and spans
// started from it join its trace. An invalid tp is ignored.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, &traceCarrier{tp: tp})
}

// TraceParent returns the W3C traceparent of the context's span (the span of
// the request or event being handled, recorded or not), or "" when it has
// none.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	var c traceCarrier
	propagation.TraceContext{}.Inject(ctx, &c)
	return c.tp
}

type tracerKey struct{}

// WithTracing returns a context under which Consume and Handle record a
// consumer span per event with tp. The platform sets it on the context
// services run on; without it (or with tp nil) they record none, and an
// event's traceparent is still passed on to the events its handler writes.
func WithTracing(ctx context.Context, tp trace.TracerProvider) context.Context {
	if tp == nil {
		return ctx
	}
	return context.WithValue(ctx, tracerKey{}, tp.Tracer(scope))
}

func tracerFrom(ctx context.Context) trace.Tracer {
	t, _ := ctx.Value(tracerKey{}).(trace.Tracer)
	return t
}

// scope is the instrumentation scope of the outbox's spans.
const scope = "github.com/mercato/mercato/internal/platform/outbox"

// NewEvent builds an envelope for data, taking the tenant and trace context
// from ctx (the span of the request or event being handled). It fails
// without a tenant: nothing is written without one.
func NewEvent(ctx context.Context, source, typ string, at time.Time, data any) (Envelope, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return Envelope{}, fmt.Errorf("new event %s: %w", typ, err)
	}
	if err := bus.ValidateSubject(typ); err != nil {
		return Envelope{}, fmt.Errorf("new event: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode event %s: %w", typ, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Envelope{}, fmt.Errorf("new event id: %w", err)
	}
	return Envelope{
		ID: id.String(), Type: typ, Source: source, Tenant: tenant,
		Time: at.UTC(), TraceParent: TraceParent(ctx), Data: raw,
	}, nil
}

// AddEvent writes one event of source to the outbox inside tx (NewEvent,
// then Add): what a service's write transaction calls for each change it
// announces.
func AddEvent(ctx context.Context, tx *sql.Tx, source, typ string, at time.Time, data any) error {
	e, err := NewEvent(ctx, source, typ, at, data)
	if err != nil {
		return err
	}
	return Add(ctx, tx, e)
}

// eventsKey marks a context whose write transaction wants to know whether
// Add wrote events in it (TrackEvents).
type eventsKey struct{}

// TrackEvents returns ctx marked so that Add, given it (or a context made
// from it), records that it wrote events, and a function that reports
// whether it did: a store wakes its relay only after a transaction that
// wrote events, so that writes without any do not send the relay on
// passes that find nothing. Should a transaction run more than once (a
// retried conflict), an event written by any run counts: at worst one
// wake too many.
func TrackEvents(ctx context.Context) (context.Context, func() bool) {
	wrote := new(atomic.Bool)
	return context.WithValue(ctx, eventsKey{}, wrote), wrote.Load
}

// Add writes events to the outbox inside tx, the transaction of the change
// they announce. Call the relay's Notify after commit for prompt delivery
// (kit.Store.Write does). On PostgreSQL the rows are pipelined: they go out
// with the transaction's next statement or its COMMIT, and a failure to
// write one fails the transaction there (sqldb.Pipelined).
func Add(ctx context.Context, tx *sql.Tx, events ...Envelope) error {
	if wrote, ok := ctx.Value(eventsKey{}).(*atomic.Bool); ok && len(events) > 0 {
		wrote.Store(true)
	}
	ctx = sqldb.Pipelined(ctx)
	for _, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO outbox (id, tenant_id, subject, envelope, created_at) VALUES ($1, $2, $3, $4, $5)`,
			e.ID, e.Tenant, e.Type, string(raw), e.Time.UnixMicro())
		if err != nil {
			return fmt.Errorf("write event %s to outbox: %w", e.Type, err)
		}
	}
	return nil
}

// Decode parses a delivered message into an envelope. A message that does
// not parse, or lacks an ID, type or tenant, can never succeed: the error is
// marked permanent so it goes straight to the dead-letter store.
func Decode(m bus.Message) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return e, bus.Permanent(fmt.Errorf("decode event %s: %w", m.ID, err))
	}
	switch {
	case e.ID == "":
		return e, bus.Permanent(fmt.Errorf("decode event %s: no id", m.ID))
	case e.Type == "":
		return e, bus.Permanent(fmt.Errorf("decode event %s: no type", e.ID))
	case !tenancy.Valid(e.Tenant):
		return e, bus.Permanent(fmt.Errorf("decode event %s: invalid tenant %q", e.ID, e.Tenant))
	}
	return e, nil
}

// Handle applies one event exactly once for consumer: in one transaction it
// records the event ID in the inbox and runs fn. If the ID is already there,
// fn is not run and Handle returns false. The context passed to fn carries
// the event's tenant and trace: a consumer span named after the event type
// when the context has tracing (WithTracing), the event's traceparent
// otherwise, so the events fn writes continue the same trace.
func Handle(ctx context.Context, db *sqldb.DB, consumer string, e Envelope, now time.Time, fn func(ctx context.Context, tx *sql.Tx) error) (applied bool, err error) {
	ctx = tenancy.WithID(ctx, e.Tenant)
	ctx = WithTraceParent(ctx, e.TraceParent)
	if tr := tracerFrom(ctx); tr != nil {
		var span trace.Span
		ctx, span = tr.Start(ctx, "process "+e.Type, trace.WithSpanKind(trace.SpanKindConsumer))
		if span.IsRecording() {
			span.SetAttributes(
				semconv.MessagingOperationTypeProcess,
				semconv.MessagingOperationName("process"),
				semconv.MessagingDestinationName(e.Type),
				semconv.MessagingMessageID(e.ID),
				semconv.MessagingConsumerGroupName(consumer),
				attribute.String("mercato.tenant", e.Tenant),
				attribute.String("mercato.event_source", e.Source),
			)
		}
		defer func() {
			if span.IsRecording() {
				span.SetAttributes(attribute.Bool("mercato.duplicate", err == nil && !applied))
				if err != nil {
					span.RecordError(err)
					span.SetStatus(codes.Error, "handle event")
				}
			}
			span.End()
		}()
	}
	err = db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		applied = false
		res, err := tx.ExecContext(ctx,
			`INSERT INTO inbox (consumer, event_id, tenant_id, handled_at) VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, event_id) DO NOTHING`,
			consumer, e.ID, e.Tenant, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("record event %s in inbox: %w", e.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record event %s in inbox: %w", e.ID, err)
		}
		if n == 0 {
			return nil
		}
		if err := fn(ctx, tx); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// Consume subscribes a handler that decodes each message and applies it once
// through Handle, under the consumer name sub.Group. With tracing on ctx
// (WithTracing), each handled event gets a consumer span.
func Consume(ctx context.Context, b bus.Bus, db *sqldb.DB, sub bus.Subscription, now func() time.Time, fn func(ctx context.Context, tx *sql.Tx, e Envelope) error) (bus.Consumer, error) {
	return ConsumeWhere(ctx, b, db, sub, now, nil, fn)
}

// ConsumeWhere is Consume for a consumer to which some events mean nothing:
// has reports, from the event alone, whether e has an effect here. One
// without is acknowledged with no transaction and no inbox record, which
// exist to make an effect happen once: nothing needs no record to happen
// once. An error from has is the handler's (mark it permanent for an event
// that can never be read). A nil has takes every event.
func ConsumeWhere(ctx context.Context, b bus.Bus, db *sqldb.DB, sub bus.Subscription, now func() time.Time, has func(e Envelope) (bool, error), fn func(ctx context.Context, tx *sql.Tx, e Envelope) error) (bus.Consumer, error) {
	// Adapters need not derive the handler's context from ctx: carry the
	// tracer over explicitly.
	tr := tracerFrom(ctx)
	return b.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		e, err := Decode(m)
		if err != nil {
			return err
		}
		if has != nil {
			if ok, err := has(e); err != nil || !ok {
				return err
			}
		}
		if tr != nil {
			ctx = context.WithValue(ctx, tracerKey{}, tr)
		}
		_, err = Handle(ctx, db, sub.Group, e, now(), func(ctx context.Context, tx *sql.Tx) error {
			return fn(ctx, tx, e)
		})
		return err
	})
}
