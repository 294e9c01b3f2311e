package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// The roles of the staff pages, from the access tables of the identity and
// staff services: owners and managers run the staff (accounts, employees,
// shifts, the attendance report, announcements); only owners change roles;
// every member checks in and out and reads the announcements meant for them.
var (
	managerRoles = []string{string(auth.RoleOwner), string(auth.RoleManager)}
	ownerRoles   = []string{string(auth.RoleOwner)}
)

// roleOptions are the staff roles as a select offers them.
var roleOptions = []page.Option{
	{Value: string(auth.RoleOwner), Label: "Owner"},
	{Value: string(auth.RoleManager), Label: "Manager"},
	{Value: string(auth.RoleStaff), Label: "Staff"},
	{Value: string(auth.RoleSupport), Label: "Support"},
}

// validRole reports whether r is a staff role.
func validRole(r string) bool { return auth.ValidStaffRole(auth.Role(r)) }

// hasRole reports whether p's role is one of roles.
func hasRole(p *page.Principal, roles []string) bool {
	return p != nil && slices.Contains(roles, p.Role)
}

// Session slots remembering the last form of a kind that was handled, so
// that the same form sent again (a reload of the answer, a second click)
// does not make a second invitation or API key: those operations take no
// Idempotency-Key, since the API would keep the secret to replay it.
const (
	inviteFormSlot = "staff_invite_form"
	apiKeyFormSlot = "api_key_form"
)

func (s *Service) staffRoutes(route routeFunc) {
	route("GET /admin/staff", s.staffPage)
	route("POST /admin/staff/invitations", s.invite)
	route("POST /admin/staff/accounts/{id}/role", s.changeRole)
	route("POST /admin/staff/accounts/{id}/deactivate", s.deactivateAccount)
	route("POST /admin/staff/accounts/{id}/employee", s.employAccount)
	route("POST /admin/staff/employees", s.addEmployee)
	route("POST /admin/staff/employees/{id}/deactivate", s.setEmployeeActive(false))
	route("POST /admin/staff/employees/{id}/reactivate", s.setEmployeeActive(true))
	route("POST /admin/staff/check-in", s.checkInOut(true))
	route("POST /admin/staff/check-out", s.checkInOut(false))
	s.invitationRoutes(route)
	s.shiftRoutes(route)
	s.attendanceRoutes(route)
	s.announcementRoutes(route)
}

// staffData is the staff page: the member's own check-in, and for owners
// and managers the staff accounts, the employees and the forms that run
// them.
type staffData struct {
	Manager, Owner bool
	// Presence is the member's own check-in state; NoEmployee says their
	// account is linked to no employee record, so they cannot check in.
	Presence   staffapi.Presence
	NoEmployee bool
	// Unread counts the member's unread announcements (of the first page).
	Unread int

	Accounts   []accountRow
	Employees  []staffapi.Employee
	NextCursor string
	// Unlinked are the active accounts with no employee record, the
	// choices of the new employee form's account select.
	Unlinked []page.Option

	// Invitation is the invitation just made, shown once with its link.
	Invitation *identityapi.Invitation
	InviteURL  string

	InviteForm, EmployeeForm *page.Form
	InviteRoles              []page.Option
	Roles                    []page.Option
}

// accountRow is a staff account with its employee record, if any.
type accountRow struct {
	identityapi.Staff
	EmployeeID string
	Self       bool
}

func (s *Service) staffPage(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := &staffData{}
	if err := s.loadStaff(ctx, r, p, d); err != nil {
		if _, refused := apiclient.Refused(err); refused && r.URL.Query().Has("cursor") {
			s.kit.NotFound(w, r) // a page of employees the list never made
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.renderStaff(w, r, http.StatusOK, d, nil)
}

// loadStaff fills d with what p's role may see; forms d already has stay.
func (s *Service) loadStaff(ctx context.Context, r *http.Request, p *page.Principal, d *staffData) error {
	d.Manager, d.Owner = hasRole(p, managerRoles), hasRole(p, ownerRoles)
	d.Roles = roleOptions
	d.InviteRoles = roleOptions
	if !d.Owner {
		d.InviteRoles = roleOptions[1:] // a manager cannot invite an owner
	}
	if d.InviteForm == nil {
		d.InviteForm = page.EmptyForm(url.Values{"role": {string(auth.RoleStaff)}})
	}
	if d.EmployeeForm == nil {
		d.EmployeeForm = page.EmptyForm(url.Values{"employee_role": {string(auth.RoleStaff)}})
	}

	pr, err := s.deps.Staff.Presence(ctx, "")
	switch {
	case errors.Is(err, staffapi.ErrNotEmployee):
		d.NoEmployee = true
	case err != nil:
		return err
	default:
		d.Presence = pr
	}
	if !d.NoEmployee {
		inbox, err := s.deps.Staff.MyAnnouncements(ctx, staffapi.Page{Limit: 50})
		if err != nil {
			return err
		}
		for _, it := range inbox.Items {
			if !it.Read {
				d.Unread++
			}
		}
	}
	if !d.Manager {
		return nil
	}

	accounts, err := s.deps.Identity.ListStaff(ctx)
	if err != nil {
		return err
	}
	// One page of employees, a large one: the accounts are matched with
	// the employee records on it.
	emps, err := s.deps.Staff.Employees(ctx, staffapi.EmployeeParams{Page: staffapi.Page{Cursor: r.URL.Query().Get("cursor"), Limit: 500}})
	if err != nil {
		return err
	}
	d.Employees, d.NextCursor = emps.Items, emps.NextCursor
	byAccount := map[string]string{}
	for _, e := range emps.Items {
		if e.AccountID != "" {
			byAccount[e.AccountID] = e.ID
		}
	}
	d.Unlinked = []page.Option{{Value: "", Label: "No account (yet)"}}
	for _, a := range accounts.Items {
		row := accountRow{Staff: a, EmployeeID: byAccount[a.ID], Self: a.ID == p.ID}
		d.Accounts = append(d.Accounts, row)
		if row.EmployeeID == "" && a.Status == identityapi.StatusActive {
			d.Unlinked = append(d.Unlinked, page.Option{Value: a.ID, Label: a.Name + " (" + a.Email + ")"})
		}
	}
	return nil
}

func (s *Service) renderStaff(w http.ResponseWriter, r *http.Request, status int, d *staffData, form *page.Form) {
	v, err := s.view(r, "Staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = form
	v.Data = d
	s.kit.Render(w, r, status, "staff", v)
}

// invite invites a staff member and shows the invitation's link once: no
// email is sent yet, so the person who invites passes it on.
func (s *Service) invite(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	key := f.Key()
	if s.kit.Recall(r, inviteFormSlot) == key {
		s.kit.Redirect(w, r, "/admin/staff", "This invitation was made already; its link was shown once, when it was made.")
		return
	}
	in := identityapi.InvitationCreate{Email: f.Get("email"), Role: f.Get("role"), Name: f.Get("name")}
	if in.Email == "" {
		f.Fail("email", "Enter the email address of the person to invite.")
	}
	if !validRole(in.Role) {
		f.Fail("role", "Choose a role.")
	}
	d := &staffData{InviteForm: f}
	if !f.Invalid() {
		inv, err := s.deps.Identity.InviteStaff(ctx, in)
		switch {
		case errors.Is(err, identityapi.ErrEmailTaken):
			f.Fail("email", "This address has a staff account or an open invitation already.")
		case apiclient.IsCode(err, tenantapi.LimitCode):
			f.Message = "The store's plan has no seat left for another member: deactivate a member or move to a larger plan."
		case err != nil:
			if !f.Refused(err, nil) {
				s.kit.Fail(w, r, err)
				return
			}
		default:
			s.kit.Remember(r, inviteFormSlot, key)
			d.Invitation = &inv
			d.InviteURL = s.absURL(r, "/admin/invitations/accept?token="+url.QueryEscape(inv.Token))
			d.InviteForm = nil
		}
	}
	if err := s.loadStaff(ctx, r, p, d); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	status := http.StatusOK
	if f.Invalid() {
		status = http.StatusUnprocessableEntity
	}
	s.renderStaff(w, r, status, d, f)
}

// absURL is the absolute URL of path on the request's host: https, but
// on a loopback name, where the site is served over plain HTTP.
func (s *Service) absURL(r *http.Request, path string) string {
	scheme := "https"
	if loopbackHost(r.Host) {
		scheme = "http"
	}
	return scheme + "://" + r.Host + path
}

// changeRole gives a staff account another role (owners only), and its
// employee record the same, since the record's role picks the
// announcements its member gets.
func (s *Service) changeRole(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	id, role := r.PathValue("id"), f.Get("role")
	if !validRole(role) {
		s.kit.Redirect(w, r, "/admin/staff", "Choose one of the roles.")
		return
	}
	acc, err := s.deps.Identity.ChangeStaffRole(ctx, id, role)
	switch {
	case errors.Is(err, identityapi.ErrNotFound):
		s.kit.NotFound(w, r)
		return
	case apiclient.IsCode(err, "last_owner"):
		s.kit.Redirect(w, r, "/admin/staff", "The store must keep an active owner: make another member owner first.")
		return
	case err != nil:
		s.kit.Fail(w, r, err)
		return
	}
	msg := acc.Name + " is now " + roleLabel(acc.Role) + "; their sign-in carries the new role within minutes."
	if e, ok, err := s.employeeOf(ctx, id); err == nil && ok && string(e.Role) != role {
		er := auth.Role(role)
		if _, err := s.deps.Staff.UpdateEmployee(ctx, e.ID, staffapi.EmployeeUpdate{Role: &er}); err != nil {
			msg += " Their employee record still has the old role: change it there."
		}
	}
	s.kit.Redirect(w, r, "/admin/staff", msg)
}

// employeeOf returns the employee record linked to the staff account id.
func (s *Service) employeeOf(ctx context.Context, accountID string) (staffapi.Employee, bool, error) {
	emps, err := s.employees(ctx)
	if err != nil {
		return staffapi.Employee{}, false, err
	}
	for _, e := range emps {
		if e.AccountID == accountID {
			return e, true, nil
		}
	}
	return staffapi.Employee{}, false, nil
}

// roleLabel is the name of a role as the pages show it.
func roleLabel(role string) string {
	for _, o := range roleOptions {
		if o.Value == role {
			return o.Label
		}
	}
	return role
}

// deactivateAccount deactivates a staff account: its sessions end and it
// can no longer sign in. Its employee record (and attendance) stays.
func (s *Service) deactivateAccount(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	acc, err := s.deps.Identity.DeactivateStaff(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, identityapi.ErrNotFound):
		s.kit.NotFound(w, r)
	case apiclient.IsCode(err, "last_owner"):
		s.kit.Redirect(w, r, "/admin/staff", "The store must keep an active owner: make another member owner first.")
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/staff", acc.Name+"'s account is deactivated: they can no longer sign in.")
	}
}

// employAccount adds the employee record of a staff account, with the
// account's name, email and role, so its member can check in and gets
// announcements.
func (s *Service) employAccount(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	acc, err := s.deps.Identity.Staff(ctx, r.PathValue("id"))
	if err != nil {
		if errors.Is(err, identityapi.ErrNotFound) {
			s.kit.NotFound(w, r)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	_, err = s.deps.Staff.CreateEmployee(ctx, staffapi.EmployeeCreate{AccountID: acc.ID, Name: acc.Name, Email: acc.Email, Role: auth.Role(acc.Role)})
	switch {
	case errors.Is(err, staffapi.ErrAccountTaken):
		s.kit.Redirect(w, r, "/admin/staff", acc.Name+" has an employee record already.")
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/staff", acc.Name+" is an employee now: they can check in and get announcements.")
	}
}

// addEmployee adds an employee record, linked to a staff account or not
// (someone who works for the store without signing in to it).
func (s *Service) addEmployee(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	in := staffapi.EmployeeCreate{AccountID: f.Get("account_id"), Name: f.Get("employee_name"), Email: f.Get("employee_email"),
		Role: auth.Role(f.Get("employee_role"))}
	if in.Name == "" {
		f.Fail("employee_name", "Enter the employee's name.")
	}
	if !validRole(string(in.Role)) {
		f.Fail("employee_role", "Choose a role.")
	}
	if !f.Invalid() {
		_, err := s.deps.Staff.CreateEmployee(ctx, in)
		switch {
		case err == nil:
			s.kit.Redirect(w, r, "/admin/staff", in.Name+" is added to the employees.")
			return
		case errors.Is(err, staffapi.ErrAccountTaken):
			f.Fail("account_id", "This account has an employee record already.")
		case !f.Refused(err, map[string]string{"name": "employee_name", "email": "employee_email", "role": "employee_role"}):
			s.kit.Fail(w, r, err)
			return
		}
	}
	d := &staffData{EmployeeForm: f}
	if err := s.loadStaff(ctx, r, p, d); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderStaff(w, r, http.StatusUnprocessableEntity, d, f)
}

// setEmployeeActive deactivates (checking out) or reactivates an employee.
func (s *Service) setEmployeeActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, _, err := s.kit.Authed(r, "staff")
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		page.ParseForm(w, r)
		id := r.PathValue("id")
		var e staffapi.Employee
		if active {
			e, err = s.deps.Staff.UpdateEmployee(ctx, id, staffapi.EmployeeUpdate{Active: &active})
		} else {
			e, err = s.deps.Staff.DeactivateEmployee(ctx, id)
		}
		switch {
		case errors.Is(err, staffapi.ErrNotFound):
			s.kit.NotFound(w, r)
		case err != nil:
			s.kit.Fail(w, r, err)
		case active:
			s.kit.Redirect(w, r, "/admin/staff", e.Name+" is active again.")
		default:
			s.kit.Redirect(w, r, "/admin/staff", e.Name+" is deactivated (and checked out if they were in).")
		}
	}
}

// checkInOut checks the signed-in member in or out. The form's
// Idempotency-Key makes a second click, or a reload, answer the first
// outcome instead of "already checked in".
func (s *Service) checkInOut(in bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, _, err := s.kit.Authed(r, "staff")
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		f := page.ParseForm(w, r)
		const back = "/admin/staff"
		if in {
			_, err := s.deps.Staff.CheckIn(ctx, staffapi.CheckIn{}, f.Key())
			switch {
			case errors.Is(err, staffapi.ErrAlreadyCheckedIn):
				s.kit.Redirect(w, r, back, "You are checked in already.")
			case errors.Is(err, staffapi.ErrNotEmployee):
				s.kit.Redirect(w, r, back, "Your account has no employee record yet: ask a manager to add one.")
			case errors.Is(err, staffapi.ErrInactive):
				s.kit.Redirect(w, r, back, "Your employee record is inactive: ask a manager.")
			case err != nil:
				s.kit.Fail(w, r, err)
			default:
				s.kit.Redirect(w, r, back, "You are checked in.")
			}
			return
		}
		_, err = s.deps.Staff.CheckOut(ctx, staffapi.CheckIn{}, f.Key())
		switch {
		case errors.Is(err, staffapi.ErrNotCheckedIn):
			s.kit.Redirect(w, r, back, "You are not checked in.")
		case errors.Is(err, staffapi.ErrNotEmployee):
			s.kit.Redirect(w, r, back, "Your account has no employee record yet: ask a manager to add one.")
		case err != nil:
			s.kit.Fail(w, r, err)
		default:
			s.kit.Redirect(w, r, back, "You are checked out.")
		}
	}
}

// loopbackHost reports whether host (a Host header) is a loopback name,
// where the pages are served over plain HTTP.
func loopbackHost(host string) bool {
	h, _ := web.RequestHost(host)
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "127.0.0.1" || h == "::1"
}
