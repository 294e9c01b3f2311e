// Package staffapi is the staff service's contract: the bodies of its REST
// operations, its event payloads and a typed client. Fields are only ever
// added. Times are UTC; durations are whole seconds.
package staffapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
)

// Source is the service name events carry.
const Source = "staff"

// Event subjects (= event types) the staff service publishes.
const (
	SubjectCheckedIn             = "staff.checked_in.v1"
	SubjectCheckedOut            = "staff.checked_out.v1"
	SubjectAnnouncementPublished = "staff.announcement_published.v1"
)

// AudienceAll addresses an announcement to every staff member; any staff
// role (owner, manager, staff, support) addresses those with that role.
const AudienceAll = "all"

// Employee is a person who works for the store, linked (once they have one)
// to the identity service's staff account that checks in for them.
type Employee struct {
	ID string `json:"id"`
	// AccountID is the identity staff account; empty until linked.
	AccountID string `json:"account_id,omitempty"`
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	// Role is informational (the account's token carries the role that
	// counts for access); it selects the announcements' audience.
	Role      auth.Role `json:"role" enum:"owner,manager,staff,support"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EmployeeCreate is the body of POST /api/v1/admin/staff/employees.
type EmployeeCreate struct {
	AccountID string    `json:"account_id,omitempty" maxLength:"100" doc:"The ID (a UUID) of the employee's staff account in this store, if the employee has one yet; checked with the identity service (422 when the store has no such account, 503 accounts_unavailable when it cannot be checked)."`
	Name      string    `json:"name" minLength:"1" maxLength:"100"`
	Email     string    `json:"email,omitempty" maxLength:"254"`
	Role      auth.Role `json:"role" enum:"owner,manager,staff,support"`
}

// EmployeeUpdate is the body of PATCH /api/v1/admin/staff/employees/{id}:
// absent fields stay. An empty account_id unlinks the account.
type EmployeeUpdate struct {
	AccountID *string    `json:"account_id,omitempty" maxLength:"100" doc:"A staff account ID of this store, checked as on create; empty unlinks."`
	Name      *string    `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Email     *string    `json:"email,omitempty" maxLength:"254"`
	Role      *auth.Role `json:"role,omitempty" enum:"owner,manager,staff,support"`
	Active    *bool      `json:"active,omitempty" doc:"false deactivates (and checks out) the employee, true reactivates."`
}

// EmployeeList is a page of employees in creation order.
type EmployeeList struct {
	Items []Employee `json:"items"`
	// NextCursor fetches the next page; absent on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Shift is a planned shift of one employee, [starts_at, ends_at).
type Shift struct {
	ID              string    `json:"id"`
	EmployeeID      string    `json:"employee_id"`
	StartsAt        time.Time `json:"starts_at"`
	EndsAt          time.Time `json:"ends_at"`
	DurationSeconds int64     `json:"duration_seconds"`
	Note            string    `json:"note,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// ShiftCreate is the body of POST /api/v1/admin/staff/shifts.
type ShiftCreate struct {
	EmployeeID string    `json:"employee_id" minLength:"1" maxLength:"100"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Note       string    `json:"note,omitempty" maxLength:"500"`
}

// ShiftUpdate is the body of PATCH /api/v1/admin/staff/shifts/{id}: absent
// fields stay. A shift stays with its employee.
type ShiftUpdate struct {
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Note     *string    `json:"note,omitempty" maxLength:"500"`
}

// ShiftList is a page of shifts by start time.
type ShiftList struct {
	Items      []Shift `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// CheckIn is the body of POST /api/v1/staff/check-ins and
// POST /api/v1/staff/check-outs.
type CheckIn struct {
	// EmployeeID is whom to check in or out. Staff leave it out (it is the
	// employee linked to their account); owners and managers may name
	// anyone, and service calls (the admin token) must.
	EmployeeID string `json:"employee_id,omitempty" maxLength:"100"`
	Location   string `json:"location,omitempty" maxLength:"100"`
	Note       string `json:"note,omitempty" maxLength:"500"`
}

// Attendance is one check-in, and its check-out once there is one.
type Attendance struct {
	ID               string     `json:"id"`
	EmployeeID       string     `json:"employee_id"`
	CheckedInAt      time.Time  `json:"checked_in_at"`
	CheckedOutAt     *time.Time `json:"checked_out_at,omitempty"`
	CheckInLocation  string     `json:"check_in_location,omitempty"`
	CheckInNote      string     `json:"check_in_note,omitempty"`
	CheckOutLocation string     `json:"check_out_location,omitempty"`
	CheckOutNote     string     `json:"check_out_note,omitempty"`
	// DurationSeconds is checked_out_at - checked_in_at; 0 while open.
	DurationSeconds int64 `json:"duration_seconds"`
}

// AttendanceReport is GET /api/v1/admin/staff/attendance: per employee, what
// was worked and planned in [from, to).
type AttendanceReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// OpenUntil is where open check-ins (employees still in) stop counting:
	// the time of the report, or the period's end if that came first.
	OpenUntil time.Time        `json:"open_until"`
	Items     []AttendanceLine `json:"items"`
}

// AttendanceLine is one employee's line of an AttendanceReport.
type AttendanceLine struct {
	EmployeeID string    `json:"employee_id"`
	Name       string    `json:"name"`
	Email      string    `json:"email,omitempty"`
	Role       auth.Role `json:"role"`
	Active     bool      `json:"active"`
	// SecondsWorked sums the check-in intervals clipped to the period; an
	// open one counts up to the report's open_until.
	SecondsWorked int64 `json:"seconds_worked"`
	// HoursWorked is SecondsWorked in hours with two decimals, e.g. "7.50".
	HoursWorked string `json:"hours_worked"`
	// CheckIns counts the intervals that overlap the period.
	CheckIns int `json:"check_ins"`
	// CheckedIn tells whether the employee is in now.
	CheckedIn bool `json:"checked_in"`
	// ShiftsPlanned counts shifts starting in the period; ShiftsAttended
	// those an interval overlaps.
	ShiftsPlanned  int `json:"shifts_planned"`
	ShiftsAttended int `json:"shifts_attended"`
	// LateCheckIns counts attended shifts whose first overlapping check-in
	// came after the shift's start plus the grace period; LateSeconds sums
	// by how much (from the shift's start).
	LateCheckIns int   `json:"late_check_ins"`
	LateSeconds  int64 `json:"late_seconds"`
}

// Announcement is an internal announcement to all staff or to one role.
type Announcement struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	Audience string `json:"audience" enum:"all,owner,manager,staff,support"`
	// Author is the publishing account's ID ("admin" for the admin token).
	Author    string    `json:"author,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AnnouncementCreate is the body of POST /api/v1/admin/staff/announcements.
type AnnouncementCreate struct {
	Title    string `json:"title" minLength:"1" maxLength:"200"`
	Body     string `json:"body" minLength:"1" maxLength:"10000"`
	Audience string `json:"audience" enum:"all,owner,manager,staff,support"`
}

// AnnouncementList is a page of announcements, newest first.
type AnnouncementList struct {
	Items      []Announcement `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// InboxItem is an announcement as its reader sees it.
type InboxItem struct {
	Announcement
	Read   bool       `json:"read"`
	ReadAt *time.Time `json:"read_at,omitempty"`
}

// Inbox is GET /api/v1/staff/announcements: the caller's announcements
// (to all and to their role), newest first.
type Inbox struct {
	Items      []InboxItem `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// Receipt is one employee's entry in an announcement's receipts.
type Receipt struct {
	EmployeeID string     `json:"employee_id"`
	Name       string     `json:"name"`
	Role       auth.Role  `json:"role"`
	ReadAt     *time.Time `json:"read_at,omitempty"`
}

// Receipts is who of an announcement's audience has read it and who not.
type Receipts struct {
	AnnouncementID string    `json:"announcement_id"`
	Audience       string    `json:"audience"`
	Read           []Receipt `json:"read"`
	Unread         []Receipt `json:"unread"`
}

// CheckedIn is the payload of staff.checked_in.v1.
type CheckedIn struct {
	AttendanceID string    `json:"attendance_id"`
	EmployeeID   string    `json:"employee_id"`
	AccountID    string    `json:"account_id,omitempty"`
	At           time.Time `json:"at"`
	Location     string    `json:"location,omitempty"`
}

// CheckedOut is the payload of staff.checked_out.v1.
type CheckedOut struct {
	AttendanceID    string    `json:"attendance_id"`
	EmployeeID      string    `json:"employee_id"`
	AccountID       string    `json:"account_id,omitempty"`
	CheckedInAt     time.Time `json:"checked_in_at"`
	At              time.Time `json:"at"`
	Location        string    `json:"location,omitempty"`
	DurationSeconds int64     `json:"duration_seconds"`
}

// AnnouncementPublished is the payload of staff.announcement_published.v1.
type AnnouncementPublished struct {
	AnnouncementID string    `json:"announcement_id"`
	Title          string    `json:"title"`
	Audience       string    `json:"audience"`
	Author         string    `json:"author,omitempty"`
	At             time.Time `json:"at"`
}

// Presence is GET /api/v1/staff/check-ins/current: whether the employee is
// checked in, and since when.
type Presence struct {
	EmployeeID string      `json:"employee_id"`
	CheckedIn  bool        `json:"checked_in"`
	Attendance *Attendance `json:"attendance,omitempty"`
}
