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
	"time"

	"github.com/google/uuid"

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

type traceKey struct{}

// WithTraceParent returns a context carrying a W3C traceparent, which events
// created from it record.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	return context.WithValue(ctx, traceKey{}, tp)
}

// TraceParent returns the context's traceparent, if any.
func TraceParent(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}

// NewEvent builds an envelope for data, taking the tenant and trace context
// from ctx. It fails without a tenant: nothing is written without one.
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

// Add writes events to the outbox inside tx, the transaction of the change
// they announce. Call the relay's Notify after commit for prompt delivery.
func Add(ctx context.Context, tx *sql.Tx, events ...Envelope) error {
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
// the event's tenant.
func Handle(ctx context.Context, db *sqldb.DB, consumer string, e Envelope, now time.Time, fn func(ctx context.Context, tx *sql.Tx) error) (applied bool, err error) {
	ctx = tenancy.WithID(ctx, e.Tenant)
	if e.TraceParent != "" {
		ctx = WithTraceParent(ctx, e.TraceParent)
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error {
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
// through Handle, under the consumer name sub.Group.
func Consume(ctx context.Context, b bus.Bus, db *sqldb.DB, sub bus.Subscription, now func() time.Time, fn func(ctx context.Context, tx *sql.Tx, e Envelope) error) (bus.Consumer, error) {
	return b.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		e, err := Decode(m)
		if err != nil {
			return err
		}
		_, err = Handle(ctx, db, sub.Group, e, now(), func(ctx context.Context, tx *sql.Tx) error {
			return fn(ctx, tx, e)
		})
		return err
	})
}
