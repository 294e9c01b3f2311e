package staff

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// Field bounds, the same as the contract's validation tags: service
// methods are also called directly, so they check again.
const (
	maxName      = 100
	maxEmail     = 254
	maxAccountID = 100
	maxLocation  = 100
	maxNote      = 500
	maxTitle     = 200
	maxBody      = 10000
)

// newEmployee builds a new, active employee from a create request.
func newEmployee(in staffapi.EmployeeCreate, id string, now time.Time) (staffapi.Employee, error) {
	now = storedTime(now)
	e := staffapi.Employee{
		ID: id, AccountID: strings.TrimSpace(in.AccountID), Name: strings.TrimSpace(in.Name),
		Email: normalEmail(in.Email), Role: in.Role, Active: true, CreatedAt: now, UpdatedAt: now,
	}
	if errs := checkEmployee(e); len(errs) > 0 {
		return staffapi.Employee{}, invalid(errs...)
	}
	return e, nil
}

// patchEmployee applies a partial update to old; changed is false when it
// changes nothing.
func patchEmployee(old staffapi.Employee, in staffapi.EmployeeUpdate, now time.Time) (e staffapi.Employee, changed bool, err error) {
	e = old
	if in.AccountID != nil {
		e.AccountID = strings.TrimSpace(*in.AccountID)
	}
	if in.Name != nil {
		e.Name = strings.TrimSpace(*in.Name)
	}
	if in.Email != nil {
		e.Email = normalEmail(*in.Email)
	}
	if in.Role != nil {
		e.Role = *in.Role
	}
	if in.Active != nil {
		e.Active = *in.Active
	}
	if errs := checkEmployee(e); len(errs) > 0 {
		return old, false, invalid(errs...)
	}
	e.UpdatedAt = old.UpdatedAt
	if e == old {
		return old, false, nil
	}
	e.UpdatedAt = storedTime(now)
	return e, true, nil
}

func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkEmployee lists what is wrong with e.
func checkEmployee(e staffapi.Employee) []FieldError {
	var errs []FieldError
	if msg := checkText(e.Name, 1, maxName, false); msg != "" {
		errs = append(errs, FieldError{Field: "name", Message: msg, Value: e.Name})
	}
	if e.Email != "" {
		if utf8.RuneCountInString(e.Email) > maxEmail {
			errs = append(errs, FieldError{Field: "email", Message: "must be at most 254 characters", Value: e.Email})
		} else if a, err := mail.ParseAddress(e.Email); err != nil || a.Address != e.Email {
			errs = append(errs, FieldError{Field: "email", Message: "not an email address", Value: e.Email})
		}
	}
	if e.AccountID != "" {
		if len(e.AccountID) > maxAccountID || strings.IndexFunc(e.AccountID, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			errs = append(errs, FieldError{Field: "account_id", Message: "must be at most 100 characters, without spaces or control characters", Value: e.AccountID})
		}
	}
	if !auth.ValidStaffRole(e.Role) {
		errs = append(errs, FieldError{Field: "role", Message: "must be one of owner, manager, staff, support", Value: string(e.Role)})
	}
	return errs
}

// checkText returns what is wrong with a text field, or "": its length in
// characters must be within [minLen, maxLen], and it must be valid UTF-8
// without control characters (newlines and tabs only where multiline).
func checkText(s string, minLen, maxLen int, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		if minLen == 1 {
			return "must not be empty"
		}
		return "too short"
	}
	if n > maxLen {
		return "too long"
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return "must not contain control characters"
		}
	}
	return ""
}
