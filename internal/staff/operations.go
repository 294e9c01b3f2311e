package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

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

// CreateEmployee adds an active employee.
func (s *Service) CreateEmployee(ctx context.Context, in staffapi.EmployeeCreate) (staffapi.Employee, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Employee{}, err
	}
	e, err := newEmployee(in, s.newID(), s.now())
	if err != nil {
		return staffapi.Employee{}, err
	}
	if err := s.checkAccount(ctx, e.AccountID); err != nil {
		return staffapi.Employee{}, fmt.Errorf("create employee: %w", err)
	}
	err = s.write(ctx, func(_ *sql.Tx, q *staffdb.Queries) (bool, error) {
		err := q.InsertEmployee(ctx, staffdb.InsertEmployeeParams{
			TenantID: tenant, ID: e.ID, AccountID: nullString(e.AccountID), Name: e.Name, Email: e.Email,
			Role: string(e.Role), Active: e.Active, CreatedAt: micros(e.CreatedAt), UpdatedAt: micros(e.UpdatedAt),
		})
		if sqldb.IsUniqueViolation(err) {
			return false, ErrAccountTaken
		}
		return false, err
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
	return readOne(ctx, s, func(q *staffdb.Queries) (staffapi.Employee, error) { return employee(ctx, q, tenant, id) })
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
	var after cursor
	if eq.Cursor != "" {
		if after, err = decodeCursor(eq.Cursor); err != nil {
			return staffapi.EmployeeList{}, err
		}
	}
	n := s.pageLimit(eq.Limit)
	rows, err := readOne(ctx, s, func(q *staffdb.Queries) ([]staffdb.Employee, error) {
		return q.ListEmployees(ctx, staffdb.ListEmployeesParams{
			TenantID: tenant, AfterID: after.id, AnyStatus: eq.Active == nil, Active: eq.Active != nil && *eq.Active, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.EmployeeList{}, fmt.Errorf("list employees: %w", err)
	}
	out := staffapi.EmployeeList{Items: make([]staffapi.Employee, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor{id: rows[n-1].ID}.encode()
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
			return staffapi.Employee{}, invalid(FieldError{Field: "account_id", Message: "must be the ID of a staff account of this store (a UUID)", Value: acc})
		}
		if err := s.checkAccount(ctx, acc); err != nil {
			return staffapi.Employee{}, fmt.Errorf("update employee %s: %w", id, err)
		}
	}
	var e staffapi.Employee
	err = s.write(ctx, func(tx *sql.Tx, q *staffdb.Queries) (bool, error) {
		old, err := employee(ctx, q, tenant, id)
		if err != nil {
			return false, err
		}
		var changed bool
		now := s.now()
		e, changed, err = patchEmployee(old, in, now)
		if err != nil || !changed {
			return false, err
		}
		n, err := q.UpdateEmployee(ctx, staffdb.UpdateEmployeeParams{
			TenantID: tenant, ID: id, AccountID: nullString(e.AccountID), Name: e.Name, Email: e.Email,
			Role: string(e.Role), Active: e.Active, UpdatedAt: micros(e.UpdatedAt),
		})
		switch {
		case sqldb.IsUniqueViolation(err):
			return false, ErrAccountTaken
		case err != nil:
			return false, fmt.Errorf("update employee %s: %w", id, err)
		case n == 0:
			return false, ErrEmployeeNotFound
		}
		if old.Active && !e.Active {
			_, err := s.closeAttendance(ctx, tx, q, tenant, e, now, "", "deactivated")
			if errors.Is(err, ErrNotCheckedIn) {
				return false, nil
			}
			return err == nil, err
		}
		return false, nil
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

// CreateShift plans a shift for an active employee; one overlapping
// another of theirs fails with *ShiftOverlapError.
func (s *Service) CreateShift(ctx context.Context, in staffapi.ShiftCreate) (staffapi.Shift, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Shift{}, err
	}
	sh, err := newShift(in, s.newID(), s.now(), s.cfg.MaxShift)
	if err != nil {
		return staffapi.Shift{}, err
	}
	err = s.write(ctx, func(_ *sql.Tx, q *staffdb.Queries) (bool, error) {
		if err := lockForShifts(ctx, q, tenant, sh.EmployeeID, true); err != nil {
			return false, err
		}
		if err := checkOverlap(ctx, q, tenant, sh); err != nil {
			return false, err
		}
		return false, q.InsertShift(ctx, staffdb.InsertShiftParams{
			TenantID: tenant, ID: sh.ID, EmployeeID: sh.EmployeeID, StartsAt: micros(sh.StartsAt), EndsAt: micros(sh.EndsAt),
			Note: sh.Note, CreatedAt: micros(sh.CreatedAt), UpdatedAt: micros(sh.UpdatedAt),
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
	return readOne(ctx, s, func(q *staffdb.Queries) (staffapi.Shift, error) { return shift(ctx, q, tenant, id) })
}

// UpdateShift moves or re-notes a shift; it must not come to overlap
// another of the employee's.
func (s *Service) UpdateShift(ctx context.Context, id string, in staffapi.ShiftUpdate) (staffapi.Shift, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Shift{}, err
	}
	var sh staffapi.Shift
	err = s.write(ctx, func(_ *sql.Tx, q *staffdb.Queries) (bool, error) {
		old, err := shift(ctx, q, tenant, id)
		if err != nil {
			return false, err
		}
		var changed bool
		if sh, changed, err = patchShift(old, in, s.now(), s.cfg.MaxShift); err != nil || !changed {
			return false, err
		}
		if err := lockForShifts(ctx, q, tenant, sh.EmployeeID, false); err != nil {
			return false, err
		}
		if err := checkOverlap(ctx, q, tenant, sh); err != nil {
			return false, err
		}
		n, err := q.UpdateShift(ctx, staffdb.UpdateShiftParams{
			TenantID: tenant, ID: id, StartsAt: micros(sh.StartsAt), EndsAt: micros(sh.EndsAt), Note: sh.Note, UpdatedAt: micros(sh.UpdatedAt),
		})
		if err != nil {
			return false, fmt.Errorf("update shift %s: %w", id, err)
		}
		if n == 0 {
			return false, ErrShiftNotFound
		}
		return false, nil
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
	err = s.write(ctx, func(_ *sql.Tx, q *staffdb.Queries) (bool, error) {
		n, err := q.DeleteShift(ctx, staffdb.DeleteShiftParams{TenantID: tenant, ID: id})
		if err != nil {
			return false, err
		}
		if n == 0 {
			return false, ErrShiftNotFound
		}
		return false, nil
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
	after := cursor{at: -1 << 62}
	if sq.Cursor != "" {
		if after, err = decodeCursor(sq.Cursor); err != nil {
			return staffapi.ShiftList{}, err
		}
	}
	n := s.pageLimit(sq.Limit)
	rows, err := readOne(ctx, s, func(q *staffdb.Queries) ([]staffdb.Shift, error) {
		return q.ListShifts(ctx, staffdb.ListShiftsParams{
			TenantID: tenant, PeriodFrom: micros(sq.From), PeriodTo: micros(sq.To), EmployeeID: sq.EmployeeID,
			AfterStart: after.at, AfterID: after.id, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.ShiftList{}, fmt.Errorf("list shifts: %w", err)
	}
	out := staffapi.ShiftList{Items: make([]staffapi.Shift, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor{at: rows[n-1].StartsAt, id: rows[n-1].ID}.encode()
			break
		}
		out.Items = append(out.Items, toShift(r))
	}
	return out, nil
}

// subject resolves whom a check-in or check-out is for: the caller's own
// employee, or (for those who manage) the one named. A staff member who
// names someone else is refused without learning whether they exist.
func (s *Service) subject(ctx context.Context, tenant string, p auth.Principal, employeeID string) (staffapi.Employee, error) {
	switch {
	case p.Kind == auth.KindStaff && (employeeID == "" || !manages(p)):
		own, err := s.ownEmployee(ctx, tenant, p)
		if err != nil {
			return staffapi.Employee{}, err
		}
		if employeeID != "" && employeeID != own.ID {
			return staffapi.Employee{}, ErrForbidden
		}
		return own, nil
	case manages(p):
		if employeeID == "" {
			return staffapi.Employee{}, invalid(FieldError{Field: "employee_id", Message: "is required unless a staff member checks in themselves"})
		}
		return readOne(ctx, s, func(q *staffdb.Queries) (staffapi.Employee, error) { return employee(ctx, q, tenant, employeeID) })
	}
	return staffapi.Employee{}, ErrForbidden
}

// ownEmployee is the employee linked to a staff principal's account.
func (s *Service) ownEmployee(ctx context.Context, tenant string, p auth.Principal) (staffapi.Employee, error) {
	if p.Kind != auth.KindStaff {
		return staffapi.Employee{}, ErrNoEmployee
	}
	r, err := readOne(ctx, s, func(q *staffdb.Queries) (staffdb.Employee, error) {
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

func checkPlace(in staffapi.CheckIn) error {
	var errs []FieldError
	if msg := checkText(in.Location, 0, maxLocation, false); msg != "" {
		errs = append(errs, FieldError{Field: "location", Message: msg, Value: in.Location})
	}
	if msg := checkText(in.Note, 0, maxNote, true); msg != "" {
		errs = append(errs, FieldError{Field: "note", Message: msg, Value: in.Note})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

// attendee validates a check-in or check-out and finds whose it is (see
// subject), in the tenant of ctx.
func (s *Service) attendee(ctx context.Context, in staffapi.CheckIn) (string, staffapi.Employee, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return "", staffapi.Employee{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return "", staffapi.Employee{}, err
	}
	if err := checkPlace(in); err != nil {
		return "", staffapi.Employee{}, err
	}
	e, err := s.subject(ctx, tenant, p, in.EmployeeID)
	if err != nil {
		return "", staffapi.Employee{}, err
	}
	return tenant, e, nil
}

// CheckIn checks an employee in (see subject for whom) and announces it.
// Someone already in gets ErrAlreadyCheckedIn: of any number of concurrent
// check-ins of one employee exactly one succeeds. A retry with the same
// Idempotency-Key is answered by the platform with the first outcome.
func (s *Service) CheckIn(ctx context.Context, in staffapi.CheckIn) (staffapi.Attendance, error) {
	tenant, e, err := s.attendee(ctx, in)
	if err != nil {
		return staffapi.Attendance{}, err
	}
	now := storedTime(s.now())
	a := staffapi.Attendance{ID: s.newID(), EmployeeID: e.ID, CheckedInAt: now,
		CheckInLocation: strings.TrimSpace(in.Location), CheckInNote: strings.TrimSpace(in.Note)}
	err = s.write(ctx, func(tx *sql.Tx, q *staffdb.Queries) (bool, error) {
		_, err := q.OpenAttendance(ctx, staffdb.OpenAttendanceParams{AttendanceID: a.ID, CheckedInAt: micros(now), TenantID: tenant, EmployeeID: e.ID})
		if errors.Is(err, sql.ErrNoRows) {
			return false, whyNotOpened(ctx, q, tenant, e.ID)
		}
		if err != nil {
			return false, fmt.Errorf("open attendance: %w", err)
		}
		err = q.InsertAttendance(ctx, staffdb.InsertAttendanceParams{
			TenantID: tenant, ID: a.ID, EmployeeID: e.ID, CheckedInAt: micros(now),
			CheckInLocation: a.CheckInLocation, CheckInNote: a.CheckInNote,
		})
		if err != nil {
			return false, fmt.Errorf("record check-in: %w", err)
		}
		return true, addEvent(ctx, tx, staffapi.SubjectCheckedIn, now, staffapi.CheckedIn{
			AttendanceID: a.ID, EmployeeID: e.ID, AccountID: e.AccountID, At: now, Location: a.CheckInLocation,
		})
	})
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("check in %s: %w", e.ID, err)
	}
	return a, nil
}

// whyNotOpened tells why OpenAttendance inserted nothing: the employee is
// in already, inactive, or gone.
func whyNotOpened(ctx context.Context, q *staffdb.Queries, tenant, employeeID string) error {
	_, err := q.GetOpenAttendance(ctx, staffdb.GetOpenAttendanceParams{TenantID: tenant, EmployeeID: employeeID})
	if err == nil {
		return ErrAlreadyCheckedIn
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read open attendance: %w", err)
	}
	e, err := employee(ctx, q, tenant, employeeID)
	if err != nil {
		return err
	}
	if !e.Active {
		return ErrInactive
	}
	// Not in, active, yet not opened: a concurrent check-out removed the
	// row between the insert and this read (PostgreSQL). Say so; a retry
	// will succeed.
	return ErrAlreadyCheckedIn
}

// CheckOut checks an employee out (see subject for whom) and announces it;
// ErrNotCheckedIn if they were not in.
func (s *Service) CheckOut(ctx context.Context, in staffapi.CheckIn) (staffapi.Attendance, error) {
	tenant, e, err := s.attendee(ctx, in)
	if err != nil {
		return staffapi.Attendance{}, err
	}
	var a staffapi.Attendance
	err = s.write(ctx, func(tx *sql.Tx, q *staffdb.Queries) (bool, error) {
		var err error
		a, err = s.closeAttendance(ctx, tx, q, tenant, e, s.now(), strings.TrimSpace(in.Location), strings.TrimSpace(in.Note))
		return err == nil, err
	})
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("check out %s: %w", e.ID, err)
	}
	return a, nil
}

// closeAttendance closes e's open check-in at now (never before it began) in tx
// and announces it.
func (s *Service) closeAttendance(ctx context.Context, tx *sql.Tx, q *staffdb.Queries, tenant string, e staffapi.Employee, now time.Time, location, note string) (staffapi.Attendance, error) {
	open, err := q.CloseOpenAttendance(ctx, staffdb.CloseOpenAttendanceParams{TenantID: tenant, EmployeeID: e.ID})
	if errors.Is(err, sql.ErrNoRows) {
		return staffapi.Attendance{}, ErrNotCheckedIn
	}
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("close open attendance: %w", err)
	}
	out := max(micros(storedTime(now)), open.CheckedInAt)
	r, err := q.CheckOutAttendance(ctx, staffdb.CheckOutAttendanceParams{
		CheckedOutAt: out, CheckOutLocation: location, CheckOutNote: note, TenantID: tenant, ID: open.AttendanceID,
	})
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("record check-out of %s: %w", open.AttendanceID, err)
	}
	a := toAttendance(r)
	return a, addEvent(ctx, tx, staffapi.SubjectCheckedOut, *a.CheckedOutAt, staffapi.CheckedOut{
		AttendanceID: a.ID, EmployeeID: e.ID, AccountID: e.AccountID, CheckedInAt: a.CheckedInAt,
		At: *a.CheckedOutAt, Location: location, DurationSeconds: a.DurationSeconds,
	})
}

// Presence tells whether the caller (or, for those who manage, the named
// employee) is checked in, and since when.
func (s *Service) Presence(ctx context.Context, employeeID string) (staffapi.Presence, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Presence{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return staffapi.Presence{}, err
	}
	e, err := s.subject(ctx, tenant, p, employeeID)
	if err != nil {
		return staffapi.Presence{}, err
	}
	out := staffapi.Presence{EmployeeID: e.ID}
	r, err := readOne(ctx, s, func(q *staffdb.Queries) (staffdb.Attendance, error) {
		return q.GetOpenAttendance(ctx, staffdb.GetOpenAttendanceParams{TenantID: tenant, EmployeeID: e.ID})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return staffapi.Presence{}, fmt.Errorf("read open check-in of %s: %w", e.ID, err)
	}
	a := toAttendance(r)
	out.CheckedIn, out.Attendance = true, &a
	return out, nil
}

// Attendance reports, per employee, the time worked in [from, to) and the
// shifts planned, attended and started late (see summarize). Open
// check-ins count up to now (or the period's end, if earlier): the
// report's open_until. It lists the active employees and the inactive ones
// with check-ins or shifts in the period; employeeID "" means everyone.
func (s *Service) Attendance(ctx context.Context, from, to time.Time, employeeID string) (staffapi.AttendanceReport, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.AttendanceReport{}, err
	}
	from, to = storedTime(from), storedTime(to)
	if err := checkPeriod(from, to, s.cfg.MaxPeriod); err != nil {
		return staffapi.AttendanceReport{}, err
	}
	now := storedTime(s.now())
	var (
		emps   []staffdb.Employee
		shifts []staffdb.Shift
		atts   []staffdb.Attendance
	)
	err = s.readTx(ctx, func(q *staffdb.Queries) error {
		var err error
		if emps, err = q.ReportEmployees(ctx, staffdb.ReportEmployeesParams{TenantID: tenant, EmployeeID: employeeID}); err != nil {
			return fmt.Errorf("load employees: %w", err)
		}
		if shifts, err = q.ShiftsStartingIn(ctx, staffdb.ShiftsStartingInParams{TenantID: tenant, PeriodFrom: micros(from), PeriodTo: micros(to), EmployeeID: employeeID}); err != nil {
			return fmt.Errorf("load shifts: %w", err)
		}
		// A shift starting in the period may end after it, and a check-in
		// overlapping it then counts for attendance: widen the window.
		windowTo := micros(to)
		for _, sh := range shifts {
			windowTo = max(windowTo, sh.EndsAt)
		}
		if atts, err = q.AttendanceInWindow(ctx, staffdb.AttendanceInWindowParams{TenantID: tenant, WindowFrom: micros(from), WindowTo: windowTo, EmployeeID: employeeID}); err != nil {
			return fmt.Errorf("load check-ins: %w", err)
		}
		return nil
	})
	if err != nil {
		return staffapi.AttendanceReport{}, fmt.Errorf("attendance report: %w", err)
	}
	if employeeID != "" && len(emps) == 0 {
		return staffapi.AttendanceReport{}, ErrEmployeeNotFound
	}
	return buildReport(from, to, now, emps, shifts, atts, s.cfg.LateGrace), nil
}

// buildReport assembles the report from the rows read.
func buildReport(from, to, now time.Time, emps []staffdb.Employee, shifts []staffdb.Shift, atts []staffdb.Attendance, grace time.Duration) staffapi.AttendanceReport {
	ivs := map[string][]interval{}
	for _, a := range atts {
		iv := interval{in: fromMicros(a.CheckedInAt)}
		if a.CheckedOutAt.Valid {
			iv.out = fromMicros(a.CheckedOutAt.Int64)
		} else {
			iv.open, iv.out = true, later(now, iv.in)
		}
		ivs[a.EmployeeID] = append(ivs[a.EmployeeID], iv)
	}
	spans := map[string][]span{}
	for _, sh := range shifts {
		spans[sh.EmployeeID] = append(spans[sh.EmployeeID], span{start: fromMicros(sh.StartsAt), end: fromMicros(sh.EndsAt)})
	}
	r := staffapi.AttendanceReport{From: from, To: to, OpenUntil: earlier(later(now, from), to), Items: []staffapi.AttendanceLine{}}
	for _, e := range emps {
		w := summarize(from, to, ivs[e.ID], spans[e.ID], grace)
		if !e.Active && w.checkIns == 0 && w.planned == 0 {
			continue
		}
		r.Items = append(r.Items, staffapi.AttendanceLine{
			EmployeeID: e.ID, Name: e.Name, Email: e.Email, Role: auth.Role(e.Role), Active: e.Active,
			SecondsWorked: w.seconds, HoursWorked: hours(w.seconds), CheckIns: w.checkIns, CheckedIn: w.checkedIn,
			ShiftsPlanned: w.planned, ShiftsAttended: w.attended, LateCheckIns: w.late, LateSeconds: w.lateSeconds,
		})
	}
	return r
}

// readTx runs fn in a read-only transaction on the read pool (sqldb's
// ReadTx), so that its queries see one snapshot and, on PostgreSQL with
// row-level security, the rows of the context's tenant: outside such a
// transaction a read sees none.
func (s *Service) readTx(ctx context.Context, fn func(q *staffdb.Queries) error) error {
	return s.db.ReadTx(ctx, func(tx *sql.Tx) error { return fn(s.read.WithTx(tx)) })
}

// readOne runs one read in its own read transaction (readTx) and returns
// what it read; its error comes back as fn returned it.
func readOne[T any](ctx context.Context, s *Service, fn func(q *staffdb.Queries) (T, error)) (T, error) {
	var out T
	err := s.readTx(ctx, func(q *staffdb.Queries) error {
		var err error
		out, err = fn(q)
		return err
	})
	return out, err
}

// validAudience reports whether a is "all" or a staff role.
func validAudience(a string) bool {
	return a == staffapi.AudienceAll || auth.ValidStaffRole(auth.Role(a))
}

// PublishAnnouncement publishes an announcement to all staff or one role,
// with the caller as author, and announces it.
func (s *Service) PublishAnnouncement(ctx context.Context, in staffapi.AnnouncementCreate) (staffapi.Announcement, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Announcement{}, err
	}
	a := staffapi.Announcement{ID: s.newID(), Title: strings.TrimSpace(in.Title), Body: strings.TrimSpace(in.Body),
		Audience: in.Audience, CreatedAt: storedTime(s.now())}
	if p, ok := auth.From(ctx); ok {
		a.Author = p.Subject
	}
	var errs []FieldError
	if msg := checkText(a.Title, 1, maxTitle, false); msg != "" {
		errs = append(errs, FieldError{Field: "title", Message: msg, Value: a.Title})
	}
	if msg := checkText(a.Body, 1, maxBody, true); msg != "" {
		errs = append(errs, FieldError{Field: "body", Message: msg})
	}
	if !validAudience(a.Audience) {
		errs = append(errs, FieldError{Field: "audience", Message: "must be all, owner, manager, staff or support", Value: a.Audience})
	}
	if len(errs) > 0 {
		return staffapi.Announcement{}, invalid(errs...)
	}
	err = s.write(ctx, func(tx *sql.Tx, q *staffdb.Queries) (bool, error) {
		err := q.InsertAnnouncement(ctx, staffdb.InsertAnnouncementParams{
			TenantID: tenant, ID: a.ID, Title: a.Title, Body: a.Body, Audience: a.Audience, Author: a.Author, CreatedAt: micros(a.CreatedAt),
		})
		if err != nil {
			return false, fmt.Errorf("insert announcement: %w", err)
		}
		return true, addEvent(ctx, tx, staffapi.SubjectAnnouncementPublished, a.CreatedAt, staffapi.AnnouncementPublished{
			AnnouncementID: a.ID, Title: a.Title, Audience: a.Audience, Author: a.Author, At: a.CreatedAt,
		})
	})
	if err != nil {
		return staffapi.Announcement{}, fmt.Errorf("publish announcement: %w", err)
	}
	return a, nil
}

// Page selects a page of a newest-first list.
type Page struct {
	Limit  int
	Cursor string
}

func (pg Page) before() (cursor, error) {
	if pg.Cursor == "" {
		return cursor{at: farFuture}, nil
	}
	return decodeCursor(pg.Cursor)
}

// Announcements lists every announcement, newest first (admin).
func (s *Service) Announcements(ctx context.Context, pg Page) (staffapi.AnnouncementList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.AnnouncementList{}, err
	}
	before, err := pg.before()
	if err != nil {
		return staffapi.AnnouncementList{}, err
	}
	n := s.pageLimit(pg.Limit)
	rows, err := readOne(ctx, s, func(q *staffdb.Queries) ([]staffdb.Announcement, error) {
		return q.ListAnnouncements(ctx, staffdb.ListAnnouncementsParams{TenantID: tenant, BeforeCreated: before.at, BeforeID: before.id, Lim: int32(n + 1)})
	})
	if err != nil {
		return staffapi.AnnouncementList{}, fmt.Errorf("list announcements: %w", err)
	}
	out := staffapi.AnnouncementList{Items: make([]staffapi.Announcement, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor{at: rows[n-1].CreatedAt, id: rows[n-1].ID}.encode()
			break
		}
		out.Items = append(out.Items, toAnnouncement(r))
	}
	return out, nil
}

// Inbox lists the announcements for the calling staff member: those to
// everyone and to their role (the role of their token), newest first, each
// with whether they have read it.
func (s *Service) Inbox(ctx context.Context, pg Page) (staffapi.Inbox, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Inbox{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return staffapi.Inbox{}, err
	}
	if p.Kind != auth.KindStaff {
		return staffapi.Inbox{}, ErrNoEmployee
	}
	before, err := pg.before()
	if err != nil {
		return staffapi.Inbox{}, err
	}
	// Without an employee record nothing can have been read: "" matches no
	// receipt.
	var employeeID string
	if e, err := s.ownEmployee(ctx, tenant, p); err == nil {
		employeeID = e.ID
	} else if !errors.Is(err, ErrNoEmployee) {
		return staffapi.Inbox{}, err
	}
	n := s.pageLimit(pg.Limit)
	rows, err := readOne(ctx, s, func(q *staffdb.Queries) ([]staffdb.ListAnnouncementsForRow, error) {
		return q.ListAnnouncementsFor(ctx, staffdb.ListAnnouncementsForParams{
			EmployeeID: employeeID, TenantID: tenant, Role: string(p.Role), BeforeCreated: before.at, BeforeID: before.id, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.Inbox{}, fmt.Errorf("list announcements for %s: %w", p.Subject, err)
	}
	out := staffapi.Inbox{Items: make([]staffapi.InboxItem, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor{at: rows[n-1].CreatedAt, id: rows[n-1].ID}.encode()
			break
		}
		item := staffapi.InboxItem{Announcement: staffapi.Announcement{ID: r.ID, Title: r.Title, Body: r.Body,
			Audience: r.Audience, Author: r.Author, CreatedAt: fromMicros(r.CreatedAt)}}
		if r.ReadAt.Valid {
			at := fromMicros(r.ReadAt.Int64)
			item.Read, item.ReadAt = true, &at
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// MarkRead records that the calling staff member read an announcement for
// them. Repeats keep the first read time. An announcement not addressed to
// the caller is ErrAnnouncementNotFound, as one that does not exist.
func (s *Service) MarkRead(ctx context.Context, id string) (staffapi.InboxItem, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	e, err := s.ownEmployee(ctx, tenant, p)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	var item staffapi.InboxItem
	err = s.write(ctx, func(_ *sql.Tx, q *staffdb.Queries) (bool, error) {
		r, err := q.GetAnnouncement(ctx, staffdb.GetAnnouncementParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && r.Audience != staffapi.AudienceAll && r.Audience != string(p.Role)) {
			return false, ErrAnnouncementNotFound
		}
		if err != nil {
			return false, fmt.Errorf("load announcement %s: %w", id, err)
		}
		now := micros(storedTime(s.now()))
		readAt, err := q.MarkRead(ctx, staffdb.MarkReadParams{TenantID: tenant, AnnouncementID: id, EmployeeID: e.ID, ReadAt: now})
		if err != nil {
			return false, fmt.Errorf("mark announcement %s read: %w", id, err)
		}
		at := fromMicros(readAt)
		item = staffapi.InboxItem{Announcement: toAnnouncement(r), Read: true, ReadAt: &at}
		return false, nil
	})
	if err != nil {
		return staffapi.InboxItem{}, fmt.Errorf("read announcement %s: %w", id, err)
	}
	return item, nil
}

// Receipts tells who of an announcement's audience (its active employees)
// has read it, and who has not.
func (s *Service) Receipts(ctx context.Context, id string) (staffapi.Receipts, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Receipts{}, err
	}
	var (
		a    staffdb.Announcement
		rows []staffdb.ReceiptsRow
	)
	err = s.readTx(ctx, func(q *staffdb.Queries) error {
		var err error
		a, err = q.GetAnnouncement(ctx, staffdb.GetAnnouncementParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrAnnouncementNotFound
		}
		if err != nil {
			return fmt.Errorf("load announcement %s: %w", id, err)
		}
		if rows, err = q.Receipts(ctx, staffdb.ReceiptsParams{AnnouncementID: id, TenantID: tenant, Audience: a.Audience}); err != nil {
			return fmt.Errorf("load receipts of %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return staffapi.Receipts{}, err
	}
	out := staffapi.Receipts{AnnouncementID: id, Audience: a.Audience, Read: []staffapi.Receipt{}, Unread: []staffapi.Receipt{}}
	for _, r := range rows {
		rc := staffapi.Receipt{EmployeeID: r.ID, Name: r.Name, Role: auth.Role(r.Role)}
		if r.ReadAt.Valid {
			at := fromMicros(r.ReadAt.Int64)
			rc.ReadAt = &at
			out.Read = append(out.Read, rc)
			continue
		}
		out.Unread = append(out.Unread, rc)
	}
	slices.SortStableFunc(out.Read, func(a, b staffapi.Receipt) int { return a.ReadAt.Compare(*b.ReadAt) })
	return out, nil
}
