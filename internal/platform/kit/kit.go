// Package kit is what every Mercato service is built from, the same way in
// each: the dependencies its constructor takes (Deps), the store of its
// sqlc queries prepared once and run in read or write transactions
// (Store), IDs, list cursors, validation errors, and the mapping of its
// errors to problem answers (Problems).
//
// A service's constructor is always
//
//	func New(ctx context.Context, cfg Config, deps Deps) (*Service, error)
//
// where the service's Deps embeds kit.Deps and adds the typed clients of
// the other services it calls, each commented with what the service does
// without it. docs/architecture.md ("Adding a service") walks through the
// rest; test/arch holds every service to it.
package kit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// Deps is what every service is built from. A service's own Deps embeds it
// and adds its typed clients.
type Deps struct {
	// DB is the service's database, migrated with the service's
	// Migrations. Required.
	DB *sqldb.DB
	// Relay publishes DB's outbox; Store.Write wakes it after each commit.
	// Nil: nothing is woken, and events wait in the outbox for a relay
	// (tests read the outbox or feed events to handlers directly).
	Relay *outbox.Relay
	// Bus is where the service consumes other services' events. Nil: it
	// subscribes to nothing (tests call its handlers directly).
	Bus bus.Bus
	// Log is the service's logger. Nil: logs are discarded.
	Log *slog.Logger
}

// Logger returns d.Log, or a logger that discards when there is none.
func (d Deps) Logger() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// Queries is what sqlc generates for a service: a set of prepared
// statements that can be bound to a transaction.
type Queries[Q any] interface {
	WithTx(tx *sql.Tx) Q
}

// Store runs a service's sqlc queries, prepared once on each of the
// database's pools: reads in read-only transactions of the read pool,
// writes in write transactions of the write pool. It is safe for
// concurrent use.
type Store[Q Queries[Q]] struct {
	db    *sqldb.DB
	relay *outbox.Relay
	read  Q
	write Q
}

// Prepare returns the store of service's queries on deps.DB, prepared with
// prepare (the sqlc package's Prepare) on the read and the write pool.
// Preparing also checks, at start-up, that the database is migrated.
func Prepare[Q Queries[Q], D any](ctx context.Context, service string, deps Deps, prepare func(context.Context, D) (Q, error)) (*Store[Q], error) {
	if deps.DB == nil {
		return nil, fmt.Errorf("%s: no database", service)
	}
	read, ok := any(deps.DB.Read()).(D)
	if !ok {
		return nil, fmt.Errorf("%s: prepare queries: %T is not a %T", service, deps.DB.Read(), read)
	}
	write, _ := any(deps.DB.Write()).(D)
	rq, err := prepare(ctx, read)
	if err != nil {
		return nil, fmt.Errorf("%s: prepare queries (is the database migrated?): %w", service, err)
	}
	wq, err := prepare(ctx, write)
	if err != nil {
		return nil, fmt.Errorf("%s: prepare queries: %w", service, err)
	}
	return &Store[Q]{db: deps.DB, relay: deps.Relay, read: rq, write: wq}, nil
}

// DB returns the store's database.
func (s *Store[Q]) DB() *sqldb.DB { return s.db }

// Read runs fn in a read-only transaction of the read pool (sqldb's
// ReadTx): its queries see one snapshot and, with PostgreSQL row-level
// security, only the rows of the tenant in ctx (every tenant's under
// sqldb.AllTenants). A query outside a transaction sees none there.
func (s *Store[Q]) Read(ctx context.Context, fn func(q Q) error) error {
	return s.db.ReadTx(ctx, func(tx *sql.Tx) error { return fn(s.read.WithTx(tx)) })
}

// Write runs fn in a write transaction (sqldb's WriteTx: transient
// conflicts run it again, so fn does database work only) and, once it has
// committed, wakes the outbox relay if fn wrote events (outbox.Add with
// the ctx fn is given, or one made from it). fn's statements take that
// ctx.
func (s *Store[Q]) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q Q) error) error {
	ctx, wrote := outbox.TrackEvents(ctx)
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx, s.write.WithTx(tx)) })
	if err == nil && s.relay != nil && wrote() {
		s.relay.Notify()
	}
	return err
}

// ReadOne is Store.Read for a read with one result.
func ReadOne[Q Queries[Q], T any](ctx context.Context, s *Store[Q], fn func(q Q) (T, error)) (T, error) {
	var v T
	err := s.Read(ctx, func(q Q) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// NewID returns a new ID: a UUIDv7, time-ordered (and, within a process,
// strictly increasing), so rows keyed by it list in the order they were
// made. NewV7 fails only if crypto/rand does, which since Go 1.24 aborts
// the program instead of returning an error.
func NewID() string {
	id, _ := uuid.NewV7()
	return id.String()
}

// ErrInvalid is matched by every *ValidationError whose Err is nil.
var ErrInvalid = errors.New("invalid input")
