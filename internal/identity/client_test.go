package identity

import (
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

// withToken sends every request with Authorization: Bearer token.
type withToken string

func (tok withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(tok))
	return http.DefaultTransport.RoundTrip(r)
}

// TestClientWalksTheAccounts runs a customer's account and a store's staff
// through the typed client against the service's routes: registration,
// sign-in and refresh, profile, addresses and password; the owner
// inviting, promoting and deactivating a member.
func TestClientWalksTheAccounts(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		srv := newHTTPServer(t, s)
		as := func(token string) *identityapi.Client {
			return identityapi.NewClient(srv.URL, &http.Client{Transport: withToken(token)})
		}
		anon := identityapi.NewClient(srv.URL, nil)
		ctx := tenancy.WithID(t.Context(), "default")

		if r, err := anon.Register(ctx, identityapi.Register{Email: "ada@example.com", Password: goodPW, Name: "Ada"}); err != nil || r.Status != "accepted" {
			t.Fatalf("register: %+v, %v", r, err)
		}
		if _, err := anon.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: "wrong password!"}); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v, want ErrInvalidCredentials", err)
		}
		tok, err := anon.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: goodPW})
		if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("login: %+v, %v", tok, err)
		}
		ada := as(tok.AccessToken)
		if me, err := ada.Me(ctx); err != nil || me.Email != "ada@example.com" {
			t.Fatalf("me: %+v, %v", me, err)
		}
		name, phone := "Ada Lovelace", "+44 20 7946 0000"
		if me, err := ada.UpdateMe(ctx, identityapi.ProfileUpdate{Name: &name, Phone: &phone}); err != nil || me.Name != name || me.Phone != phone {
			t.Fatalf("update me: %+v, %v", me, err)
		}
		a, err := ada.AddAddress(ctx, identityapi.AddressInput{Name: "Ada", Line1: "12 Row", City: "London", PostalCode: "N1 9GU", Country: "GB"}, "a1")
		if err != nil || a.ID == "" {
			t.Fatalf("add address: %+v, %v", a, err)
		}
		if again, err := ada.AddAddress(ctx, identityapi.AddressInput{Name: "Ada", Line1: "12 Row", City: "London", PostalCode: "N1 9GU", Country: "GB"}, "a1"); err != nil || again.ID != a.ID {
			t.Fatalf("add address retried with its key: %+v, %v", again, err)
		}
		city := "Leeds"
		if a, err = ada.UpdateAddress(ctx, a.ID, identityapi.AddressUpdate{City: &city}); err != nil || a.City != city {
			t.Fatalf("update address: %+v, %v", a, err)
		}
		if l, err := ada.Addresses(ctx); err != nil || len(l.Items) != 1 || l.Items[0].City != city {
			t.Fatalf("addresses: %+v, %v", l, err)
		}
		if err := ada.DeleteAddress(ctx, a.ID); err != nil {
			t.Fatalf("delete address: %v", err)
		}
		if err := ada.DeleteAddress(ctx, a.ID); !errors.Is(err, identityapi.ErrNotFound) {
			t.Errorf("delete it again: %v, want ErrNotFound", err)
		}
		newPW := goodPW + " again"
		if tok, err = ada.ChangePassword(ctx, identityapi.PasswordChange{CurrentPassword: goodPW, NewPassword: newPW}); err != nil || tok.RefreshToken == "" {
			t.Fatalf("change password: %+v, %v", tok, err)
		}
		fresh, err := anon.Refresh(ctx, tok.RefreshToken)
		if err != nil || fresh.AccessToken == "" {
			t.Fatalf("refresh: %+v, %v", fresh, err)
		}
		if _, err := anon.Refresh(ctx, tok.RefreshToken); !errors.Is(err, identityapi.ErrInvalidRefreshToken) {
			t.Errorf("refresh with a used token: %v, want ErrInvalidRefreshToken", err)
		}
		// The reuse revoked the session; log in again and out.
		tok, err = anon.Login(ctx, identityapi.Login{Email: "ada@example.com", Password: newPW})
		if err != nil {
			t.Fatal(err)
		}
		if err := anon.Logout(ctx, tok.RefreshToken); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if _, err := anon.Refresh(ctx, tok.RefreshToken); !errors.Is(err, identityapi.ErrInvalidRefreshToken) {
			t.Errorf("refresh after logout: %v, want ErrInvalidRefreshToken", err)
		}

		if _, err := as(webtest.AdminToken).CreateOwner(ctx, identityapi.OwnerCreate{Email: "owner@example.com", Password: goodPW, Name: "Olga"}); err != nil {
			t.Fatal(err)
		}
		sess, err := anon.StaffLogin(ctx, identityapi.Login{Email: "owner@example.com", Password: goodPW})
		if err != nil || sess.Staff.Role != "owner" || sess.AccessToken == "" {
			t.Fatalf("staff login: %+v, %v", sess, err)
		}
		if refreshed, err := anon.Refresh(ctx, sess.RefreshToken); err != nil || refreshed.AccessToken == "" {
			t.Fatalf("staff refresh: %+v, %v", refreshed, err)
		}
		owner := as(sess.AccessToken)
		inv, err := owner.InviteStaff(ctx, identityapi.InvitationCreate{Email: "bo@example.com", Role: "staff"})
		if err != nil || inv.Token == "" {
			t.Fatalf("invite: %+v, %v", inv, err)
		}
		bo, err := anon.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Bo"})
		if err != nil || bo.Staff.Role != "staff" {
			t.Fatalf("accept invitation: %+v, %v", bo, err)
		}
		if _, err := anon.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: inv.Token, Password: goodPW, Name: "Bo"}); !apiclient.IsCode(err, "invalid_invitation") {
			t.Errorf("accept it again: %v, want 422 invalid_invitation", err)
		}
		if m, err := owner.ChangeStaffRole(ctx, bo.Staff.ID, "manager"); err != nil || m.Role != "manager" {
			t.Fatalf("change role: %+v, %v", m, err)
		}
		if m, err := owner.DeactivateStaff(ctx, bo.Staff.ID); err != nil || m.Status != identityapi.StatusDeactivated {
			t.Fatalf("deactivate: %+v, %v", m, err)
		}
		if l, err := owner.ListStaff(ctx); err != nil || len(l.Items) != 2 {
			t.Fatalf("list staff: %+v, %v", l, err)
		}
		if _, err := anon.StaffLogin(ctx, identityapi.Login{Email: "bo@example.com", Password: goodPW}); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Errorf("deactivated member's login: %v, want ErrInvalidCredentials", err)
		}
		if _, err := as(bo.AccessToken).ListStaff(ctx); !apiclient.IsStatus(err, http.StatusForbidden) {
			t.Errorf("staff listing staff: %v, want 403", err)
		}
	}, Migrations...)
}
