package identityapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// StaffPath is the collection of staff accounts in the admin API; a staff
// account is at StaffPath/{id}.
const StaffPath = "/api/v1/admin/staff"

// Staff returns the staff account with id in the store in ctx, or
// ErrNotFound (also for another store's account). Other services check
// the staff account IDs they keep with it.
func (c *Client) Staff(ctx context.Context, id string) (Staff, error) {
	var out Staff
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: StaffPath + "/" + url.PathEscape(id), Out: &out})
	if err != nil {
		return Staff{}, mapError(err)
	}
	return out, nil
}

// StaffLogin exchanges a staff member's email and password for the
// member's account and tokens (POST /api/v1/staff/auth/login); the tokens
// are refreshed with Refresh and revoked with Logout, like a customer's. A
// wrong email or password, or a deactivated member, is
// ErrInvalidCredentials.
func (c *Client) StaffLogin(ctx context.Context, l Login) (StaffSession, error) {
	return c.staffSession(ctx, "/api/v1/staff/auth/login", l)
}

// AcceptInvitation creates the staff account of an invitation and signs it
// in (POST /api/v1/staff/invitations/accept). An unknown, used or expired
// token is a 422 invalid_invitation; a store whose plan has no seat left a
// 403 plan_limit_reached.
func (c *Client) AcceptInvitation(ctx context.Context, a InvitationAccept) (StaffSession, error) {
	return c.staffSession(ctx, "/api/v1/staff/invitations/accept", a)
}

// ListStaff returns every staff account of the store, oldest first
// (GET /api/v1/admin/staff).
func (c *Client) ListStaff(ctx context.Context) (StaffList, error) {
	var out StaffList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: StaffPath, Out: &out})
	if err != nil {
		return StaffList{}, mapError(err)
	}
	return out, nil
}

// InviteStaff invites a staff member (POST /api/v1/admin/staff/invitations).
// The answer's Token is shown only here. An email of a staff account or
// open invitation already is ErrEmailTaken; a full plan a 403
// plan_limit_reached. It takes no idempotency key: the platform would keep
// the answer, token included, to replay it.
func (c *Client) InviteStaff(ctx context.Context, in InvitationCreate) (Invitation, error) {
	var out Invitation
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: StaffPath + "/invitations", Body: in, Out: &out})
	if err != nil {
		return Invitation{}, mapError(err)
	}
	return out, nil
}

// ChangeStaffRole gives a staff account another role
// (PATCH /api/v1/admin/staff/accounts/{id}); the member's tokens carry it
// from their next refresh. Demoting the last active owner is a 409
// last_owner.
func (c *Client) ChangeStaffRole(ctx context.Context, id, role string) (Staff, error) {
	var out Staff
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: staffAccountPath(id), Body: RoleChange{Role: role}, Out: &out, Idempotent: true})
	if err != nil {
		return Staff{}, mapError(err)
	}
	return out, nil
}

// DeactivateStaff deactivates a staff account and revokes its sessions
// (POST /api/v1/admin/staff/accounts/{id}/deactivate). Deactivating the
// last active owner is a 409 last_owner.
func (c *Client) DeactivateStaff(ctx context.Context, id string) (Staff, error) {
	var out Staff
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: staffAccountPath(id) + "/deactivate", Out: &out, Idempotent: true})
	if err != nil {
		return Staff{}, mapError(err)
	}
	return out, nil
}

func staffAccountPath(id string) string {
	return StaffPath + "/accounts/" + url.PathEscape(id)
}

// staffSession makes a POST answered with a staff session.
func (c *Client) staffSession(ctx context.Context, path string, body any) (StaffSession, error) {
	var out StaffSession
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: path, Body: body, Out: &out})
	if err != nil {
		return StaffSession{}, mapError(err)
	}
	return out, nil
}
