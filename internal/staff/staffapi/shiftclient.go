package staffapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// shiftsPath is the collection of shifts in the admin API.
const shiftsPath = "/api/v1/admin/staff/shifts"

// ShiftParams selects the shifts of GET /api/v1/admin/staff/shifts: those
// overlapping [From, To) (both required), of one employee when EmployeeID
// is set.
type ShiftParams struct {
	From       time.Time
	To         time.Time
	EmployeeID string
	Page
}

// Shifts returns a page of the shifts overlapping the period, by start
// (GET /api/v1/admin/staff/shifts).
func (c *Client) Shifts(ctx context.Context, p ShiftParams) (ShiftList, error) {
	q := url.Values{"from": {p.From.UTC().Format(time.RFC3339Nano)}, "to": {p.To.UTC().Format(time.RFC3339Nano)}}
	if p.EmployeeID != "" {
		q.Set("employee_id", p.EmployeeID)
	}
	var out ShiftList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: p.query(shiftsPath, q), Out: &out})
	return out, mapError(err)
}

// Shift returns a shift by ID (GET /api/v1/admin/staff/shifts/{id}), or
// ErrNotFound.
func (c *Client) Shift(ctx context.Context, id string) (Shift, error) {
	var out Shift
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: shiftPath(id), Out: &out})
	return out, mapError(err)
}

// CreateShift plans a shift (POST /api/v1/admin/staff/shifts); one
// overlapping another of the employee's is ErrShiftOverlap. A non-empty
// idempotencyKey makes a retried request plan it once.
func (c *Client) CreateShift(ctx context.Context, in ShiftCreate, idempotencyKey string) (Shift, error) {
	var out Shift
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: shiftsPath, Body: in, Out: &out, IdempotencyKey: idempotencyKey})
	return out, mapError(err)
}

// UpdateShift moves or re-notes a shift (PATCH /api/v1/admin/staff/shifts/{id});
// nil fields stay.
func (c *Client) UpdateShift(ctx context.Context, id string, in ShiftUpdate) (Shift, error) {
	var out Shift
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: shiftPath(id), Body: in, Out: &out, Idempotent: true})
	return out, mapError(err)
}

// DeleteShift deletes a planned shift (DELETE /api/v1/admin/staff/shifts/{id});
// its check-ins stay.
func (c *Client) DeleteShift(ctx context.Context, id string) error {
	return mapError(c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: shiftPath(id)}))
}

func shiftPath(id string) string {
	return shiftsPath + "/" + url.PathEscape(id)
}
