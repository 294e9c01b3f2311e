package staffapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Errors the client returns for the service's stable problem codes; each
// wraps the *apiclient.Error with the details.
var (
	ErrNotFound         = errors.New("staffapi: not found")
	ErrAlreadyCheckedIn = errors.New("staffapi: already checked in")
	ErrNotCheckedIn     = errors.New("staffapi: not checked in")
	ErrShiftOverlap     = errors.New("staffapi: shift overlaps another of the employee")
	ErrInactive         = errors.New("staffapi: employee is inactive")
	ErrAccountTaken     = errors.New("staffapi: account linked to another employee")
	// ErrNotEmployee: the caller's staff account is linked to no employee
	// of the store, so it has no check-ins or announcements of its own.
	ErrNotEmployee = errors.New("staffapi: the account is no employee of the store")
)

// Client calls the staff service's API: services call it with the admin
// token the platform's client adds, the admin UI with the signed-in staff
// member's token. It is safe for concurrent use.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the staff API at baseURL (scheme and host).
// A nil hc means apiclient's default.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New(Source, strings.TrimSuffix(baseURL, "/"), hc)}
}

// CreateEmployee adds an employee.
func (c *Client) CreateEmployee(ctx context.Context, in EmployeeCreate) (Employee, error) {
	var out Employee
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/staff/employees", Body: in, Out: &out})
	return out, mapError(err)
}

// EmployeeParams filters and pages GET /api/v1/admin/staff/employees;
// zero values are unset.
type EmployeeParams struct {
	// Active, when set, lists only active (true) or inactive employees.
	Active *bool
	Page
}

// Page is where a paged list starts and how long a page is.
type Page struct {
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size (the service's default when 0).
	Limit int
}

// query returns path with q and the page, when set, as its query.
func (p Page) query(path string, q url.Values) string {
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Employees returns a page of the store's employees in creation order
// (GET /api/v1/admin/staff/employees).
func (c *Client) Employees(ctx context.Context, p EmployeeParams) (EmployeeList, error) {
	q := url.Values{}
	if p.Active != nil {
		q.Set("active", strconv.FormatBool(*p.Active))
	}
	var out EmployeeList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: p.query("/api/v1/admin/staff/employees", q), Out: &out})
	return out, mapError(err)
}

// Employee returns an employee by ID.
func (c *Client) Employee(ctx context.Context, id string) (Employee, error) {
	var out Employee
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/staff/employees/" + url.PathEscape(id), Out: &out})
	return out, mapError(err)
}

// UpdateEmployee changes an employee (link an account, rename, …).
func (c *Client) UpdateEmployee(ctx context.Context, id string, in EmployeeUpdate) (Employee, error) {
	var out Employee
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: "/api/v1/admin/staff/employees/" + url.PathEscape(id), Body: in, Out: &out, Idempotent: true})
	return out, mapError(err)
}

// DeactivateEmployee deactivates an employee (checking them out if in).
// It is idempotent.
func (c *Client) DeactivateEmployee(ctx context.Context, id string) (Employee, error) {
	var out Employee
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/staff/employees/" + url.PathEscape(id) + "/deactivate", Out: &out, Idempotent: true})
	return out, mapError(err)
}

// CheckIn checks in.EmployeeID in (required with the admin token). A
// non-empty idempotencyKey makes a retry return the first outcome; without
// one a repeat fails with ErrAlreadyCheckedIn.
func (c *Client) CheckIn(ctx context.Context, in CheckIn, idempotencyKey string) (Attendance, error) {
	var out Attendance
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/staff/check-ins", Body: in, Out: &out, IdempotencyKey: idempotencyKey})
	return out, mapError(err)
}

// CheckOut checks in.EmployeeID out; ErrNotCheckedIn if they were not in.
func (c *Client) CheckOut(ctx context.Context, in CheckIn, idempotencyKey string) (Attendance, error) {
	var out Attendance
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/staff/check-outs", Body: in, Out: &out, IdempotencyKey: idempotencyKey})
	return out, mapError(err)
}

// Presence tells whether an employee is checked in, and since when
// (GET /api/v1/staff/check-ins/current): the caller's own employee for
// employeeID "" (ErrNotEmployee if the caller's account has none); owners
// and managers may name another.
func (c *Client) Presence(ctx context.Context, employeeID string) (Presence, error) {
	q := url.Values{}
	if employeeID != "" {
		q.Set("employee_id", employeeID)
	}
	var out Presence
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: Page{}.query("/api/v1/staff/check-ins/current", q), Out: &out})
	return out, mapError(err)
}

// Attendance returns the attendance report of [from, to), for one employee
// or (employeeID "") all.
func (c *Client) Attendance(ctx context.Context, from, to time.Time, employeeID string) (AttendanceReport, error) {
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	if employeeID != "" {
		q.Set("employee_id", employeeID)
	}
	var out AttendanceReport
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/staff/attendance?" + q.Encode(), Out: &out})
	return out, mapError(err)
}

// PublishAnnouncement publishes an announcement. A non-empty
// idempotencyKey makes a retry return the first one instead of a second.
func (c *Client) PublishAnnouncement(ctx context.Context, in AnnouncementCreate, idempotencyKey string) (Announcement, error) {
	var out Announcement
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/staff/announcements", Body: in, Out: &out, IdempotencyKey: idempotencyKey})
	return out, mapError(err)
}

// mapError wraps the service's stable codes with this package's errors.
func mapError(err error) error {
	var ae *apiclient.Error
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	var sentinel error
	switch ae.Code {
	case "employee_not_found", "shift_not_found", "announcement_not_found", "attendance_not_found":
		sentinel = ErrNotFound
	case "already_checked_in":
		sentinel = ErrAlreadyCheckedIn
	case "not_checked_in":
		sentinel = ErrNotCheckedIn
	case "shift_overlap":
		sentinel = ErrShiftOverlap
	case "employee_inactive":
		sentinel = ErrInactive
	case "account_taken":
		sentinel = ErrAccountTaken
	case "not_an_employee":
		sentinel = ErrNotEmployee
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
