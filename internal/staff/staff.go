// Package staff is the staff service: the store's employees (each linked,
// once they have one, to an identity staff account), their planned shifts,
// check-in and check-out with an attendance report (JSON or CSV), and
// internal announcements to all staff or one role, with read receipts.
//
// Check-in is the hot path (a time clock at every door): it is one short
// transaction of three inserts. A second check-in of someone who is in is
// refused by a primary key (open_attendance), never by a read-then-write,
// so it holds under any concurrency on both engines. Check-ins and
// check-outs are announced (staff.checked_in.v1, staff.checked_out.v1), and
// so are announcements (staff.announcement_published.v1), through the
// outbox in the transaction of the change.
//
// Every table is keyed by tenant and every query takes the tenant from the
// request context (tenancy.ID).
package staff

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the staff tables. Apply outbox.Migrations first.
var Migrations = sqldb.Embedded(migrationFiles, "migrations", "staff_db_version")

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrEmployeeNotFound     = errors.New("staff: employee not found")
	ErrShiftNotFound        = errors.New("staff: shift not found")
	ErrAnnouncementNotFound = errors.New("staff: announcement not found")
	ErrInvalid              = errors.New("staff: invalid input")
	ErrInvalidCursor        = errors.New("staff: invalid cursor")
	ErrAccountTaken         = errors.New("staff: account is linked to another employee")
	ErrInactive             = errors.New("staff: employee is inactive")
	ErrAlreadyCheckedIn     = errors.New("staff: already checked in")
	ErrNotCheckedIn         = errors.New("staff: not checked in")
	// ErrNoEmployee means the calling staff account is linked to no
	// employee of the store.
	ErrNoEmployee = errors.New("staff: account is not linked to an employee")
	// ErrUnauthenticated and ErrForbidden are about the caller: nobody is
	// signed in, or they may not do this.
	ErrUnauthenticated = errors.New("staff: sign-in required")
	ErrForbidden       = errors.New("staff: not allowed")
)

// ShiftOverlapError is ErrShiftOverlap with the shift in the way.
type ShiftOverlapError struct {
	ShiftID string
}

// ErrShiftOverlap is what a ShiftOverlapError is (errors.Is).
var ErrShiftOverlap = errors.New("staff: shift overlaps another shift of the employee")

func (e *ShiftOverlapError) Error() string { return ErrShiftOverlap.Error() + " (" + e.ShiftID + ")" }

// Is makes errors.Is(err, ErrShiftOverlap) hold.
func (e *ShiftOverlapError) Is(target error) bool { return target == ErrShiftOverlap }

// FieldError is one invalid field of a request.
type FieldError struct {
	// In is where the field is: "body" (the default, when empty) or "query".
	In      string
	Field   string
	Message string
	Value   any
}

// ValidationError is ErrInvalid with the fields at fault.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Field + ": " + f.Message
	}
	return ErrInvalid.Error() + ": " + strings.Join(msgs, "; ")
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(fields ...FieldError) error { return &ValidationError{Fields: fields} }

// Config tunes the staff service. The zero value takes the defaults.
type Config struct {
	// LateGrace is how long after a shift's start a check-in still counts
	// as on time in the attendance report.
	LateGrace time.Duration
	// MaxShift bounds one shift's length.
	MaxShift time.Duration
	// MaxPeriod bounds the period of a report or a shift list.
	MaxPeriod time.Duration
	// PageSize is the list page size when a request gives no limit;
	// MaxPageSize caps the limit a request may ask for.
	PageSize, MaxPageSize int
}

// Defaults of Config.
const (
	DefaultLateGrace   = 5 * time.Minute
	DefaultMaxShift    = 24 * time.Hour
	DefaultMaxPeriod   = 366 * 24 * time.Hour
	DefaultPageSize    = 50
	DefaultMaxPageSize = 500
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "staff."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.LateGrace, prefix+"late-grace", DefaultLateGrace, "how long after a shift's start a check-in still counts as on time")
	fs.DurationVar(&c.MaxShift, prefix+"max-shift", DefaultMaxShift, "longest shift that may be planned")
	fs.DurationVar(&c.MaxPeriod, prefix+"max-period", DefaultMaxPeriod, "longest period of an attendance report or shift list")
	fs.IntVar(&c.PageSize, prefix+"page-size", DefaultPageSize, "items per page when a list request gives no limit")
	fs.IntVar(&c.MaxPageSize, prefix+"max-page-size", DefaultMaxPageSize, "largest page a list request may ask for")
}

// Validate reports a config the service cannot run with.
func (c Config) Validate() error {
	if c.LateGrace < 0 {
		return fmt.Errorf("staff: late-grace %s is negative", c.LateGrace)
	}
	if c.MaxShift <= 0 || c.MaxPeriod <= 0 {
		return fmt.Errorf("staff: max-shift (%s) and max-period (%s) must be positive", c.MaxShift, c.MaxPeriod)
	}
	if c.PageSize < 1 || c.MaxPageSize < c.PageSize || c.MaxPageSize > 10000 {
		return fmt.Errorf("staff: page-size %d must be positive and at most max-page-size %d, itself at most 10000", c.PageSize, c.MaxPageSize)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.LateGrace == 0 {
		c.LateGrace = DefaultLateGrace
	}
	if c.MaxShift == 0 {
		c.MaxShift = DefaultMaxShift
	}
	if c.MaxPeriod == 0 {
		c.MaxPeriod = DefaultMaxPeriod
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = max(DefaultMaxPageSize, c.PageSize)
	}
	return c
}

// Service is the staff service. It is safe for concurrent use.
type Service struct {
	cfg    Config
	db     *sqldb.DB
	read   *staffdb.Queries // prepared on the read pool
	writeQ *staffdb.Queries // prepared on the write pool, bound to each tx
	events *outbox.Relay
	log    *slog.Logger
	now    func() time.Time
	newID  func() string
	// accounts checks account IDs; nil: they cannot be checked.
	accounts Accounts
}

// New returns the staff service on db, which must be migrated with
// outbox.Migrations and Migrations. events is woken after each write that
// added events; nil is fine (tests), the relay's poll finds them anyway.
func New(cfg Config, db *sqldb.DB, events *outbox.Relay, log *slog.Logger, opts ...Option) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("staff: no database")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// New has no context (its signature is the runner's); preparing is
	// quick and bounded here instead. Preparing also checks, at start-up,
	// that the database has been migrated.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read, err := staffdb.Prepare(ctx, db.Read())
	if err != nil {
		return nil, fmt.Errorf("staff: prepare queries (is the database migrated?): %w", err)
	}
	// Statements prepared on the write pool and bound to a transaction with
	// WithTx are parsed once per connection, not once per use: the check-in
	// path is a few statements, so parsing would be much of its cost.
	write, err := staffdb.Prepare(ctx, db.Write())
	if err != nil {
		return nil, fmt.Errorf("staff: prepare write queries: %w", err)
	}
	s := &Service{cfg: cfg, db: db, read: read, writeQ: write, events: events, log: log, now: time.Now, newID: newID}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// newID returns a UUIDv7: time-ordered, so new rows land at the end of
// indexes. NewV7 fails only if crypto/rand does, which since Go 1.24 aborts
// the program instead of returning an error.
func newID() string {
	id, _ := uuid.NewV7()
	return id.String()
}

// Run has nothing to consume: it waits for ctx and returns nil.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// write runs fn in one write transaction (retried by sqldb on transient
// conflicts) with the prepared queries bound to it, and wakes the relay
// after commit when fn said it added events.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx, q *staffdb.Queries) (events bool, err error)) error {
	var events bool
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		events, err = fn(tx, s.writeQ.WithTx(tx))
		return err
	})
	if err == nil && events && s.events != nil {
		s.events.Notify()
	}
	return err
}

// addEvent writes one event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	e, err := outbox.NewEvent(ctx, staffapi.Source, subject, at, data)
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

// micros is a time as stored: unix microseconds, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a stored time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// storedTime is t as it will read back: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
