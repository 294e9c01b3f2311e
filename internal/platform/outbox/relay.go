package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// RelayConfig tunes a Relay. Zero values take the defaults.
type RelayConfig struct {
	// Poll is how often the relay looks for rows nobody notified it of
	// (written by another process, or left by a crash). Default 1s.
	Poll time.Duration
	// Batch is how many rows one publish carries at most. Default 100.
	Batch int
	// Linger is the least time between two passes woken by Notify: rows
	// committed meanwhile wait for the next pass and share its read, publish
	// and stamp, instead of a pass each. Default 2ms; negative: none.
	Linger time.Duration
	// Retention is how long published rows are kept, for replay. Default
	// 7 days.
	Retention time.Duration
	// InboxRetention is how long inbox records are kept, for redelivery
	// dedupe; never less than Retention (a replay of the kept rows is
	// deduplicated by the inbox). Default 7 days.
	InboxRetention time.Duration
	// Tracer records a producer span per published event, a child of the
	// event's traceparent. Nil records none.
	Tracer trace.TracerProvider
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Linger == 0 {
		c.Linger = 2 * time.Millisecond
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.InboxRetention <= 0 {
		c.InboxRetention = 7 * 24 * time.Hour
	}
	c.InboxRetention = max(c.InboxRetention, c.Retention)
	return c
}

// Relay publishes a database's outbox rows to the bus. Several relays may
// run on one PostgreSQL database (replicas): rows are claimed with SKIP
// LOCKED. A crash between publish and stamping republishes the same message
// ID, which the broker's dedupe window and the consumers' inbox absorb.
type Relay struct {
	db   *sqldb.DB
	bus  bus.Bus
	log  *slog.Logger
	cfg  RelayConfig
	now  func() time.Time
	wake chan struct{}
	// tracer is nil when tracing is off.
	tracer trace.Tracer

	// publishErrors counts failed publishes; failingSince is when the
	// current run of failures began (zero while publishing works).
	publishErrors atomic.Uint64
	mu            sync.Mutex
	failingSince  time.Time

	// notified counts Notify calls. Run reads it before each pass: a wake
	// with no Notify since the last good pass began announces commits that
	// pass already saw (each Notify follows its commit), so it is skipped.
	notified atomic.Uint64
	// passes, emptyPasses and skippedPasses count Flush calls, those that
	// found nothing to publish, and wakes Run answered without a pass.
	passes, emptyPasses, skippedPasses atomic.Uint64

	// afterPublish, when set (tests only), runs between publishing a batch
	// and stamping it published: the window a crash test aims at.
	afterPublish func()
	// beforePass, when set (tests only), runs when Run has decided on a
	// pass, after the linger, before it reads what was notified.
	beforePass func()
}

// NewRelay returns a relay for db's outbox.
func NewRelay(db *sqldb.DB, b bus.Bus, log *slog.Logger, cfg RelayConfig) *Relay {
	r := &Relay{db: db, bus: b, log: log, cfg: cfg.withDefaults(), now: time.Now, wake: make(chan struct{}, 1)}
	if cfg.Tracer != nil {
		r.tracer = cfg.Tracer.Tracer(scope)
	}
	return r
}

// Notify wakes the relay after a transaction that wrote events has committed.
// It never blocks.
func (r *Relay) Notify() {
	r.notified.Add(1)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes pending rows until ctx is done, then returns nil. Publish
// errors are logged and retried on the next tick; nothing is lost.
//
// A wake by Notify runs a pass only when some Notify came after the last
// successful pass began: commits notified before it were visible to its
// read and were published by it (Flush drains), so a pass for them would
// find nothing. Without this, every commit that landed during a pass's
// linger cost an empty pass (read, and on PostgreSQL a transaction). The
// poll tick always runs a pass, for rows of other processes and rows a
// failed pass left.
func (r *Relay) Run(ctx context.Context) error {
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	r.Notify()
	var last time.Time // when the last pass began
	var covered uint64 // r.notified when the last successful pass began
	coveredOK := false // whether the last pass succeeded
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
			if coveredOK && r.notified.Load() == covered {
				r.skippedPasses.Add(1)
				continue
			}
			if wait := r.cfg.Linger - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
		case <-tick.C:
		case <-purge.C:
			if err := r.Purge(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("outbox purge", "db", r.db.Name(), "err", err)
			}
			continue
		}
		last = time.Now()
		if r.beforePass != nil {
			r.beforePass()
		}
		// Read before the pass: a Notify counted here followed a commit
		// the pass's read sees.
		seen := r.notified.Load()
		_, err := r.Flush(ctx)
		covered, coveredOK = seen, err == nil
		if err != nil && ctx.Err() == nil {
			r.log.Warn("outbox publish", "db", r.db.Name(), "err", err)
		}
	}
}

// Flush publishes every pending row and returns how many it published.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	// The relay serves every tenant of its database.
	ctx = sqldb.AllTenants(ctx)
	total := 0
	r.passes.Add(1)
	for {
		n, err := r.publishBatch(ctx)
		total += n
		if err != nil || n < r.cfg.Batch {
			if total == 0 && err == nil {
				r.emptyPasses.Add(1)
			}
			return total, err
		}
	}
}

// queryer is what reading the outbox needs: a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	if r.db.Dialect() == sqldb.Postgres {
		// Replicas share the table: claim rows and stamp them in one
		// statement (SKIP LOCKED passes over another relay's claim), publish,
		// then commit. A failed publish, or a crash before the commit, rolls
		// the stamp back: the rows stay pending. Three round trips (BEGIN,
		// the claim, COMMIT) instead of a read and a stamp apart. Alone: the
		// publish must not run inside a group commit batch (it would hold
		// the batch, and could publish the rows of members the batch may yet
		// fail to commit).
		n := 0
		err := r.db.Tx(sqldb.Alone(ctx), func(tx *sql.Tx) error {
			msgs, err := r.claim(ctx, tx)
			if err != nil || len(msgs) == 0 {
				return err
			}
			if err := r.publish(ctx, msgs); err != nil {
				return err
			}
			n = len(msgs)
			return nil
		})
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	// SQLite has one relay per database file and one writer connection: read
	// outside the write lock so that publishing never holds up other writers.
	msgs, err := r.pending(ctx, r.db.Read())
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	if err := r.publish(ctx, msgs); err != nil {
		return 0, err
	}
	if err := r.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return r.stamp(ctx, tx, msgs) }); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// claim stamps up to Batch pending rows published inside tx and returns
// them in ID order (the order pending reads them in, and so the order they
// are published in): RETURNING gives rows in no promised order.
func (r *Relay) claim(ctx context.Context, tx *sql.Tx) ([]bus.Message, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE outbox SET published_at = $1 WHERE id IN (
		SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING id, tenant_id, subject, envelope`, r.now().UnixMicro(), r.cfg.Batch)
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	slices.SortFunc(msgs, func(a, b bus.Message) int { return strings.Compare(a.ID, b.ID) })
	return msgs, nil
}

func (r *Relay) pending(ctx context.Context, q queryer) ([]bus.Message, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, tenant_id, subject, envelope FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`, r.cfg.Batch)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return msgs, nil
}

// scanMessages reads outbox rows (id, tenant_id, subject, envelope) as bus
// messages and closes rows.
func scanMessages(rows *sql.Rows) ([]bus.Message, error) {
	defer rows.Close()
	var msgs []bus.Message
	for rows.Next() {
		var m bus.Message
		var tenant, env string
		if err := rows.Scan(&m.ID, &tenant, &m.Subject, &env); err != nil {
			return nil, err
		}
		m.Data = []byte(env)
		m.Header = map[string]string{"tenant": tenant}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return msgs, nil
}

func (r *Relay) publish(ctx context.Context, msgs []bus.Message) error {
	var spans []trace.Span
	if r.tracer != nil {
		spans = r.startSpans(ctx, msgs)
	}
	err := r.bus.Publish(ctx, msgs...)
	for _, span := range spans {
		if err != nil && span.IsRecording() {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish")
		}
		span.End()
	}
	if err != nil {
		r.publishErrors.Add(1)
		r.mu.Lock()
		if r.failingSince.IsZero() {
			r.failingSince = r.now()
		}
		r.mu.Unlock()
		return fmt.Errorf("publish %d events: %w", len(msgs), err)
	}
	r.mu.Lock()
	r.failingSince = time.Time{}
	r.mu.Unlock()
	if r.afterPublish != nil {
		r.afterPublish()
	}
	return nil
}

// startSpans starts one producer span per message, each a child of its
// event's traceparent, so the relay's hop shows in the trace of the request
// that wrote the event. The batch is one publish: the spans share its time.
func (r *Relay) startSpans(ctx context.Context, msgs []bus.Message) []trace.Span {
	spans := make([]trace.Span, len(msgs))
	for i, m := range msgs {
		var e struct {
			TraceParent string `json:"traceparent"`
		}
		// The row is our own envelope; one that does not parse simply has
		// no parent here (the consumer dead-letters it).
		_ = json.Unmarshal(m.Data, &e)
		// The parent is the event's, never a span the caller's context has.
		pctx := WithTraceParent(trace.ContextWithSpanContext(ctx, trace.SpanContext{}), e.TraceParent)
		_, span := r.tracer.Start(pctx, "send "+m.Subject, trace.WithSpanKind(trace.SpanKindProducer))
		if span.IsRecording() {
			span.SetAttributes(
				semconv.MessagingOperationTypeSend,
				semconv.MessagingOperationName("send"),
				semconv.MessagingDestinationName(m.Subject),
				semconv.MessagingMessageID(m.ID),
				semconv.MessagingBatchMessageCount(len(msgs)),
				attribute.String("mercato.tenant", m.Header["tenant"]),
			)
		}
		spans[i] = span
	}
	return spans
}

// stamp marks msgs published.
func (r *Relay) stamp(ctx context.Context, tx *sql.Tx, msgs []bus.Message) error {
	// One statement for the batch ($2, $3, …: a batch is at most Batch rows,
	// far below either engine's parameter limit).
	var q strings.Builder
	q.WriteString(`UPDATE outbox SET published_at = $1 WHERE id IN (`)
	args := make([]any, 0, len(msgs)+1)
	args = append(args, r.now().UnixMicro())
	for i, m := range msgs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "$%d", i+2)
		args = append(args, m.ID)
	}
	q.WriteString(")")
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("stamp %d events published: %w", len(msgs), err)
	}
	return nil
}

// Pending counts rows not yet published, for readiness and the bench's
// "outbox drained" check.
func (r *Relay) Pending(ctx context.Context) (int, error) {
	var n int
	ctx = sqldb.AllTenants(ctx)
	err := r.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count pending events: %w", err)
	}
	return n, nil
}

// Purge deletes published rows older than the retention and inbox records
// older than the inbox's, a bounded batch per transaction
// (sqldb.DeleteBatches), and on SQLite gives the space back.
func (r *Relay) Purge(ctx context.Context) error {
	now := r.now()
	ctx = sqldb.AllTenants(ctx)
	if _, err := r.db.DeleteBatches(ctx, `DELETE FROM outbox WHERE id IN (
		SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2)`,
		now.Add(-r.cfg.Retention).UnixMicro()); err != nil {
		return fmt.Errorf("purge outbox: %w", err)
	}
	if _, err := r.db.DeleteBatches(ctx, `DELETE FROM inbox WHERE (consumer, event_id) IN (
		SELECT consumer, event_id FROM inbox WHERE handled_at < $1 ORDER BY handled_at LIMIT $2)`,
		now.Add(-r.cfg.InboxRetention).UnixMicro()); err != nil {
		return fmt.Errorf("purge inbox: %w", err)
	}
	return nil
}

// Republish marks published rows newer than since as pending again, so the
// relay sends them once more (consumers' inboxes drop what they already
// applied). It returns how many rows it marked.
func (r *Relay) Republish(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	ctx = sqldb.AllTenants(ctx)
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL AND created_at >= $1`, since.UnixMicro())
		if err != nil {
			return fmt.Errorf("mark events for republish: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n > 0 {
		r.Notify()
	}
	return n, err
}

// Name is the name of the relay's database: the service whose outbox it
// publishes.
func (r *Relay) Name() string { return r.db.Name() }

// Health is the state of an outbox, for metrics and readiness.
type Health struct {
	// Unpublished is how many rows wait to be published.
	Unpublished int
	// OldestAge is how long the oldest of them has waited; zero when none.
	OldestAge time.Duration
	// FailingSince is when this relay's publishes began to fail, zero while
	// its last publish succeeded.
	FailingSince time.Time
	// PublishErrors counts this relay's failed publishes since it was made.
	PublishErrors uint64
	// Passes counts this relay's passes over its outbox (Flush) since it
	// was made; EmptyPasses those that found nothing to publish; and
	// SkippedPasses the wakes by Notify that Run answered without a pass,
	// nothing having been committed since the last pass began.
	Passes, EmptyPasses, SkippedPasses uint64
	// Notifies counts the calls of Notify since the relay was made.
	Notifies uint64
}

// Health reads how much the outbox holds unpublished and for how long.
func (r *Relay) Health(ctx context.Context) (Health, error) {
	h := Health{PublishErrors: r.publishErrors.Load(), Passes: r.passes.Load(),
		EmptyPasses: r.emptyPasses.Load(), SkippedPasses: r.skippedPasses.Load(), Notifies: r.notified.Load()}
	r.mu.Lock()
	h.FailingSince = r.failingSince
	r.mu.Unlock()
	var oldest sql.NullInt64
	ctx = sqldb.AllTenants(ctx)
	err := r.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox WHERE published_at IS NULL`).Scan(&h.Unpublished, &oldest)
	})
	if err != nil {
		return h, fmt.Errorf("read outbox health: %w", err)
	}
	if oldest.Valid {
		h.OldestAge = max(0, r.now().Sub(time.UnixMicro(oldest.Int64)))
	}
	return h, nil
}

// Ready reports why the outbox cannot publish, or "" when it can: its
// oldest unpublished row has waited longer than maxAge, or its publishes
// have failed without a success for longer than maxAge. The reason is in
// words fit for /readyz (the publish errors themselves are logged); err is
// set only when the outbox could not be read. A maxAge of zero or less
// checks nothing.
func (r *Relay) Ready(ctx context.Context, maxAge time.Duration) (reason string, err error) {
	if maxAge <= 0 {
		return "", nil
	}
	h, err := r.Health(ctx)
	if err != nil {
		return "", err
	}
	failing := !h.FailingSince.IsZero()
	switch {
	case failing && (h.OldestAge > maxAge || r.now().Sub(h.FailingSince) > maxAge):
		return fmt.Sprintf("the outbox of %s cannot publish to the bus: %d events waiting, the oldest for %s (limit %s)", r.Name(), h.Unpublished, h.OldestAge.Round(time.Second), maxAge), nil
	case h.OldestAge > maxAge:
		return fmt.Sprintf("the outbox of %s is behind: %d events unpublished, the oldest for %s (limit %s)", r.Name(), h.Unpublished, h.OldestAge.Round(time.Second), maxAge), nil
	}
	return "", nil
}
