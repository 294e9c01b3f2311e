package staff

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

// interval is one check-in as the report sees it: [in, out). An open one
// (the employee is still in) has out = the report's time.
type interval struct {
	in, out time.Time
	open    bool
}

// span is one planned shift: [start, end).
type span struct {
	start, end time.Time
}

// worked is what summarize finds for one employee.
type worked struct {
	seconds                 int64
	checkIns                int
	checkedIn               bool
	planned, attended, late int
	lateSeconds             int64
}

// summarize is the attendance math of one employee over the period
// [from, to). ivs are the employee's check-ins that may overlap the period
// or the shifts (open ones end at the report's time); shifts are the
// employee's shifts starting in the period.
//
//   - Worked time is the sum of the intervals clipped to the period. The
//     intervals of one employee never overlap (one open check-in at a time),
//     so they are summed without merging.
//   - A shift is attended when an interval overlaps it; it was a late
//     check-in when the first such interval began more than grace after
//     the shift's start (late seconds count from the start).
func summarize(from, to time.Time, ivs []interval, shifts []span, grace time.Duration) worked {
	var w worked
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(a, b interval) int { return a.in.Compare(b.in) })
	for _, iv := range ivs {
		if iv.open {
			w.checkedIn = true
		}
		in, out := later(iv.in, from), earlier(iv.out, to)
		if out.After(in) {
			w.seconds += int64(out.Sub(in) / time.Second)
		}
		// An interval touching the period counts as a check-in of it,
		// even one of zero length (in and out at once).
		if iv.in.Before(to) && (iv.out.After(from) || !iv.in.Before(from)) {
			w.checkIns++
		}
	}
	for _, sh := range shifts {
		w.planned++
		for _, iv := range ivs {
			if iv.in.Before(sh.end) && iv.out.After(sh.start) {
				w.attended++
				if late := iv.in.Sub(sh.start); late > grace {
					w.late++
					w.lateSeconds += int64(late / time.Second)
				}
				break // ivs are sorted: the first that overlaps decides
			}
		}
	}
	return w
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// hours formats seconds as hours with two decimals, rounded half up:
// integer arithmetic, so 27000 s is exactly "7.50".
func hours(seconds int64) string {
	sign := ""
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	cents := (seconds*100 + 1800) / 3600
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// csvHeader is the header row of the CSV report.
var csvHeader = []string{
	"employee_id", "name", "email", "role", "active", "seconds_worked", "hours_worked", "check_ins",
	"checked_in", "shifts_planned", "shifts_attended", "late_check_ins", "late_seconds",
}

// writeCSV writes the report as CSV (RFC 4180: CRLF line ends, fields
// quoted as needed by encoding/csv) with a header row.
func writeCSV(w io.Writer, r staffapi.AttendanceReport) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for _, l := range r.Items {
		rec := []string{
			l.EmployeeID, l.Name, l.Email, string(l.Role), strconv.FormatBool(l.Active),
			strconv.FormatInt(l.SecondsWorked, 10), l.HoursWorked, strconv.Itoa(l.CheckIns),
			strconv.FormatBool(l.CheckedIn), strconv.Itoa(l.ShiftsPlanned), strconv.Itoa(l.ShiftsAttended),
			strconv.Itoa(l.LateCheckIns), strconv.FormatInt(l.LateSeconds, 10),
		}
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv row of %s: %w", l.EmployeeID, err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses CSV (formula) injection: a spreadsheet runs a cell that
// starts with = + - @ (or a tab or carriage return, which some strip before
// looking) as a formula, so such a cell gets a leading apostrophe and is
// shown as text (the platform's rule, text.CSVCell). Every cell goes through it;
// none of the numeric ones can start with those characters.
func csvSafe(s string) string { return text.CSVCell(s) }

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
			return staffapi.Employee{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "employee_id", Message: "is required unless a staff member checks in themselves"})
		}
		return kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) (staffapi.Employee, error) { return employee(ctx, q, tenant, employeeID) })
	}
	return staffapi.Employee{}, ErrForbidden
}

func checkPlace(in staffapi.CheckIn) error {
	var errs []kit.FieldError
	if msg := checkText(in.Location, 0, maxLocation, false); msg != "" {
		errs = append(errs, kit.FieldError{Field: "location", Message: msg, Value: in.Location})
	}
	if msg := checkText(in.Note, 0, maxNote, true); msg != "" {
		errs = append(errs, kit.FieldError{Field: "note", Message: msg, Value: in.Note})
	}
	return kit.Invalid(ErrInvalid, errs...)
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
	a := staffapi.Attendance{ID: kit.NewID(), EmployeeID: e.ID, CheckedInAt: now,
		CheckInLocation: strings.TrimSpace(in.Location), CheckInNote: strings.TrimSpace(in.Note)}
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *staffdb.Queries) error {
		_, err := q.OpenAttendance(ctx, staffdb.OpenAttendanceParams{AttendanceID: a.ID, CheckedInAt: sqldb.Micros(now), TenantID: tenant, EmployeeID: e.ID})
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotOpened(ctx, q, tenant, e.ID)
		}
		if err != nil {
			return fmt.Errorf("open attendance: %w", err)
		}
		err = q.InsertAttendance(ctx, staffdb.InsertAttendanceParams{
			TenantID: tenant, ID: a.ID, EmployeeID: e.ID, CheckedInAt: sqldb.Micros(now),
			CheckInLocation: a.CheckInLocation, CheckInNote: a.CheckInNote,
		})
		if err != nil {
			return fmt.Errorf("record check-in: %w", err)
		}
		return addEvent(ctx, tx, staffapi.SubjectCheckedIn, now, staffapi.CheckedIn{
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
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *staffdb.Queries) error {
		var err error
		a, err = closeAttendance(ctx, tx, q, checkOut{tenant: tenant, employee: e, at: s.now(), location: strings.TrimSpace(in.Location), note: strings.TrimSpace(in.Note)})
		return err
	})
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("check out %s: %w", e.ID, err)
	}
	return a, nil
}

// checkOut is one check-out: of whom, in which store, when, and where.
type checkOut struct {
	tenant   string
	employee staffapi.Employee
	at       time.Time
	location string
	note     string
}

// closeAttendance closes the employee's open check-in at co.at (never
// before it began) in tx and announces it.
func closeAttendance(ctx context.Context, tx *sql.Tx, q *staffdb.Queries, co checkOut) (staffapi.Attendance, error) {
	tenant, e := co.tenant, co.employee
	open, err := q.CloseOpenAttendance(ctx, staffdb.CloseOpenAttendanceParams{TenantID: tenant, EmployeeID: e.ID})
	if errors.Is(err, sql.ErrNoRows) {
		return staffapi.Attendance{}, ErrNotCheckedIn
	}
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("close open attendance: %w", err)
	}
	out := max(sqldb.Micros(storedTime(co.at)), open.CheckedInAt)
	r, err := q.CheckOutAttendance(ctx, staffdb.CheckOutAttendanceParams{
		CheckedOutAt: out, CheckOutLocation: co.location, CheckOutNote: co.note, TenantID: tenant, ID: open.AttendanceID,
	})
	if err != nil {
		return staffapi.Attendance{}, fmt.Errorf("record check-out of %s: %w", open.AttendanceID, err)
	}
	a := toAttendance(r)
	return a, addEvent(ctx, tx, staffapi.SubjectCheckedOut, *a.CheckedOutAt, staffapi.CheckedOut{
		AttendanceID: a.ID, EmployeeID: e.ID, AccountID: e.AccountID, CheckedInAt: a.CheckedInAt,
		At: *a.CheckedOutAt, Location: co.location, DurationSeconds: a.DurationSeconds,
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
	r, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) (staffdb.Attendance, error) {
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
	err = s.st.Read(ctx, func(q *staffdb.Queries) error {
		var err error
		if emps, err = q.ReportEmployees(ctx, staffdb.ReportEmployeesParams{TenantID: tenant, EmployeeID: employeeID}); err != nil {
			return fmt.Errorf("load employees: %w", err)
		}
		if shifts, err = q.ShiftsStartingIn(ctx, staffdb.ShiftsStartingInParams{TenantID: tenant, PeriodFrom: sqldb.Micros(from), PeriodTo: sqldb.Micros(to), EmployeeID: employeeID}); err != nil {
			return fmt.Errorf("load shifts: %w", err)
		}
		// A shift starting in the period may end after it, and a check-in
		// overlapping it then counts for attendance: widen the window.
		windowTo := sqldb.Micros(to)
		for _, sh := range shifts {
			windowTo = max(windowTo, sh.EndsAt)
		}
		if atts, err = q.AttendanceInWindow(ctx, staffdb.AttendanceInWindowParams{TenantID: tenant, WindowFrom: sqldb.Micros(from), WindowTo: windowTo, EmployeeID: employeeID}); err != nil {
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
		iv := interval{in: sqldb.FromMicros(a.CheckedInAt)}
		if a.CheckedOutAt.Valid {
			iv.out = sqldb.FromMicros(a.CheckedOutAt.Int64)
		} else {
			iv.open, iv.out = true, later(now, iv.in)
		}
		ivs[a.EmployeeID] = append(ivs[a.EmployeeID], iv)
	}
	spans := map[string][]span{}
	for _, sh := range shifts {
		spans[sh.EmployeeID] = append(spans[sh.EmployeeID], span{start: sqldb.FromMicros(sh.StartsAt), end: sqldb.FromMicros(sh.EndsAt)})
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
