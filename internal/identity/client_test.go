package identity

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestClientWalksTheAccounts runs a customer's account and a store's staff
// through the typed client against the service's routes: registration,
// sign-in and refresh, profile, addresses and password; the owner
// inviting, promoting and deactivating a member.
func TestClientWalksTheAccounts(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		srv := newHTTPServer(t, s)
		// One client, as the UI has: each call carries its caller's
		// token, or none.
		c := identityapi.NewClient(srv.URL, nil)
		ctx := tenancy.WithID(t.Context(), "default")
		as := func(token string) context.Context { return apiclient.WithToken(ctx, token) }

		if r, err := c.Register(ctx, identityapi.Register{Email: "ada@example.com", Password: goodPW, Name: "Ada"}); err != nil || r.Status != "accepted" {
			t.Fatalf("register: %+v, %v", r, err)
		}
		if _, err := c.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: "wrong password!"}); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v, want ErrInvalidCredentials", err)
		}
		tok, err := c.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: goodPW})
		if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("login: %+v, %v", tok, err)
		}
		ada := as(tok.AccessToken)
		if me, err := c.Me(ada); err != nil || me.Email != "ada@example.com" {
			t.Fatalf("me: %+v, %v", me, err)
		}
		name, phone := "Ada Lovelace", "+44 20 7946 0000"
		if me, err := c.UpdateMe(ada, identityapi.ProfileUpdate{Name: &name, Phone: &phone}); err != nil || me.Name != name || me.Phone != phone {
			t.Fatalf("update me: %+v, %v", me, err)
		}
		a, err := c.AddAddress(ada, identityapi.AddressInput{Name: "Ada", Line1: "12 Row", City: "London", PostalCode: "N1 9GU", Country: "GB"}, "a1")
		if err != nil || a.ID == "" {
			t.Fatalf("add address: %+v, %v", a, err)
		}
		if again, err := c.AddAddress(ada, identityapi.AddressInput{Name: "Ada", Line1: "12 Row", City: "London", PostalCode: "N1 9GU", Country: "GB"}, "a1"); err != nil || again.ID != a.ID {
			t.Fatalf("add address retried with its key: %+v, %v", again, err)
		}
		city := "Leeds"
		if a, err = c.UpdateAddress(ada, a.ID, identityapi.AddressUpdate{City: &city}); err != nil || a.City != city {
			t.Fatalf("update address: %+v, %v", a, err)
		}
		if l, err := c.Addresses(ada); err != nil || len(l.Items) != 1 || l.Items[0].City != city {
			t.Fatalf("addresses: %+v, %v", l, err)
		}
		if err := c.DeleteAddress(ada, a.ID); err != nil {
			t.Fatalf("delete address: %v", err)
		}
		if err := c.DeleteAddress(ada, a.ID); !errors.Is(err, identityapi.ErrNotFound) {
			t.Errorf("delete it again: %v, want ErrNotFound", err)
		}
		newPW := goodPW + " again"
		if tok, err = c.ChangePassword(ada, identityapi.PasswordChange{CurrentPassword: goodPW, NewPassword: newPW}); err != nil || tok.RefreshToken == "" {
			t.Fatalf("change password: %+v, %v", tok, err)
		}
		fresh, err := c.Refresh(ctx, tok.RefreshToken)
		if err != nil || fresh.AccessToken == "" {
			t.Fatalf("refresh: %+v, %v", fresh, err)
		}
		if _, err := c.Refresh(ctx, tok.RefreshToken); !errors.Is(err, identityapi.ErrInvalidRefreshToken) {
			t.Errorf("refresh with a used token: %v, want ErrInvalidRefreshToken", err)
		}
		// The reuse revoked the session; log in again and out.
		tok, err = c.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: newPW})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Logout(ctx, tok.RefreshToken); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if _, err := c.Refresh(ctx, tok.RefreshToken); !errors.Is(err, identityapi.ErrInvalidRefreshToken) {
			t.Errorf("refresh after logout: %v, want ErrInvalidRefreshToken", err)
		}

		if _, err := c.CreateOwner(as(webtest.AdminToken), identityapi.OwnerCreate{Email: "owner@example.com", Password: goodPW, Name: "Olga"}); err != nil {
			t.Fatal(err)
		}
		sess, err := c.StaffLogin(ctx, identityapi.Login{Email: "owner@example.com", Password: goodPW})
		if err != nil || sess.Staff.Role != "owner" || sess.AccessToken == "" {
			t.Fatalf("staff login: %+v, %v", sess, err)
		}
		if refreshed, err := c.Refresh(ctx, sess.RefreshToken); err != nil || refreshed.AccessToken == "" {
			t.Fatalf("staff refresh: %+v, %v", refreshed, err)
		}
		owner := as(sess.AccessToken)
		inv, err := c.InviteStaff(owner, identityapi.InvitationCreate{Email: "bo@example.com", Role: "staff"})
		if err != nil || inv.Token == "" {
			t.Fatalf("invite: %+v, %v", inv, err)
		}
		bo, err := c.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Bo"})
		if err != nil || bo.Staff.Role != "staff" {
			t.Fatalf("accept invitation: %+v, %v", bo, err)
		}
		if _, err := c.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Bo"}); !apiclient.IsCode(err, "invalid_invitation") {
			t.Errorf("accept it again: %v, want 422 invalid_invitation", err)
		}
		if m, err := c.ChangeStaffRole(owner, bo.Staff.ID, "manager"); err != nil || m.Role != "manager" {
			t.Fatalf("change role: %+v, %v", m, err)
		}
		if m, err := c.DeactivateStaff(owner, bo.Staff.ID); err != nil || m.Status != identityapi.StatusDeactivated {
			t.Fatalf("deactivate: %+v, %v", m, err)
		}
		if l, err := c.ListStaff(owner); err != nil || len(l.Items) != 2 {
			t.Fatalf("list staff: %+v, %v", l, err)
		}
		if _, err := c.StaffLogin(ctx, identityapi.Login{Email: "bo@example.com", Password: goodPW}); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Errorf("deactivated member's login: %v, want ErrInvalidCredentials", err)
		}
		if _, err := c.ListStaff(as(bo.AccessToken)); !apiclient.IsStatus(err, http.StatusForbidden) {
			t.Errorf("staff listing staff: %v, want 403", err)
		}
	}, Migrations...)
}
