package staff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// managers are the staff roles that run the store's staff.
var managers = []auth.Role{auth.RoleOwner, auth.RoleManager}

// everyone is every staff role.
var everyone = auth.StaffRoles

// access is the staff service's authorization table: the staff roles that
// may call each operation, by huma OperationID. The platform enforces it
// (web.Roles): beyond it, the admin token (Kind admin: the bootstrap
// credential and services calling each other) may call every operation,
// and a secret API key those a manager may. Customers, publishable API
// keys and anonymous callers may call none. What depends on the data is
// the service's: whom a staff member may check in (themselves; owners,
// managers and secret keys anyone), and that only a caller with an
// employee record has announcements to read.
var access = map[string][]auth.Role{
	"staff-create-employee":       managers,
	"staff-list-employees":        managers,
	"staff-get-employee":          managers,
	"staff-update-employee":       managers,
	"staff-deactivate-employee":   managers,
	"staff-create-shift":          managers,
	"staff-list-shifts":           managers,
	"staff-get-shift":             managers,
	"staff-update-shift":          managers,
	"staff-delete-shift":          managers,
	"staff-attendance-report":     managers,
	"staff-publish-announcement":  managers,
	"staff-list-announcements":    managers,
	"staff-announcement-receipts": managers,
	"staff-check-in":              everyone,
	"staff-check-out":             everyone,
	"staff-presence":              everyone,
	"staff-inbox":                 everyone,
	"staff-read-announcement":     everyone,
}

// register registers op, guarded by its roles in access (none: the admin
// token's only), with h's errors mapped by problem.
func register[I, O any](s *Service, api huma.API, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op = web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problem(err)
		}
		return out, nil
	})
}

// Routes registers the staff operations: the admin API (employees,
// shifts, the attendance report, announcements) under /api/v1/admin/staff/
// and what staff members do themselves (check in and out, read
// announcements) under /api/v1/staff/.
func (s *Service) Routes(api *web.API) {
	api.Tag("staff admin", "The store's employees as owners and managers run them: employee records "+
		"(linked to staff accounts), shifts, the attendance report, and announcements with read receipts.")
	api.Tag("staff", "What staff members do themselves: check in and out, and read the announcements "+
		"meant for them. Needs a staff access token of an account linked to an employee.")
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"staff admin"}
		return op
	}
	// What staff members do themselves: every staff role may (access).
	own := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"staff"}
		return op
	}

	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-create-employee", Method: http.MethodPost,
		Path: "/api/v1/admin/staff/employees", Summary: "Add an employee", Description: "Adds an employee record; account_id links the staff account the employee signs in with " +
			"(one employee per account: 409 account_taken).", DefaultStatus: http.StatusCreated}), ansAccountTaken), s.createEmployee)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-list-employees", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/employees", Summary: "List employees in creation order", Description: "The store's employees in creation order, a page at a time: pass next_cursor back as cursor. " +
			"active narrows the list."}), ansInvalidCursor), s.listEmployees)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-get-employee", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/employees/{id}", Summary: "Get an employee", Description: "One employee record: name, email, role, the linked staff account and whether it is active."}), ansEmployeeNotFound), s.getEmployee)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-update-employee", Method: http.MethodPatch,
		Path: "/api/v1/admin/staff/employees/{id}", Summary: "Update an employee",
		Description: "A partial update: absent fields stay. account_id links the identity staff account " +
			"(an empty one unlinks it); active false deactivates, and checks out an employee who is in."}), ansEmployeeNotFound, ansAccountTaken), s.updateEmployee)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-deactivate-employee", Method: http.MethodPost,
		Path: "/api/v1/admin/staff/employees/{id}/deactivate", Summary: "Deactivate an employee",
		Description: "Idempotent. An employee who is checked in is checked out."}), ansEmployeeNotFound), s.deactivateEmployee)

	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-create-shift", Method: http.MethodPost,
		Path: "/api/v1/admin/staff/shifts", Summary: "Plan a shift", DefaultStatus: http.StatusCreated,
		Description: "Shifts are [starts_at, ends_at); one overlapping another of the employee's is refused " +
			"with 409 shift_overlap."}), ansEmployeeNotFound, ansInactive, ansShiftOverlap), s.createShift)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-list-shifts", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/shifts", Summary: "List the shifts overlapping a period, by start", Description: "Shifts overlapping [from, to), by start, a page at a time: pass next_cursor back as cursor. " +
			"employee_id narrows the list to one employee."}), ansInvalidCursor), s.listShifts)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-get-shift", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/shifts/{id}", Summary: "Get a shift", Description: "One planned shift: its employee, start, end and note."}), ansShiftNotFound), s.getShift)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-update-shift", Method: http.MethodPatch,
		Path: "/api/v1/admin/staff/shifts/{id}", Summary: "Move or re-note a shift", Description: "A partial update: absent fields stay. A shift moved onto another of the employee's is refused " +
			"with 409 shift_overlap."}), ansShiftNotFound, ansShiftOverlap), s.updateShift)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-delete-shift", Method: http.MethodDelete,
		Path: "/api/v1/admin/staff/shifts/{id}", Summary: "Delete a shift", Description: "Deletes a planned shift. Check-ins are separate records and stay.", DefaultStatus: http.StatusNoContent}), ansShiftNotFound), s.deleteShift)

	register(s, api, adm(huma.Operation{OperationID: "staff-attendance-report", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/attendance", Summary: "Attendance report of a period",
		Description: "Per employee: seconds worked in [from, to) (check-in intervals clipped to the period; " +
			"an open check-in counts up to now, or the period's end if earlier: open_until), shifts starting " +
			"in the period planned and attended, and late check-ins (the first check-in overlapping a shift " +
			"came more than the grace period after its start). Accept: text/csv or format=csv answers " +
			"with CSV (RFC 4180, header row).",
		Responses: reportResponses(api)}), s.attendanceReport)

	register(s, api, adm(huma.Operation{OperationID: "staff-publish-announcement", Method: http.MethodPost,
		Path: "/api/v1/admin/staff/announcements", Summary: "Publish an announcement to all staff or a role",
		Description: "Publishes an announcement to every staff member or to one role; each reader marks it read " +
			"(GET …/receipts shows who has). Send an Idempotency-Key to publish once however often the request is retried.",
		DefaultStatus: http.StatusCreated}), s.publishAnnouncement)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-list-announcements", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/announcements", Summary: "List announcements, newest first", Description: "Every announcement of the store, newest first, a page at a time: pass next_cursor back as cursor."}), ansInvalidCursor), s.listAnnouncements)
	register(s, api, web.Answers(adm(huma.Operation{OperationID: "staff-announcement-receipts", Method: http.MethodGet,
		Path: "/api/v1/admin/staff/announcements/{id}/receipts", Summary: "Who has read an announcement, and who not", Description: "For one announcement: the employees of its audience who have read it (and when) and those who have not."}), ansAnnouncementNotFound), s.receipts)

	register(s, api, web.Answers(own(huma.Operation{OperationID: "staff-check-in", Method: http.MethodPost,
		Path: "/api/v1/staff/check-ins", Summary: "Check in", DefaultStatus: http.StatusCreated,
		Description: "Checks in the employee linked to the caller's staff account (owners and managers may " +
			"name another with employee_id). While checked in, another check-in is refused with 409 " +
			"already_checked_in; send an Idempotency-Key to have a retry answered with the first outcome."}), ansNotEmployee, ansEmployeeNotFound, ansInactive, ansAlreadyIn), s.checkIn)
	register(s, api, web.Answers(own(huma.Operation{OperationID: "staff-check-out", Method: http.MethodPost,
		Path: "/api/v1/staff/check-outs", Summary: "Check out",
		Description: "Closes the open check-in; 409 not_checked_in without one."}), ansNotEmployee, ansEmployeeNotFound, ansNotIn), s.checkOut)
	register(s, api, web.Answers(own(huma.Operation{OperationID: "staff-presence", Method: http.MethodGet,
		Path: "/api/v1/staff/check-ins/current", Summary: "Whether the employee is checked in", Description: "Whether the caller's employee (owners and managers may name another with employee_id) is " +
			"checked in, and since when."}), ansNotEmployee, ansEmployeeNotFound), s.presence)
	register(s, api, web.Answers(own(huma.Operation{OperationID: "staff-inbox", Method: http.MethodGet,
		Path: "/api/v1/staff/announcements", Summary: "Announcements for me (all staff and my role), newest first", Description: "The announcements meant for the caller (all staff and the caller's role), newest first, each " +
			"with whether the caller has read it. A page at a time: pass next_cursor back as cursor."}), ansNotEmployee, ansInvalidCursor), s.inbox)
	register(s, api, web.Answers(own(huma.Operation{OperationID: "staff-read-announcement", Method: http.MethodPost,
		Path: "/api/v1/staff/announcements/{id}/read", Summary: "Mark an announcement read",
		Description: "Idempotent: the first read's time stays."}), ansNotEmployee, ansAnnouncementNotFound), s.readAnnouncement)
}

// The answers of staff operations beyond the platform's (see problem).
var (
	ansEmployeeNotFound     = web.Answer{Status: http.StatusNotFound, Code: "employee_not_found", When: "the store has no such employee"}
	ansShiftNotFound        = web.Answer{Status: http.StatusNotFound, Code: "shift_not_found", When: "the store has no such shift"}
	ansAnnouncementNotFound = web.Answer{Status: http.StatusNotFound, Code: "announcement_not_found", When: "the store has no such announcement (for the caller)"}
	ansAccountTaken         = web.Answer{Status: http.StatusConflict, Code: "account_taken", When: "the staff account is linked to another employee"}
	ansInactive             = web.Answer{Status: http.StatusConflict, Code: "employee_inactive", When: "the employee is inactive"}
	ansShiftOverlap         = web.Answer{Status: http.StatusConflict, Code: "shift_overlap", When: "the shift overlaps another shift of the employee"}
	ansAlreadyIn            = web.Answer{Status: http.StatusConflict, Code: "already_checked_in", When: "the employee is checked in already"}
	ansNotIn                = web.Answer{Status: http.StatusConflict, Code: "not_checked_in", When: "the employee is not checked in"}
	ansNotEmployee          = web.Answer{Status: http.StatusForbidden, Code: "not_an_employee", When: "the caller's account is linked to no employee of this store"}
	ansInvalidCursor        = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
)

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

// pageInput is the query of a paged list. Inputs that add to it repeat
// its fields: huma does not read parameters of embedded structs.
type pageInput struct {
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (500) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}

type body[T any] struct {
	Body T
}

func ok[T any](v T) *body[T] { return &body[T]{Body: v} }

func (s *Service) createEmployee(ctx context.Context, in *body[staffapi.EmployeeCreate]) (*body[staffapi.Employee], error) {
	e, err := s.CreateEmployee(ctx, in.Body)
	return ok(e), err
}

func (s *Service) listEmployees(ctx context.Context, in *struct {
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (500) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
	Active string `query:"active" enum:"true,false" doc:"Only active (true) or inactive (false) employees."`
}) (*body[staffapi.EmployeeList], error) {
	eq := EmployeeQuery{Limit: in.Limit, Cursor: in.Cursor}
	if in.Active != "" {
		active := in.Active == "true"
		eq.Active = &active
	}
	l, err := s.Employees(ctx, eq)
	return ok(l), err
}

func (s *Service) getEmployee(ctx context.Context, in *idPath) (*body[staffapi.Employee], error) {
	e, err := s.Employee(ctx, in.ID)
	return ok(e), err
}

func (s *Service) updateEmployee(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body staffapi.EmployeeUpdate
}) (*body[staffapi.Employee], error) {
	e, err := s.UpdateEmployee(ctx, in.ID, in.Body)
	return ok(e), err
}

func (s *Service) deactivateEmployee(ctx context.Context, in *idPath) (*body[staffapi.Employee], error) {
	e, err := s.DeactivateEmployee(ctx, in.ID)
	return ok(e), err
}

func (s *Service) createShift(ctx context.Context, in *body[staffapi.ShiftCreate]) (*body[staffapi.Shift], error) {
	sh, err := s.CreateShift(ctx, in.Body)
	return ok(sh), err
}

func (s *Service) listShifts(ctx context.Context, in *struct {
	From       time.Time `query:"from" required:"true" doc:"Start of the period (RFC 3339), inclusive."`
	To         time.Time `query:"to" required:"true" doc:"End of the period (RFC 3339), exclusive."`
	EmployeeID string    `query:"employee_id" maxLength:"100" doc:"Only this employee."`
	Limit      int       `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (500) is capped."`
	Cursor     string    `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*body[staffapi.ShiftList], error) {
	l, err := s.Shifts(ctx, ShiftQuery{From: in.From, To: in.To, EmployeeID: in.EmployeeID, Limit: in.Limit, Cursor: in.Cursor})
	return ok(l), err
}

func (s *Service) getShift(ctx context.Context, in *idPath) (*body[staffapi.Shift], error) {
	sh, err := s.Shift(ctx, in.ID)
	return ok(sh), err
}

func (s *Service) updateShift(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body staffapi.ShiftUpdate
}) (*body[staffapi.Shift], error) {
	sh, err := s.UpdateShift(ctx, in.ID, in.Body)
	return ok(sh), err
}

func (s *Service) deleteShift(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.DeleteShift(ctx, in.ID)
}

// reportOutput is the attendance report encoded by the handler: JSON or
// CSV, as asked. reportResponses declares both for the OpenAPI document.
type reportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func reportResponses(api huma.API) map[string]*huma.Response {
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[staffapi.AttendanceReport](), true, "")
	return map[string]*huma.Response{"200": {
		Description: "The report.",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: schema},
			"text/csv":         {Schema: &huma.Schema{Type: "string"}},
		},
	}}
}

// wantsCSV reports whether the request asked for CSV: format=csv, or an
// Accept header that lists text/csv before (or without) JSON.
func wantsCSV(format, accept string) bool {
	if format != "" {
		return format == "csv"
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "application/*", "*/*":
			return false
		}
	}
	return false
}

func (s *Service) attendanceReport(ctx context.Context, in *struct {
	From       time.Time `query:"from" required:"true" doc:"Start of the period (RFC 3339), inclusive."`
	To         time.Time `query:"to" required:"true" doc:"End of the period (RFC 3339), exclusive."`
	EmployeeID string    `query:"employee_id" maxLength:"100" doc:"Only this employee."`
	Format     string    `query:"format" enum:"json,csv" doc:"Overrides the Accept header."`
	Accept     string    `header:"Accept"`
}) (*reportOutput, error) {
	r, err := s.Attendance(ctx, in.From, in.To, in.EmployeeID)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if wantsCSV(in.Format, in.Accept) {
		if err := writeCSV(&buf, r); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("attendance-%s-%s.csv", r.From.Format("20060102T150405Z"), r.To.Format("20060102T150405Z"))
		return &reportOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="` + name + `"`, Body: buf.Bytes()}, nil
	}
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode attendance report: %w", err)
	}
	return &reportOutput{ContentType: "application/json", Body: buf.Bytes()}, nil
}

func (s *Service) publishAnnouncement(ctx context.Context, in *body[staffapi.AnnouncementCreate]) (*body[staffapi.Announcement], error) {
	a, err := s.PublishAnnouncement(ctx, in.Body)
	return ok(a), err
}

func (s *Service) listAnnouncements(ctx context.Context, in *pageInput) (*body[staffapi.AnnouncementList], error) {
	l, err := s.Announcements(ctx, Page{Limit: in.Limit, Cursor: in.Cursor})
	return ok(l), err
}

func (s *Service) receipts(ctx context.Context, in *idPath) (*body[staffapi.Receipts], error) {
	r, err := s.Receipts(ctx, in.ID)
	return ok(r), err
}

func (s *Service) checkIn(ctx context.Context, in *body[staffapi.CheckIn]) (*body[staffapi.Attendance], error) {
	a, err := s.CheckIn(ctx, in.Body)
	return ok(a), err
}

func (s *Service) checkOut(ctx context.Context, in *body[staffapi.CheckIn]) (*body[staffapi.Attendance], error) {
	a, err := s.CheckOut(ctx, in.Body)
	return ok(a), err
}

func (s *Service) presence(ctx context.Context, in *struct {
	EmployeeID string `query:"employee_id" maxLength:"100" doc:"Owners and managers: whom to ask about."`
}) (*body[staffapi.Presence], error) {
	p, err := s.Presence(ctx, in.EmployeeID)
	return ok(p), err
}

func (s *Service) inbox(ctx context.Context, in *pageInput) (*body[staffapi.Inbox], error) {
	l, err := s.Inbox(ctx, Page{Limit: in.Limit, Cursor: in.Cursor})
	return ok(l), err
}

func (s *Service) readAnnouncement(ctx context.Context, in *idPath) (*body[staffapi.InboxItem], error) {
	it, err := s.MarkRead(ctx, in.ID)
	return ok(it), err
}

// problems is the staff service's error table: with problem, the one place
// its errors become HTTP answers. Anything else is returned as it is: the
// web platform answers it with a bare 500 (no internal text) and logs the
// cause once.
var problems = kit.Problems{
	{Err: ErrInvalid, Status: http.StatusUnprocessableEntity, Code: "validation_failed", Detail: "the request is invalid"},
	{Err: ErrEmployeeNotFound, Status: http.StatusNotFound, Code: "employee_not_found", Detail: "no such employee"},
	{Err: ErrShiftNotFound, Status: http.StatusNotFound, Code: "shift_not_found", Detail: "no such shift"},
	{Err: ErrAnnouncementNotFound, Status: http.StatusNotFound, Code: "announcement_not_found", Detail: "no such announcement"},
	{Err: ErrAccountTaken, Status: http.StatusConflict, Code: "account_taken", Detail: "the account is linked to another employee"},
	{Err: ErrAccountsUnavailable, Status: http.StatusServiceUnavailable, Code: "accounts_unavailable", Detail: "staff accounts cannot be checked now; retry shortly"},
	{Err: ErrInactive, Status: http.StatusConflict, Code: "employee_inactive", Detail: "the employee is inactive"},
	{Err: ErrAlreadyCheckedIn, Status: http.StatusConflict, Code: "already_checked_in", Detail: "the employee is already checked in; check out first"},
	{Err: ErrNotCheckedIn, Status: http.StatusConflict, Code: "not_checked_in", Detail: "the employee is not checked in"},
	{Err: ErrNoEmployee, Status: http.StatusForbidden, Code: "not_an_employee", Detail: "your account is not linked to an employee of this store"},
	{Err: ErrUnauthenticated, Status: http.StatusUnauthorized, Code: "unauthorized", Detail: "sign in as a staff member"},
	{Err: ErrForbidden, Status: http.StatusForbidden, Code: "forbidden", Detail: "your role may not do this"},
}

// problem is problems.Map but for a *ShiftOverlapError, whose answer names
// the shift in the way.
func problem(err error) error {
	var oe *ShiftOverlapError
	if errors.As(err, &oe) {
		return web.Error(http.StatusConflict, "shift_overlap", "the shift overlaps another shift of the employee",
			web.Field("body.starts_at", "overlaps shift "+oe.ShiftID, oe.ShiftID))
	}
	return problems.Map(err)
}
