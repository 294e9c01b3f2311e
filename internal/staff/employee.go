package staff

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// Field bounds, the same as the contract's validation tags: service
// methods are also called directly, so they check again.
const (
	maxName     = 100
	maxLocation = 100
	maxNote     = 500
	maxTitle    = 200
	maxBody     = 10000
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

func normalEmail(s string) string { return text.NormalEmail(s) }

// checkEmployee lists what is wrong with e.
func checkEmployee(e staffapi.Employee) []FieldError {
	var errs []FieldError
	if msg := checkText(e.Name, 1, maxName, false); msg != "" {
		errs = append(errs, FieldError{Field: "name", Message: msg, Value: e.Name})
	}
	if e.Email != "" {
		if err := text.Email(e.Email); err != nil {
			errs = append(errs, FieldError{Field: "email", Message: err.Error(), Value: e.Email})
		}
	}
	if e.AccountID != "" && !validAccountID(e.AccountID) {
		errs = append(errs, FieldError{Field: "account_id", Message: "must be the ID of a staff account of this store (a UUID)", Value: e.AccountID})
	}
	if !auth.ValidStaffRole(e.Role) {
		errs = append(errs, FieldError{Field: "role", Message: "must be one of owner, manager, staff, support", Value: string(e.Role)})
	}
	return errs
}

// validAccountID reports whether id has the form of an identity staff
// account ID: a UUID in its canonical, lowercase form.
func validAccountID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.String() == id
}

// checkText returns what is wrong with a text field, or "", by the
// platform's rules (text.Line, text.Lines): at most maxLen characters, not
// blank when minLen is above 0, valid UTF-8 without control characters or
// bidi overrides (line breaks and tabs only where multiline).
func checkText(s string, minLen, maxLen int, multiline bool) string {
	check := text.Line
	if multiline {
		check = text.Lines
	}
	if err := check(s, maxLen, minLen > 0); err != nil {
		return err.Error()
	}
	return ""
}
