package staffapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
)

// Client calls the staff service's admin API (services call it with the
// admin token the platform's client adds). It is safe for concurrent use.
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
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
