package staff

import (
	"strings"
	"time"

	"github.com/mercato/mercato/internal/staff/staffapi"
)

// newShift builds a planned shift from a create request.
func newShift(in staffapi.ShiftCreate, id string, now time.Time, maxShift time.Duration) (staffapi.Shift, error) {
	now = storedTime(now)
	sh := staffapi.Shift{
		ID: id, EmployeeID: strings.TrimSpace(in.EmployeeID), StartsAt: storedTime(in.StartsAt), EndsAt: storedTime(in.EndsAt),
		Note: strings.TrimSpace(in.Note), CreatedAt: now, UpdatedAt: now,
	}
	var errs []FieldError
	if sh.EmployeeID == "" {
		errs = append(errs, FieldError{Field: "employee_id", Message: "must not be empty", Value: in.EmployeeID})
	}
	errs = append(errs, checkShift(sh, maxShift)...)
	if len(errs) > 0 {
		return staffapi.Shift{}, invalid(errs...)
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
		return old, false, invalid(errs...)
	}
	if sh.StartsAt.Equal(old.StartsAt) && sh.EndsAt.Equal(old.EndsAt) && sh.Note == old.Note {
		return old, false, nil
	}
	sh.DurationSeconds = int64(sh.EndsAt.Sub(sh.StartsAt) / time.Second)
	sh.UpdatedAt = storedTime(now)
	return sh, true, nil
}

func checkShift(sh staffapi.Shift, maxShift time.Duration) []FieldError {
	var errs []FieldError
	if sh.StartsAt.IsZero() {
		errs = append(errs, FieldError{Field: "starts_at", Message: "is required", Value: nil})
	}
	if sh.EndsAt.IsZero() {
		errs = append(errs, FieldError{Field: "ends_at", Message: "is required", Value: nil})
	}
	if len(errs) == 0 {
		switch d := sh.EndsAt.Sub(sh.StartsAt); {
		case d <= 0:
			errs = append(errs, FieldError{Field: "ends_at", Message: "must be after starts_at", Value: sh.EndsAt})
		case d > maxShift:
			errs = append(errs, FieldError{Field: "ends_at", Message: "the shift is longer than " + maxShift.String(), Value: sh.EndsAt})
		}
	}
	if msg := checkText(sh.Note, 0, maxNote, true); msg != "" {
		errs = append(errs, FieldError{Field: "note", Message: msg, Value: sh.Note})
	}
	return errs
}

// checkPeriod checks a [from, to) period of a list or report.
func checkPeriod(from, to time.Time, maxPeriod time.Duration) error {
	var errs []FieldError
	if from.IsZero() {
		errs = append(errs, FieldError{In: "query", Field: "from", Message: "is required"})
	}
	if to.IsZero() {
		errs = append(errs, FieldError{In: "query", Field: "to", Message: "is required"})
	}
	if len(errs) == 0 {
		switch d := to.Sub(from); {
		case d <= 0:
			errs = append(errs, FieldError{In: "query", Field: "to", Message: "must be after from", Value: to})
		case d > maxPeriod:
			errs = append(errs, FieldError{In: "query", Field: "to", Message: "the period is longer than " + maxPeriod.String(), Value: to})
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}
