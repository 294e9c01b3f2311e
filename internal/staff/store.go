package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into staffdb
// (`go tool sqlc generate -f internal/staff/sqlc.yaml`). The queries use
// sqlc.arg() rather than $1 so they also parse with sqlc's sqlite engine
// (`go tool sqlc vet` checks both); sqlc emits $1… which both drivers take.

// addEvent writes one event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, staffapi.Source, subject, at, data)
}

// storedTime is t as it will read back: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func toEmployee(r staffdb.Employee) staffapi.Employee {
	return staffapi.Employee{
		ID: r.ID, AccountID: r.AccountID.String, Name: r.Name, Email: r.Email, Role: auth.Role(r.Role),
		Active: r.Active, CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
	}
}

func toShift(r staffdb.Shift) staffapi.Shift {
	return staffapi.Shift{
		ID: r.ID, EmployeeID: r.EmployeeID, StartsAt: sqldb.FromMicros(r.StartsAt), EndsAt: sqldb.FromMicros(r.EndsAt),
		DurationSeconds: (r.EndsAt - r.StartsAt) / 1e6, Note: r.Note,
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
	}
}

func toAttendance(r staffdb.Attendance) staffapi.Attendance {
	a := staffapi.Attendance{
		ID: r.ID, EmployeeID: r.EmployeeID, CheckedInAt: sqldb.FromMicros(r.CheckedInAt),
		CheckInLocation: r.CheckInLocation, CheckInNote: r.CheckInNote,
		CheckOutLocation: r.CheckOutLocation, CheckOutNote: r.CheckOutNote,
	}
	if r.CheckedOutAt.Valid {
		a.CheckedOutAt = sqldb.FromNullMicros(r.CheckedOutAt)
		a.DurationSeconds = (r.CheckedOutAt.Int64 - r.CheckedInAt) / 1e6
	}
	return a
}

func toAnnouncement(r staffdb.Announcement) staffapi.Announcement {
	return staffapi.Announcement{ID: r.ID, Title: r.Title, Body: r.Body, Audience: r.Audience, Author: r.Author, CreatedAt: sqldb.FromMicros(r.CreatedAt)}
}

// employee loads one employee through q.
func employee(ctx context.Context, q *staffdb.Queries, tenant, id string) (staffapi.Employee, error) {
	r, err := q.GetEmployee(ctx, staffdb.GetEmployeeParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return staffapi.Employee{}, ErrEmployeeNotFound
	}
	if err != nil {
		return staffapi.Employee{}, fmt.Errorf("load employee %s: %w", id, err)
	}
	return toEmployee(r), nil
}

// shift loads one shift through q.
func shift(ctx context.Context, q *staffdb.Queries, tenant, id string) (staffapi.Shift, error) {
	r, err := q.GetShift(ctx, staffdb.GetShiftParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return staffapi.Shift{}, ErrShiftNotFound
	}
	if err != nil {
		return staffapi.Shift{}, fmt.Errorf("load shift %s: %w", id, err)
	}
	return toShift(r), nil
}

// lockForShifts takes the employee's row lock for a shift write (so
// concurrent shift writes of one employee queue, and each overlap check
// sees the others' shifts) and fails unless the employee exists and, when
// active is set, is active.
func lockForShifts(ctx context.Context, q *staffdb.Queries, tenant, employeeID string, mustBeActive bool) error {
	active, err := q.LockEmployee(ctx, staffdb.LockEmployeeParams{TenantID: tenant, ID: employeeID})
	if errors.Is(err, sql.ErrNoRows) {
		return ErrEmployeeNotFound
	}
	if err != nil {
		return fmt.Errorf("lock employee %s: %w", employeeID, err)
	}
	if mustBeActive && !active {
		return ErrInactive
	}
	return nil
}

// checkOverlap fails with *ShiftOverlapError when sh overlaps another shift
// of its employee. Run it after lockForShifts.
func checkOverlap(ctx context.Context, q *staffdb.Queries, tenant string, sh staffapi.Shift) error {
	other, err := q.OverlappingShift(ctx, staffdb.OverlappingShiftParams{
		TenantID: tenant, EmployeeID: sh.EmployeeID, ExcludeID: sh.ID, StartsAt: sqldb.Micros(sh.StartsAt), EndsAt: sqldb.Micros(sh.EndsAt),
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check shift overlap: %w", err)
	}
	return &ShiftOverlapError{ShiftID: other}
}

// pageLimit turns a requested limit into the page size.
func (s *Service) pageLimit(limit int) int {
	return s.cfg.Paging.Size(limit)
}

// farFuture is the keyset start of a newest-first list.
const farFuture = int64(1) << 62
