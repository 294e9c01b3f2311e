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
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are every set the staff database needs, in order: the
// platform's outbox, then the staff tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "staff_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrEmployeeNotFound     = errors.New("staff: employee not found")
	ErrShiftNotFound        = errors.New("staff: shift not found")
	ErrAnnouncementNotFound = errors.New("staff: announcement not found")
	// ErrInvalid is what a request refused for its fields matches: the
	// Err of every *kit.ValidationError of the service.
	ErrInvalid = errors.New("staff: invalid input")
	// ErrAccountTaken is the Err of the *kit.ValidationError refusing an
	// account already linked to another employee.
	ErrAccountTaken = errors.New("staff: account is linked to another employee")
	// ErrAccountsUnavailable is returned when an account_id cannot be
	// checked now because the identity service is not there or not
	// answering.
	ErrAccountsUnavailable = errors.New("staff: staff accounts cannot be checked now")
	ErrInactive            = errors.New("staff: employee is inactive")
	ErrAlreadyCheckedIn    = errors.New("staff: already checked in")
	ErrNotCheckedIn        = errors.New("staff: not checked in")
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

// Config tunes the staff service. The zero value takes the defaults.
type Config struct {
	// LateGrace is how long after a shift's start a check-in still counts
	// as on time in the attendance report.
	LateGrace time.Duration
	// MaxShift bounds one shift's length.
	MaxShift time.Duration
	// MaxPeriod bounds the period of a report or a shift list.
	MaxPeriod time.Duration
	// Paging is the lists' page size and its cap, which may go up to
	// MaxPageCeiling.
	Paging kit.Paging
}

// Defaults of Config.
const (
	DefaultLateGrace   = 5 * time.Minute
	DefaultMaxShift    = 24 * time.Hour
	DefaultMaxPeriod   = 366 * 24 * time.Hour
	DefaultPageSize    = 50
	DefaultMaxPageSize = 500
	// MaxPageCeiling is the largest max-page-size staff takes, above the
	// kit's PageCeiling.
	MaxPageCeiling = 10000
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "staff."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.LateGrace, prefix+"late-grace", DefaultLateGrace, "how long after a shift's start a check-in still counts as on time")
	fs.DurationVar(&c.MaxShift, prefix+"max-shift", DefaultMaxShift, "longest shift that may be planned")
	fs.DurationVar(&c.MaxPeriod, prefix+"max-period", DefaultMaxPeriod, "longest period of an attendance report or shift list")
	c.Paging.RegisterFlags(fs, prefix, "items", "a list request", DefaultPageSize, DefaultMaxPageSize)
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.LateGrace < 0 {
		return fmt.Errorf("staff: late-grace %s is negative", c.LateGrace)
	}
	if c.MaxShift <= 0 || c.MaxPeriod <= 0 {
		return fmt.Errorf("staff: max-shift (%s) and max-period (%s) must be positive", c.MaxShift, c.MaxPeriod)
	}
	return c.Paging.Validate("staff", MaxPageCeiling)
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
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Deps is what the staff service is built from.
type Deps struct {
	kit.Deps
	// Accounts checks that an employee's account_id names a staff account
	// of the same store (identityapi.Client). Nil (a staff service
	// deployed without identity): employees can still be kept, but linking
	// one to an account is refused with ErrAccountsUnavailable: an ID that
	// cannot be checked is never accepted.
	Accounts Accounts
}

// Service is the staff service. It is safe for concurrent use.
type Service struct {
	cfg Config
	// st runs the prepared queries: statements prepared on the write pool
	// and bound to a transaction are parsed once per connection, not once
	// per use, and the check-in path is a few statements, so parsing would
	// be much of its cost.
	st       *kit.Store[*staffdb.Queries]
	log      *slog.Logger
	now      func() time.Time
	accounts Accounts
}

// New returns the staff service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "staff", deps.Deps, staffdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: st, log: deps.Logger(), now: time.Now, accounts: deps.Accounts}, nil
}
