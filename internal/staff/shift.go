package staff

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

// newShift builds a planned shift from a create request.
func newShift(in staffapi.ShiftCreate, id string, now time.Time, maxShift time.Duration) (staffapi.Shift, error) {
	now = storedTime(now)
	sh := staffapi.Shift{
		ID: id, EmployeeID: strings.TrimSpace(in.EmployeeID), StartsAt: storedTime(in.StartsAt), EndsAt: storedTime(in.EndsAt),
		Note: strings.TrimSpace(in.Note), CreatedAt: now, UpdatedAt: now,
	}
	var errs []kit.FieldError
	if sh.EmployeeID == "" {
		errs = append(errs, kit.FieldError{Field: "employee_id", Message: "must not be empty", Value: in.EmployeeID})
	}
	errs = append(errs, checkShift(sh, maxShift)...)
	if len(errs) > 0 {
		return staffapi.Shift{}, kit.Invalid(ErrInvalid, errs...)
	}
	sh.DurationSeconds = int64(sh.EndsAt.Sub(sh.StartsAt) / time.Second)
	return sh, nil
}

// patchShift applies a partial update to old; changed is false when it
// changes nothing.
func patchShift(old staffapi.Shift, in staffapi.ShiftUpdate, now time.Time, maxShift time.Duration) (sh staffapi.Shift, changed bool, err error) {
	sh = old
	if in.StartsAt != nil {
		sh.StartsAt = storedTime(*in.StartsAt)
	}
	if in.EndsAt != nil {
		sh.EndsAt = storedTime(*in.EndsAt)
	}
	if in.Note != nil {
		sh.Note = strings.TrimSpace(*in.Note)
	}
	if errs := checkShift(sh, maxShift); len(errs) > 0 {
		return old, false, kit.Invalid(ErrInvalid, errs...)
	}
	if sh.StartsAt.Equal(old.StartsAt) && sh.EndsAt.Equal(old.EndsAt) && sh.Note == old.Note {
		return old, false, nil
	}
	sh.DurationSeconds = int64(sh.EndsAt.Sub(sh.StartsAt) / time.Second)
	sh.UpdatedAt = storedTime(now)
	return sh, true, nil
}

func checkShift(sh staffapi.Shift, maxShift time.Duration) []kit.FieldError {
	var errs []kit.FieldError
	if sh.StartsAt.IsZero() {
		errs = append(errs, kit.FieldError{Field: "starts_at", Message: "is required", Value: nil})
	}
	if sh.EndsAt.IsZero() {
		errs = append(errs, kit.FieldError{Field: "ends_at", Message: "is required", Value: nil})
	}
	if len(errs) == 0 {
		switch d := sh.EndsAt.Sub(sh.StartsAt); {
		case d <= 0:
			errs = append(errs, kit.FieldError{Field: "ends_at", Message: "must be after starts_at", Value: sh.EndsAt})
		case d > maxShift:
			errs = append(errs, kit.FieldError{Field: "ends_at", Message: "the shift is longer than " + maxShift.String(), Value: sh.EndsAt})
		}
	}
	if msg := checkText(sh.Note, 0, maxNote, true); msg != "" {
		errs = append(errs, kit.FieldError{Field: "note", Message: msg, Value: sh.Note})
	}
	return errs
}

// checkPeriod checks a [from, to) period of a list or report.
func checkPeriod(from, to time.Time, maxPeriod time.Duration) error {
	var errs []kit.FieldError
	if from.IsZero() {
		errs = append(errs, kit.FieldError{Field: "query.from", Message: "is required"})
	}
	if to.IsZero() {
		errs = append(errs, kit.FieldError{Field: "query.to", Message: "is required"})
	}
	if len(errs) == 0 {
		switch d := to.Sub(from); {
		case d <= 0:
			errs = append(errs, kit.FieldError{Field: "query.to", Message: "must be after from", Value: to})
		case d > maxPeriod:
			errs = append(errs, kit.FieldError{Field: "query.to", Message: "the period is longer than " + maxPeriod.String(), Value: to})
		}
	}
	return kit.Invalid(ErrInvalid, errs...)
}

// CreateShift plans a shift for an active employee; one overlapping
// another of theirs fails with *ShiftOverlapError.
func (s *Service) CreateShift(ctx context.Context, in staffapi.ShiftCreate) (staffapi.Shift, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Shift{}, err
	}
	sh, err := newShift(in, kit.NewID(), s.now(), s.cfg.MaxShift)
	if err != nil {
		return staffapi.Shift{}, err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *staffdb.Queries) error {
		if err := lockForShifts(ctx, q, tenant, sh.EmployeeID, true); err != nil {
			return err
		}
		if err := checkOverlap(ctx, q, tenant, sh); err != nil {
			return err
		}
		return q.InsertShift(ctx, staffdb.InsertShiftParams{
			TenantID: tenant, ID: sh.ID, EmployeeID: sh.EmployeeID, StartsAt: sqldb.Micros(sh.StartsAt), EndsAt: sqldb.Micros(sh.EndsAt),
			Note: sh.Note, CreatedAt: sqldb.Micros(sh.CreatedAt), UpdatedAt: sqldb.Micros(sh.UpdatedAt),
		})
	})
	if err != nil {
		return staffapi.Shift{}, fmt.Errorf("create shift: %w", err)
	}
	return sh, nil
}

// Shift returns a shift by ID.
func (s *Service) Shift(ctx context.Context, id string) (staffapi.Shift, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Shift{}, err
	}
	return kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) (staffapi.Shift, error) { return shift(ctx, q, tenant, id) })
}

// UpdateShift moves or re-notes a shift; it must not come to overlap
// another of the employee's.
func (s *Service) UpdateShift(ctx context.Context, id string, in staffapi.ShiftUpdate) (staffapi.Shift, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Shift{}, err
	}
	var sh staffapi.Shift
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *staffdb.Queries) error {
		old, err := shift(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		var changed bool
		if sh, changed, err = patchShift(old, in, s.now(), s.cfg.MaxShift); err != nil || !changed {
			return err
		}
		if err := lockForShifts(ctx, q, tenant, sh.EmployeeID, false); err != nil {
			return err
		}
		if err := checkOverlap(ctx, q, tenant, sh); err != nil {
			return err
		}
		n, err := q.UpdateShift(ctx, staffdb.UpdateShiftParams{
			TenantID: tenant, ID: id, StartsAt: sqldb.Micros(sh.StartsAt), EndsAt: sqldb.Micros(sh.EndsAt), Note: sh.Note, UpdatedAt: sqldb.Micros(sh.UpdatedAt),
		})
		if err != nil {
			return fmt.Errorf("update shift %s: %w", id, err)
		}
		if n == 0 {
			return ErrShiftNotFound
		}
		return nil
	})
	if err != nil {
		return staffapi.Shift{}, fmt.Errorf("update shift %s: %w", id, err)
	}
	return sh, nil
}

// DeleteShift removes a planned shift.
func (s *Service) DeleteShift(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *staffdb.Queries) error {
		n, err := q.DeleteShift(ctx, staffdb.DeleteShiftParams{TenantID: tenant, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrShiftNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete shift %s: %w", id, err)
	}
	return nil
}

// ShiftQuery selects shifts overlapping [From, To).
type ShiftQuery struct {
	From, To   time.Time
	EmployeeID string // "": everyone
	Limit      int
	Cursor     string
}

// Shifts returns a page of the shifts overlapping the period, by start.
func (s *Service) Shifts(ctx context.Context, sq ShiftQuery) (staffapi.ShiftList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.ShiftList{}, err
	}
	if err := checkPeriod(sq.From, sq.To, s.cfg.MaxPeriod); err != nil {
		return staffapi.ShiftList{}, err
	}
	after := kit.Cursor{At: -1 << 62}
	if sq.Cursor != "" {
		if after, err = kit.ParseCursor(sq.Cursor); err != nil {
			return staffapi.ShiftList{}, err
		}
	}
	n := s.pageLimit(sq.Limit)
	rows, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) ([]staffdb.Shift, error) {
		return q.ListShifts(ctx, staffdb.ListShiftsParams{
			TenantID: tenant, PeriodFrom: sqldb.Micros(sq.From), PeriodTo: sqldb.Micros(sq.To), EmployeeID: sq.EmployeeID,
			AfterStart: after.At, AfterID: after.ID, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.ShiftList{}, fmt.Errorf("list shifts: %w", err)
	}
	out := staffapi.ShiftList{Items: make([]staffapi.Shift, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = kit.Cursor{At: rows[n-1].StartsAt, ID: rows[n-1].ID}.String()
			break
		}
		out.Items = append(out.Items, toShift(r))
	}
	return out, nil
}
