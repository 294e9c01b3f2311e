package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
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
		return staffapi.Employee{}, kit.Invalid(ErrInvalid, errs...)
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
		return old, false, kit.Invalid(ErrInvalid, errs...)
	}
	e.UpdatedAt = old.UpdatedAt
	if e == old {
		return old, false, nil
	}
	e.UpdatedAt = storedTime(now)
	return e, true, nil
}

// accountTaken is the refusal of an account_id linked to another
// employee already.
func accountTaken() error {
	return kit.Invalid(ErrAccountTaken, kit.FieldError{Field: "account_id", Message: "linked to another employee"})
}

func normalEmail(s string) string { return text.NormalEmail(s) }

// checkEmployee lists what is wrong with e.
func checkEmployee(e staffapi.Employee) []kit.FieldError {
	var errs []kit.FieldError
	if msg := checkText(e.Name, 1, maxName, false); msg != "" {
		errs = append(errs, kit.FieldError{Field: "name", Message: msg, Value: e.Name})
	}
	if e.Email != "" {
		if err := text.Email(e.Email); err != nil {
			errs = append(errs, kit.FieldError{Field: "email", Message: err.Error(), Value: e.Email})
		}
	}
	if e.AccountID != "" && !validAccountID(e.AccountID) {
		errs = append(errs, kit.FieldError{Field: "account_id", Message: "must be the ID of a staff account of this store (a UUID)", Value: e.AccountID})
	}
	if !auth.ValidStaffRole(e.Role) {
		errs = append(errs, kit.FieldError{Field: "role", Message: "must be one of owner, manager, staff, support", Value: string(e.Role)})
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

// caller returns the request's principal, which must belong to tenant
// (the admin token is valid in every tenant).
func caller(ctx context.Context, tenant string) (auth.Principal, error) {
	p, ok := auth.From(ctx)
	if !ok {
		return auth.Principal{}, ErrUnauthenticated
	}
	if p.Kind != auth.KindAdmin && p.Tenant != tenant {
		return auth.Principal{}, ErrForbidden
	}
	return p, nil
}

// manages reports whether p may act for other employees: owners and
// managers, secret API keys (server integrations, e.g. a time clock) and
// the admin token (services).
func manages(p auth.Principal) bool {
	switch p.Kind {
	case auth.KindAdmin:
		return true
	case auth.KindAPIKey:
		return p.Role == auth.RoleSecret
	case auth.KindStaff:
		return p.Role == auth.RoleOwner || p.Role == auth.RoleManager
	}
	return false
}

// ownEmployee is the employee linked to a staff principal's account.
func (s *Service) ownEmployee(ctx context.Context, tenant string, p auth.Principal) (staffapi.Employee, error) {
	if p.Kind != auth.KindStaff {
		return staffapi.Employee{}, ErrNoEmployee
	}
	r, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) (staffdb.Employee, error) {
		return q.EmployeeByAccount(ctx, staffdb.EmployeeByAccountParams{TenantID: tenant, AccountID: nullString(p.Subject)})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return staffapi.Employee{}, ErrNoEmployee
	}
	if err != nil {
		return staffapi.Employee{}, fmt.Errorf("find employee of account %s: %w", p.Subject, err)
	}
	return toEmployee(r), nil
}

// CreateEmployee adds an active employee.
func (s *Service) CreateEmployee(ctx context.Context, in staffapi.EmployeeCreate) (staffapi.Employee, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Employee{}, err
	}
	e, err := newEmployee(in, kit.NewID(), s.now())
	if err != nil {
		return staffapi.Employee{}, err
	}
	if err := s.checkAccount(ctx, e.AccountID); err != nil {
		return staffapi.Employee{}, fmt.Errorf("create employee: %w", err)
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *staffdb.Queries) error {
		err := q.InsertEmployee(ctx, staffdb.InsertEmployeeParams{
			TenantID: tenant, ID: e.ID, AccountID: nullString(e.AccountID), Name: e.Name, Email: e.Email,
			Role: string(e.Role), Active: e.Active, CreatedAt: sqldb.Micros(e.CreatedAt), UpdatedAt: sqldb.Micros(e.UpdatedAt),
		})
		if sqldb.IsUniqueViolation(err) {
			return accountTaken()
		}
		return err
	})
	if err != nil {
		return staffapi.Employee{}, fmt.Errorf("create employee: %w", err)
	}
	s.log.DebugContext(ctx, "employee created", "tenant", tenant, "employee_id", e.ID)
	return e, nil
}

// Employee returns an employee by ID.
func (s *Service) Employee(ctx context.Context, id string) (staffapi.Employee, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Employee{}, err
	}
	return kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) (staffapi.Employee, error) { return employee(ctx, q, tenant, id) })
}

// EmployeeQuery selects a page of employees.
type EmployeeQuery struct {
	// Active filters by status when not nil.
	Active *bool
	Limit  int
	Cursor string
}

// Employees returns a page of employees in creation order.
func (s *Service) Employees(ctx context.Context, eq EmployeeQuery) (staffapi.EmployeeList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.EmployeeList{}, err
	}
	var after kit.Cursor
	if eq.Cursor != "" {
		if after, err = kit.ParseCursor(eq.Cursor); err != nil {
			return staffapi.EmployeeList{}, err
		}
	}
	n := s.pageLimit(eq.Limit)
	rows, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) ([]staffdb.Employee, error) {
		return q.ListEmployees(ctx, staffdb.ListEmployeesParams{
			TenantID: tenant, AfterID: after.ID, AnyStatus: eq.Active == nil, Active: eq.Active != nil && *eq.Active, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.EmployeeList{}, fmt.Errorf("list employees: %w", err)
	}
	out := staffapi.EmployeeList{Items: make([]staffapi.Employee, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = kit.Cursor{ID: rows[n-1].ID}.String()
			break
		}
		out.Items = append(out.Items, toEmployee(r))
	}
	return out, nil
}

// UpdateEmployee applies a partial update. Deactivating an employee who is
// checked in checks them out, announced like any check-out.
func (s *Service) UpdateEmployee(ctx context.Context, id string, in staffapi.EmployeeUpdate) (staffapi.Employee, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Employee{}, err
	}
	if in.AccountID != nil {
		// Checked before the transaction (see checkAccount); the form first,
		// so that a malformed ID is a 422 without a call.
		acc := strings.TrimSpace(*in.AccountID)
		if acc != "" && !validAccountID(acc) {
			return staffapi.Employee{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "account_id", Message: "must be the ID of a staff account of this store (a UUID)", Value: acc})
		}
		if err := s.checkAccount(ctx, acc); err != nil {
			return staffapi.Employee{}, fmt.Errorf("update employee %s: %w", id, err)
		}
	}
	var e staffapi.Employee
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *staffdb.Queries) error {
		old, err := employee(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		var changed bool
		now := s.now()
		e, changed, err = patchEmployee(old, in, now)
		if err != nil || !changed {
			return err
		}
		n, err := q.UpdateEmployee(ctx, staffdb.UpdateEmployeeParams{
			TenantID: tenant, ID: id, AccountID: nullString(e.AccountID), Name: e.Name, Email: e.Email,
			Role: string(e.Role), Active: e.Active, UpdatedAt: sqldb.Micros(e.UpdatedAt),
		})
		switch {
		case sqldb.IsUniqueViolation(err):
			return accountTaken()
		case err != nil:
			return fmt.Errorf("update employee %s: %w", id, err)
		case n == 0:
			return ErrEmployeeNotFound
		}
		if old.Active && !e.Active {
			_, err := closeAttendance(ctx, tx, q, checkOut{tenant: tenant, employee: e, at: now, note: "deactivated"})
			if errors.Is(err, ErrNotCheckedIn) {
				return nil
			}
			return err
		}
		return nil
	})
	if err != nil {
		return staffapi.Employee{}, fmt.Errorf("update employee %s: %w", id, err)
	}
	return e, nil
}

// DeactivateEmployee deactivates an employee (see UpdateEmployee). It is
// idempotent.
func (s *Service) DeactivateEmployee(ctx context.Context, id string) (staffapi.Employee, error) {
	inactive := false
	return s.UpdateEmployee(ctx, id, staffapi.EmployeeUpdate{Active: &inactive})
}
