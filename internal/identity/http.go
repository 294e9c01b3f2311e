package identity

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/session"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Operation IDs, the keys of the access table.
const (
	opJWKS                 = "identity-jwks"
	opRegister             = "identity-register"
	opLogin                = "identity-login"
	opRefresh              = "identity-refresh"
	opLogout               = "identity-logout"
	opSessionLogin         = "identity-session-login"
	opSessionLogout        = "identity-session-logout"
	opPasswordReset        = "identity-password-reset"
	opPasswordResetConfirm = "identity-password-reset-confirm"
	opVerifyEmail          = "identity-verify-email"
	opResendVerification   = "identity-resend-verification"
	opGetMe                = "identity-get-me"
	opUpdateMe             = "identity-update-me"
	opChangePassword       = "identity-change-password"
	opListAddresses        = "identity-list-addresses"
	opAddAddress           = "identity-add-address"
	opUpdateAddress        = "identity-update-address"
	opDeleteAddress        = "identity-delete-address"
	opStaffLogin           = "identity-staff-login"
	opAcceptInvitation     = "identity-accept-invitation"
	opInviteStaff          = "identity-invite-staff"
	opListStaff            = "identity-list-staff"
	opChangeRole           = "identity-change-staff-role"
	opDeactivateStaff      = "identity-deactivate-staff"
	opRotateKeys           = "identity-rotate-keys"
	opCreateOwner          = "identity-create-owner"
	opOwnerExists          = "identity-owner-exists"
	opGetCustomer          = "identity-get-customer"
	opGetStaff             = "identity-get-staff"
	opImportCustomer       = "identity-import-customer"
	opListCustomers        = "identity-list-customers"
	opRecordExport         = "identity-record-export"
	opListExports          = "identity-list-exports"
	opFinishExport         = "identity-finish-export"
)

// access lists the staff roles that may call each admin operation: the
// platform enforces it (web.Roles). The admin and service tokens may call
// every one, a secret API key those a manager may. An operation with no
// roles is for the admin and service tokens only (service to service).
// Every other operation is public to the platform; the customer ones
// (/api/v1/me...) check that the caller is a customer (see me).
var access = map[string][]auth.Role{
	opInviteStaff:     {auth.RoleOwner, auth.RoleManager},
	opListStaff:       {auth.RoleOwner, auth.RoleManager},
	opChangeRole:      {auth.RoleOwner},
	opDeactivateStaff: {auth.RoleOwner, auth.RoleManager},
	opRotateKeys:      {auth.RoleOwner},
	opGetCustomer:     {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	opGetStaff:        {auth.RoleOwner, auth.RoleManager},
	opCreateOwner:     {},
	opOwnerExists:     {},
	opImportCustomer:  {auth.RoleOwner, auth.RoleManager},
	// Everyone on staff lists customers; only MaySeePersonalData sees
	// them unmasked.
	opListCustomers: {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	// Whoever may export records it; the owner and managers read the log.
	opRecordExport: {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	opFinishExport: {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	opListExports:  {auth.RoleOwner, auth.RoleManager},
}

// roles returns the roles of admin operation opID, never nil: an
// operation missing from access is nobody's but the admin's, and the
// OpenAPI document lists an empty set as [], not null.
func roles(opID string) []auth.Role {
	return append([]auth.Role{}, access[opID]...)
}

// actor returns the caller of an admin operation, which the platform has
// authenticated and checked against access.
func actor(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.From(ctx)
	if !ok {
		return auth.Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// Routes registers the identity operations: the JWK set at
// /.well-known/jwks.json, the customer API under /api/v1/auth and
// /api/v1/me, staff sign-in under /api/v1/staff, and the admin API under
// /api/v1/admin/staff and /api/v1/admin/identity.
func (s *Service) Routes(api *web.API) {
	api.Tag("identity", "Customer accounts: registration, sign-in with access and refresh tokens or a web "+
		"session cookie, password resets, and the signed-in customer's profile and address book "+
		"(/api/v1/me…). Staff members sign in and accept invitations here too.")
	api.Tag("identity admin", "Staff accounts and their roles, invitations, the token signing keys, and the "+
		"store's customers as staff see them.")
	api.SecurityScheme(sessionScheme, &huma.SecurityScheme{Type: "apiKey", In: "cookie", Name: session.CookieName,
		Description: "A customer's web session, set HttpOnly by POST /api/v1/auth/session; it idles out " +
			"and is ended by DELETE /api/v1/auth/session. Browsers send it by themselves."})
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"identity"}
		return web.Public(op)
	}
	// The customer's own operations: the platform refuses anyone else
	// before the body is read (GET /api/v1/me is the handler's: it also
	// takes the web session cookie, which the platform does not know).
	cust := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"identity"}
		return web.Customers(op)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"identity admin"}
		return web.Roles(op, roles(op.OperationID)...)
	}
	// The JWK set is for token verifiers, outside the store API (no
	// tenant, no credentials): the security schemes of the document name
	// it, and it is left out as an operation, like /healthz.
	huma.Register(api, pub(huma.Operation{OperationID: opJWKS, Method: http.MethodGet, Path: "/.well-known/jwks.json", Hidden: true,
		Summary: "Public keys that verify access tokens", Description: "The active signing key first, then retired keys whose tokens may still be valid."}), s.jwksOp)

	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opRegister, Method: http.MethodPost, Path: "/api/v1/auth/register",
		Summary: "Register a customer account", DefaultStatus: http.StatusAccepted,
		Description: "202 with the same answer whether or not the address already had an account (nothing tells them apart); " +
			"then sign in with POST /api/v1/auth/login. Passwords are kept as argon2id hashes; a weak one is refused."}),
		ansWeakPassword, ansInvalidEmail), s.registerOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opLogin, Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary: "Log a customer in",
		Description: "Exchanges an email and password for an access token and a refresh token. A wrong email and a " +
			"wrong password are answered alike. Failed logins are throttled per account and per client IP: 429 " +
			"too_many_attempts with Retry-After."}), ansInvalidCredentials, ansThrottled), s.loginOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opRefresh, Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary: "Exchange a refresh token for new tokens",
		Description: "Answers a new access token and a new refresh token; the one sent is used up (rotation). " +
			"Presenting a used one again revokes its whole session: 401 refresh_token_reused, and the client must log in again."}),
		ansInvalidRefresh, ansRefreshReused), s.refreshOp)
	huma.Register(api, pub(huma.Operation{OperationID: opLogout, Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Summary: "Revoke a session",
		Description: "Revokes the session of the refresh token sent: neither it nor tokens refreshed from it work " +
			"any longer. Access tokens already issued stay valid until they expire (minutes).",
		DefaultStatus: http.StatusNoContent}), s.logoutOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opSessionLogin, Method: http.MethodPost, Path: "/api/v1/auth/session",
		Summary: "Log a customer in to a web session",
		Description: "For browsers: sets the HttpOnly session cookie (" + session.CookieName + ") instead of answering tokens; " +
			"GET /api/v1/me accepts it. A session cookie sent along is replaced. Throttled like /api/v1/auth/login. " +
			"503 session_unavailable when sessions can be stored nowhere."}), ansInvalidCredentials, ansThrottled), s.sessionLoginOp)
	huma.Register(api, pub(huma.Operation{OperationID: opSessionLogout, Method: http.MethodDelete, Path: "/api/v1/auth/session",
		Summary: "End the web session", Description: "Ends the session of the cookie, if any, and deletes the cookie.",
		DefaultStatus: http.StatusNoContent}), s.sessionLogoutOp)
	huma.Register(api, pub(huma.Operation{OperationID: opPasswordReset, Method: http.MethodPost, Path: "/api/v1/auth/password-reset",
		Summary: "Request a password reset email",
		Description: "Sends a single-use reset token to the address if an account of this store has it. Always 202, " +
			"whether the account exists or not, so that the answer tells nobody which addresses are registered.",
		DefaultStatus: http.StatusAccepted}), s.passwordResetOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opPasswordResetConfirm, Method: http.MethodPost, Path: "/api/v1/auth/password-reset/confirm",
		Summary: "Set a new password with a reset token",
		Description: "Sets the password with the token of the reset email (single use, short-lived). Revokes every " +
			"session of the account and answers new tokens."}), ansInvalidResetToken, ansWeakPassword), s.passwordResetConfirmOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opVerifyEmail, Method: http.MethodPost, Path: "/api/v1/auth/verify-email",
		Summary: "Confirm a customer's email address",
		Description: "Confirms the address with the token of the verification email (sent at registration, single use, " +
			"valid for 48 hours by default): the customer's email_verified becomes true, and the store's guest orders " +
			"placed with the address become the account's. A used, expired or unknown token is 422 " +
			"invalid_verification_token."}), ansInvalidVerificationToken), s.verifyEmailOp)
	huma.Register(api, cust(huma.Operation{OperationID: opResendVerification, Method: http.MethodPost, Path: "/api/v1/auth/verify-email/resend",
		Summary: "Send the signed-in customer a new verification email",
		Description: "Sends a new verification link to the customer's address, unless it is verified already " +
			"(status already_verified) or one was sent moments ago or several lately (status recently_sent: the last " +
			"link still works). Always 202.",
		DefaultStatus: http.StatusAccepted}), s.resendVerificationOp)

	huma.Register(api, web.Answers(web.SignedIn(huma.Operation{OperationID: opGetMe, Method: http.MethodGet, Path: "/api/v1/me", Summary: "The signed-in customer",
		Tags: []string{"identity"},
		Description: "The customer's profile. With a customer access token, or the web session cookie of POST " +
			"/api/v1/auth/session (whose idle expiry it carries forward). 401 without either; 403 for a caller " +
			"that is no customer (staff, an API key)."}, web.CustomerToken, sessionScheme),
		ansForbiddenNotCustomer), s.getMeOp)
	huma.Register(api, cust(huma.Operation{OperationID: opUpdateMe, Method: http.MethodPatch, Path: "/api/v1/me", Summary: "Update the signed-in customer's profile",
		Description: "A partial update of the customer's name and phone number: absent fields stay, an empty " +
			"phone clears it. The email is the account's sign-in and does not change here."}), s.updateMeOp)
	huma.Register(api, web.Answers(cust(huma.Operation{OperationID: opChangePassword, Method: http.MethodPost, Path: "/api/v1/me/password",
		Summary: "Change the signed-in customer's password",
		Description: "Needs the current password (throttled like logins). Revokes every session of the account and " +
			"answers new tokens."}), ansInvalidCredentials, ansThrottled, ansWeakPassword), s.changePasswordOp)
	huma.Register(api, cust(huma.Operation{OperationID: opListAddresses, Method: http.MethodGet, Path: "/api/v1/me/addresses", Summary: "The signed-in customer's addresses",
		Description: "The customer's address book, the default address first."}), s.listAddressesOp)
	huma.Register(api, web.Answers(cust(huma.Operation{OperationID: opAddAddress, Method: http.MethodPost, Path: "/api/v1/me/addresses",
		Summary: "Add an address",
		Description: "Adds an address to the book; the book holds a limited number (409 too_many_addresses when full). " +
			"is_default makes it the default address (the previous default is no longer).",
		DefaultStatus: http.StatusCreated}), ansTooManyAddresses), s.addAddressOp)
	huma.Register(api, web.Answers(cust(huma.Operation{OperationID: opUpdateAddress, Method: http.MethodPatch, Path: "/api/v1/me/addresses/{id}", Summary: "Update an address",
		Description: "A partial update of one of the customer's addresses: absent fields stay."}), ansAddressNotFound), s.updateAddressOp)
	huma.Register(api, web.Answers(cust(huma.Operation{OperationID: opDeleteAddress, Method: http.MethodDelete, Path: "/api/v1/me/addresses/{id}",
		Summary: "Delete an address", Description: "Removes one of the customer's addresses from the book.",
		DefaultStatus: http.StatusNoContent}), ansAddressNotFound), s.deleteAddressOp)

	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opStaffLogin, Method: http.MethodPost, Path: "/api/v1/staff/auth/login", Summary: "Log a staff member in",
		Description: "Exchanges a staff member's email and password for a staff access token and a refresh token " +
			"(refreshed at /api/v1/auth/refresh). Deactivated members cannot sign in. Throttled like customer logins."}),
		ansInvalidCredentials, ansThrottled), s.staffLoginOp)
	huma.Register(api, web.Answers(pub(huma.Operation{OperationID: opAcceptInvitation, Method: http.MethodPost, Path: "/api/v1/staff/invitations/accept",
		Summary: "Accept a staff invitation",
		Description: "Creates the staff account of an invitation with the invitation's token and a password, and " +
			"signs it in. 403 plan_limit_reached when the store's active staff fill its plan (the invitation stays open); " +
			"503 plan_limits_unavailable when the plan cannot be read.", DefaultStatus: http.StatusCreated}),
		ansInvalidInvitation, ansPlanLimit, ansEmailTaken, ansWeakPassword), s.acceptInvitationOp)

	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opInviteStaff, Method: http.MethodPost, Path: "/api/v1/admin/staff/invitations",
		Summary: "Invite a staff member", Description: "Owners and managers; a manager cannot invite an owner. The token is shown once. " +
			"An open invitation takes a seat of the plan's staff limit: 403 plan_limit_reached when active staff and open invitations fill it, " +
			"503 plan_limits_unavailable when the plan cannot be read.", DefaultStatus: http.StatusCreated}), ansPlanLimit, ansEmailTaken, ansInvalidEmail), s.inviteOp)
	huma.Register(api, adm(huma.Operation{OperationID: opListStaff, Method: http.MethodGet, Path: "/api/v1/admin/staff", Summary: "List staff",
		Description: "Every staff account of the store with its role and whether it is active."}), s.listStaffOp)
	// Staff accounts are under /admin/staff/accounts/: /admin/staff/{id}
	// overlapped the staff service's /admin/staff/employees/{id}. The old
	// paths keep working, out of the document.
	web.Moved(api, web.Answers(adm(huma.Operation{OperationID: opChangeRole, Method: http.MethodPatch, Path: "/api/v1/admin/staff/accounts/{id}",
		Summary: "Change a staff member's role", Description: "Owners only; the last active owner cannot be demoted (409 last_owner). " +
			"The member's tokens carry the new role from their next refresh."}), ansAccountNotFound, ansLastOwner),
		"/api/v1/admin/staff/{id}", s.changeRoleOp)
	web.Moved(api, web.Answers(adm(huma.Operation{OperationID: opDeactivateStaff, Method: http.MethodPost, Path: "/api/v1/admin/staff/accounts/{id}/deactivate",
		Summary: "Deactivate a staff member", Description: "Owners and managers; revokes the member's sessions, and the " +
			"member can no longer sign in. The last active owner cannot be deactivated (409 last_owner)."}), ansAccountNotFound, ansLastOwner),
		"/api/v1/admin/staff/{id}/deactivate", s.deactivateOp)
	huma.Register(api, adm(huma.Operation{OperationID: opRotateKeys, Method: http.MethodPost, Path: "/api/v1/admin/identity/keys/rotate",
		Summary: "Rotate the token signing key", Description: "Owners only. Makes a new signing key active; tokens signed by the previous key stay valid until they expire."}), s.rotateKeysOp)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opCreateOwner, Method: http.MethodPost, Path: "/api/v1/admin/identity/owners",
		Summary: "Create the store's first owner", Description: "Service to service (tenant signup): creates the owner account " +
			"of a new store and signs it in. 409 owner_exists once the store has an owner.", DefaultStatus: http.StatusCreated}),
		ansOwnerExists, ansWeakPassword, ansInvalidEmail), s.createOwnerOp)
	huma.Register(api, adm(huma.Operation{OperationID: opOwnerExists, Method: http.MethodGet, Path: "/api/v1/admin/identity/owner-exists", Summary: "Whether the store has an owner",
		Description: "Service to service: the platform asks it to retire the generated admin token in a store once the store has an owner."}), s.ownerExistsOp)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opGetCustomer, Method: http.MethodGet, Path: "/api/v1/admin/customers/{id}", Summary: "Get a customer",
		Description: "A customer account of the store by ID, as staff see it (no password, no sessions). The email, name and phone " +
			"are masked, as in the list, unless the caller is the owner, a manager or the admin token."}), ansAccountNotFound), s.getCustomerOp)
	huma.Register(api, adm(huma.Operation{OperationID: opGetStaff, Method: http.MethodGet, Path: identityapi.StaffPath + "/{id}", Summary: "Get a staff account",
		Description: "404 not_found for an ID of no staff account of this store. The staff service checks employees' account_id with it."}), s.getStaffOp)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opImportCustomer, Method: http.MethodPost, Path: "/api/v1/admin/customers/import",
		Summary: "Create or update a customer by email (CSV import)",
		Description: "Creates a customer account without a password, or updates the name and phone of the account with this email " +
			"(phone absent keeps the account's); " +
			"the same body twice changes nothing the second time. Nobody can sign in to a new account until the customer sets a " +
			"password through the password reset flow: invite sends the reset link at once. dry_run answers what would happen."}),
		ansInvalidEmail, ansEmailTaken), s.importCustomerOp)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opListCustomers, Method: http.MethodGet, Path: "/api/v1/admin/customers",
		Summary: "List customers",
		Description: "The store's customers, oldest first, a page at a time. Emails, names and phones are masked (masked: true) " +
			"unless the caller is the owner, a manager or the admin token."})), s.listCustomersOp)
	huma.Register(api, adm(huma.Operation{OperationID: opRecordExport, Method: http.MethodPost, Path: "/api/v1/admin/exports",
		Summary: "Record a CSV export in the audit log", DefaultStatus: http.StatusCreated,
		Description: "mercato export and the admin's Import / export page record every export here before its first row " +
			"(in_progress, rows 0) and finish the entry with its row count at the end: what, how many rows, masked or not; " +
			"who ran it is the caller."}), s.recordExportOp)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: opFinishExport, Method: http.MethodPost, Path: "/api/v1/admin/exports/{id}/finish",
		Summary: "Finish an export's audit entry with its row count",
		Description: "Sets the rows of an export the caller recorded in progress; once only. An entry left in progress is an " +
			"export that stopped without saying how far it got."}), ansExportNotFound), s.finishExportOp)
	huma.Register(api, adm(huma.Operation{OperationID: opListExports, Method: http.MethodGet, Path: "/api/v1/admin/exports",
		Summary: "The export audit log", Description: "Every CSV export of the store, newest first, 50 a page."}), s.listExportsOp)
}

func (s *Service) recordExportOp(ctx context.Context, in *struct{ Body identityapi.ExportRecord }) (*struct{ Body identityapi.ExportAudit }, error) {
	out, err := s.RecordExport(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.ExportAudit }{out}, nil
}

func (s *Service) finishExportOp(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body identityapi.ExportFinish
}) (*struct{ Body identityapi.ExportAudit }, error) {
	out, err := s.FinishExport(ctx, in.ID, in.Body.Rows)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.ExportAudit }{out}, nil
}

func (s *Service) listExportsOp(ctx context.Context, in *struct {
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*struct{ Body identityapi.ExportAuditList }, error) {
	out, err := s.Exports(ctx, in.Cursor)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.ExportAuditList }{out}, nil
}

func (s *Service) importCustomerOp(ctx context.Context, in *struct{ Body identityapi.CustomerImport }) (*struct{ Body identityapi.CustomerImported }, error) {
	out, err := s.ImportCustomer(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.CustomerImported }{out}, nil
}

func (s *Service) listCustomersOp(ctx context.Context, in *struct {
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (100) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*struct{ Body identityapi.CustomerList }, error) {
	p, err := actor(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	out, err := s.Customers(ctx, in.Cursor, in.Limit, MaySeePersonalData(p))
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.CustomerList }{out}, nil
}

// sessionScheme is the OpenAPI security scheme of the web session cookie.
const sessionScheme = "customerSession"

// The answers of identity operations beyond the platform's (see problem).
var (
	ansEmailTaken               = web.Answer{Status: http.StatusConflict, Code: "email_taken", When: "an account of this store has the email already"}
	ansWeakPassword             = web.Answer{Status: http.StatusUnprocessableEntity, Code: "weak_password", When: "the password is too short or too common"}
	ansInvalidEmail             = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_email", When: "the email is not a valid address"}
	ansInvalidCredentials       = web.Answer{Status: http.StatusUnauthorized, Code: "invalid_credentials", When: "the email or password is wrong"}
	ansThrottled                = web.Answer{Status: http.StatusTooManyRequests, Code: "too_many_attempts", When: "too many failed attempts for the account or from the client's IP: retry after Retry-After seconds"}
	ansInvalidRefresh           = web.Answer{Status: http.StatusUnauthorized, Code: "invalid_refresh_token", When: "the refresh token is unknown, expired or revoked"}
	ansRefreshReused            = web.Answer{Status: http.StatusUnauthorized, Code: "refresh_token_reused", When: "the refresh token was used before: its session is now revoked"}
	ansInvalidResetToken        = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_reset_token", When: "the reset token is unknown, used or expired"}
	ansInvalidVerificationToken = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_verification_token", When: "the verification token is unknown, used or expired"}
	ansInvalidInvitation        = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_invitation", When: "the invitation token is unknown, used or expired"}
	ansPlanLimit                = web.Answer{Status: http.StatusForbidden, Code: tenantapi.LimitCode, When: "the store's plan allows no more staff"}
	ansForbiddenNotCustomer     = web.Answer{Status: http.StatusForbidden, Code: "forbidden", When: "the caller is not a customer of this store"}
	ansTooManyAddresses         = web.Answer{Status: http.StatusConflict, Code: "too_many_addresses", When: "the address book is full"}
	ansAddressNotFound          = web.Answer{Status: http.StatusNotFound, Code: "address_not_found", When: "the customer has no address with this ID"}
	ansAccountNotFound          = web.Answer{Status: http.StatusNotFound, Code: "account_not_found", When: "the store has no account with this ID"}
	ansExportNotFound           = web.Answer{Status: http.StatusNotFound, Code: "export_not_found", When: "no export the caller recorded in progress has this ID"}
	ansLastOwner                = web.Answer{Status: http.StatusConflict, Code: "last_owner", When: "the store would be left without an active owner"}
	ansOwnerExists              = web.Answer{Status: http.StatusConflict, Code: "owner_exists", When: "the store has an owner already"}
)

// clientIP is the address the login throttle counts a request's attempts
// against: the host part of the connection's remote address or, for a
// request of the deployment's own page services (the service token), the
// browser's address they send in identityapi.ClientIPHeader. A page's
// sign-in reaches identity from the page service, whose address every
// visitor shares; anyone else's header is ignored, so a guesser cannot
// pick a fresh address for each attempt. Behind a proxy the remote address
// is the proxy's: the platform owns trusted-proxy handling.
func clientIP(ctx huma.Context) string {
	if h := strings.TrimSpace(ctx.Header(identityapi.ClientIPHeader)); h != "" {
		if p, ok := auth.From(ctx.Context()); ok && web.IsService(p) {
			if ip, err := netip.ParseAddr(h); err == nil {
				return ip.Unmap().String()
			}
		}
	}
	remote := ctx.RemoteAddr()
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

type jwksOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         auth.JWKSet
}

type tokensOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         identityapi.Tokens
}

type loginInput struct {
	Body identityapi.Login
	ip   string
}

// Resolve records the client IP for the login throttle.
func (in *loginInput) Resolve(ctx huma.Context) []error {
	in.ip = clientIP(ctx)
	return nil
}

type changePasswordInput struct {
	Body identityapi.PasswordChange
	ip   string
}

// Resolve records the client IP for the login throttle.
func (in *changePasswordInput) Resolve(ctx huma.Context) []error {
	in.ip = clientIP(ctx)
	return nil
}

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

// noStore: token answers must not be cached by anything in between.
const noStore = "no-store"

func (s *Service) jwksOp(ctx context.Context, _ *struct{}) (*jwksOutput, error) {
	set, err := s.JWKS(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	// Short: verifiers must see a rotated-in key within minutes.
	return &jwksOutput{CacheControl: "public, max-age=60", Body: set}, nil
}

// registerOp answers a registration the same way whether the address was
// new or already had an account: a 409 email_taken would tell anyone which
// addresses are customers of the store. Invalid input (a weak password, a
// malformed address) is still refused, the same for both.
func (s *Service) registerOp(ctx context.Context, in *struct{ Body identityapi.Register }) (*struct {
	CacheControl string `header:"Cache-Control"`
	Body         identityapi.Registration
}, error) {
	if _, err := s.Register(ctx, in.Body); err != nil && !errors.Is(err, ErrEmailTaken) {
		return nil, s.problem(err)
	}
	return &struct {
		CacheControl string `header:"Cache-Control"`
		Body         identityapi.Registration
	}{noStore, identityapi.RegistrationAccepted}, nil
}

func (s *Service) loginOp(ctx context.Context, in *loginInput) (*tokensOutput, error) {
	out, err := s.Login(ctx, in.Body.Email, in.Body.Password, in.ip)
	if err != nil {
		return nil, s.problem(err)
	}
	return &tokensOutput{noStore, out}, nil
}

func (s *Service) refreshOp(ctx context.Context, in *struct{ Body identityapi.Refresh }) (*tokensOutput, error) {
	out, err := s.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, s.problem(err)
	}
	return &tokensOutput{noStore, out}, nil
}

func (s *Service) logoutOp(ctx context.Context, in *struct{ Body identityapi.Refresh }) (*struct{}, error) {
	if err := s.Logout(ctx, in.Body.RefreshToken); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

func (s *Service) passwordResetOp(ctx context.Context, in *struct{ Body identityapi.PasswordReset }) (*struct{}, error) {
	if err := s.RequestPasswordReset(ctx, in.Body.Email); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

func (s *Service) passwordResetConfirmOp(ctx context.Context, in *struct {
	Body identityapi.PasswordResetConfirm
}) (*tokensOutput, error) {
	out, err := s.ConfirmPasswordReset(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &tokensOutput{noStore, out}, nil
}

func (s *Service) verifyEmailOp(ctx context.Context, in *struct {
	Body identityapi.EmailVerification
}) (*struct {
	CacheControl string `header:"Cache-Control"`
	Body         identityapi.EmailVerified
}, error) {
	out, err := s.VerifyEmail(ctx, in.Body.Token)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct {
		CacheControl string `header:"Cache-Control"`
		Body         identityapi.EmailVerified
	}{noStore, out}, nil
}

func (s *Service) resendVerificationOp(ctx context.Context, _ *struct{}) (*struct {
	Body identityapi.VerificationResend
}, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	status, err := s.ResendVerification(ctx, id)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct {
		Body identityapi.VerificationResend
	}{identityapi.VerificationResend{Status: status}}, nil
}

type customerOutput struct {
	Body identityapi.Customer
}

// sessionCookieInput is the web session cookie of a request.
type sessionCookieInput struct {
	Session string `cookie:"mercato_session" maxLength:"100" doc:"The web session cookie of POST /api/v1/auth/session."`
}

type sessionLoginInput struct {
	Session string `cookie:"mercato_session" maxLength:"100" doc:"A web session cookie to replace."`
	Body    identityapi.Login
	ip      string
}

// Resolve records the client IP for the login throttle.
func (in *sessionLoginInput) Resolve(ctx huma.Context) []error {
	in.ip = clientIP(ctx)
	return nil
}

// sessionOutput answers a web session operation: the cookie to set, and
// no caching of an answer that sets one.
type sessionOutput[B any] struct {
	SetCookie    string `header:"Set-Cookie"`
	CacheControl string `header:"Cache-Control"`
	Vary         string `header:"Vary"`
	Body         B
}

func newSessionOutput[B any](c *http.Cookie, body B) *sessionOutput[B] {
	out := &sessionOutput[B]{CacheControl: noStore, Vary: "Cookie", Body: body}
	if c != nil {
		out.SetCookie = c.String()
	}
	return out
}

func (s *Service) sessionLoginOp(ctx context.Context, in *sessionLoginInput) (*sessionOutput[identityapi.Customer], error) {
	c, cookie, err := s.SessionLogin(ctx, in.Session, in.Body.Email, in.Body.Password, in.ip)
	if err != nil {
		return nil, s.problem(err)
	}
	return newSessionOutput(cookie, c), nil
}

type sessionLogoutOutput struct {
	SetCookie    string `header:"Set-Cookie"`
	CacheControl string `header:"Cache-Control"`
}

func (s *Service) sessionLogoutOp(ctx context.Context, in *sessionCookieInput) (*sessionLogoutOutput, error) {
	cookie, err := s.SessionLogout(ctx, in.Session)
	if err != nil {
		return nil, s.problem(err)
	}
	return &sessionLogoutOutput{SetCookie: cookie.String(), CacheControl: noStore}, nil
}

// me returns the signed-in customer's ID: the customer operations are
// public to the platform and only a customer has a /me.
func (s *Service) me(ctx context.Context) (string, error) {
	p, ok := auth.From(ctx)
	switch {
	case !ok:
		return "", s.problem(ErrUnauthenticated)
	case p.Kind != auth.KindCustomer:
		return "", s.problem(ErrForbidden)
	}
	return p.Subject, nil
}

func (s *Service) getMeOp(ctx context.Context, in *sessionCookieInput) (*sessionOutput[identityapi.Customer], error) {
	if _, ok := auth.From(ctx); !ok && in.Session != "" {
		c, cookie, err := s.SessionCustomer(ctx, in.Session)
		if err != nil {
			return nil, s.problem(err)
		}
		return newSessionOutput(cookie, c), nil
	}
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.Customer(ctx, id)
	if err != nil {
		return nil, s.problem(err)
	}
	return &sessionOutput[identityapi.Customer]{Body: c}, nil
}

func (s *Service) updateMeOp(ctx context.Context, in *struct{ Body identityapi.ProfileUpdate }) (*customerOutput, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.UpdateProfile(ctx, id, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &customerOutput{c}, nil
}

func (s *Service) changePasswordOp(ctx context.Context, in *changePasswordInput) (*tokensOutput, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.ChangePassword(ctx, id, in.Body, in.ip)
	if err != nil {
		return nil, s.problem(err)
	}
	return &tokensOutput{noStore, out}, nil
}

func (s *Service) listAddressesOp(ctx context.Context, _ *struct{}) (*struct{ Body identityapi.AddressList }, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.Addresses(ctx, id)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.AddressList }{out}, nil
}

func (s *Service) addAddressOp(ctx context.Context, in *struct{ Body identityapi.AddressInput }) (*struct{ Body identityapi.Address }, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.AddAddress(ctx, id, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.Address }{out}, nil
}

func (s *Service) updateAddressOp(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body identityapi.AddressUpdate
}) (*struct{ Body identityapi.Address }, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.UpdateAddress(ctx, id, in.ID, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.Address }{out}, nil
}

func (s *Service) deleteAddressOp(ctx context.Context, in *idPath) (*struct{}, error) {
	id, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.DeleteAddress(ctx, id, in.ID); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

type staffSessionOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         identityapi.StaffSession
}

func (s *Service) staffLoginOp(ctx context.Context, in *loginInput) (*staffSessionOutput, error) {
	out, err := s.StaffLogin(ctx, in.Body.Email, in.Body.Password, in.ip)
	if err != nil {
		return nil, s.problem(err)
	}
	return &staffSessionOutput{noStore, out}, nil
}

func (s *Service) acceptInvitationOp(ctx context.Context, in *struct{ Body identityapi.InvitationAccept }) (*staffSessionOutput, error) {
	out, err := s.AcceptInvitation(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &staffSessionOutput{noStore, out}, nil
}

func (s *Service) inviteOp(ctx context.Context, in *struct{ Body identityapi.InvitationCreate }) (*struct {
	CacheControl string `header:"Cache-Control"`
	Body         identityapi.Invitation
}, error) {
	p, err := actor(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	out, err := s.Invite(ctx, p, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct {
		CacheControl string `header:"Cache-Control"`
		Body         identityapi.Invitation
	}{noStore, out}, nil
}

func (s *Service) listStaffOp(ctx context.Context, _ *struct{}) (*struct{ Body identityapi.StaffList }, error) {
	out, err := s.ListStaff(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.StaffList }{out}, nil
}

func (s *Service) changeRoleOp(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body identityapi.RoleChange
}) (*struct{ Body identityapi.Staff }, error) {
	p, err := actor(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	out, err := s.ChangeRole(ctx, p, in.ID, in.Body.Role)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.Staff }{out}, nil
}

func (s *Service) deactivateOp(ctx context.Context, in *idPath) (*struct{ Body identityapi.Staff }, error) {
	p, err := actor(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	out, err := s.Deactivate(ctx, p, in.ID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.Staff }{out}, nil
}

func (s *Service) rotateKeysOp(ctx context.Context, _ *struct{}) (*struct{ Body identityapi.SigningKey }, error) {
	kid, at, err := s.RotateKey(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.SigningKey }{identityapi.SigningKey{Kid: kid, CreatedAt: at.UTC()}}, nil
}

func (s *Service) createOwnerOp(ctx context.Context, in *struct{ Body identityapi.OwnerCreate }) (*staffSessionOutput, error) {
	out, err := s.CreateOwner(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &staffSessionOutput{noStore, out}, nil
}

func (s *Service) ownerExistsOp(ctx context.Context, _ *struct{}) (*struct{ Body identityapi.OwnerExists }, error) {
	ok, err := s.OwnerExists(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.OwnerExists }{identityapi.OwnerExists{Exists: ok}}, nil
}

func (s *Service) getCustomerOp(ctx context.Context, in *idPath) (*customerOutput, error) {
	p, err := actor(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	c, err := s.Customer(ctx, in.ID)
	if err != nil {
		return nil, s.problem(err)
	}
	// The list's rule: only those who may see personal data see it.
	if !MaySeePersonalData(p) {
		c = maskCustomer(c)
	}
	return &customerOutput{c}, nil
}

func (s *Service) getStaffOp(ctx context.Context, in *idPath) (*struct{ Body identityapi.Staff }, error) {
	m, err := s.Staff(ctx, in.ID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body identityapi.Staff }{m}, nil
}

// problems maps the service's errors to problem answers: the one place,
// with problem for the errors whose answer carries their data. Refused
// input (*kit.ValidationError) is answered 422 validation_failed unless
// the table maps its Err. Anything else is returned as it is: the
// platform answers it with a bare 500 and logs the cause once, at the
// edge.
var problems = kit.Problems{
	{Err: ErrWeakPassword, Status: http.StatusUnprocessableEntity, Code: "weak_password", Detail: "the password is too weak"},
	{Err: ErrInvalidEmail, Status: http.StatusUnprocessableEntity, Code: "invalid_email", Detail: "the email address is not valid"},
	{Err: ErrLimitsUnavailable, Status: http.StatusServiceUnavailable, Code: "plan_limits_unavailable", Detail: "the store's plan limits cannot be read right now; nothing was written, retry shortly"},
	{Err: ErrInvalidCredentials, Status: http.StatusUnauthorized, Code: "invalid_credentials", Detail: "wrong email or password"},
	{Err: ErrRefreshTokenReused, Status: http.StatusUnauthorized, Code: "refresh_token_reused", Detail: "this refresh token was already used; the session is revoked, log in again"},
	{Err: ErrInvalidRefreshToken, Status: http.StatusUnauthorized, Code: "invalid_refresh_token", Detail: "the refresh token is unknown, expired or revoked"},
	{Err: ErrUnauthenticated, Status: http.StatusUnauthorized, Code: "unauthorized", Detail: "a valid access token of this store is required"},
	{Err: ErrForbidden, Status: http.StatusForbidden, Code: "forbidden", Detail: "your role does not allow this"},
	{Err: ErrEmailTaken, Status: http.StatusConflict, Code: "email_taken", Detail: "an account with this email already exists"},
	{Err: ErrOwnerExists, Status: http.StatusConflict, Code: "owner_exists", Detail: "the store already has an owner"},
	{Err: ErrLastOwner, Status: http.StatusConflict, Code: "last_owner", Detail: "the store must keep an active owner; promote another owner first"},
	{Err: ErrTooManyAddresses, Status: http.StatusConflict, Code: "too_many_addresses", Detail: "the address book is full; delete an address first"},
	{Err: ErrInvalidResetToken, Status: http.StatusUnprocessableEntity, Code: "invalid_reset_token", Detail: "the reset token is unknown, used or expired"},
	{Err: ErrInvalidVerificationToken, Status: http.StatusUnprocessableEntity, Code: "invalid_verification_token", Detail: "the verification link is unknown, used or expired"},
	{Err: ErrInvalidInvitation, Status: http.StatusUnprocessableEntity, Code: "invalid_invitation", Detail: "the invitation is unknown, used or expired"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "account_not_found", Detail: "no such account"},
	{Err: ErrAddressNotFound, Status: http.StatusNotFound, Code: "address_not_found", Detail: "no such address"},
	{Err: ErrExportNotFound, Status: http.StatusNotFound, Code: "export_not_found", Detail: "no export of yours in progress with this ID"},
	{Err: ErrSessionUnavailable, Status: http.StatusServiceUnavailable, Code: "session_unavailable", Detail: "sessions are unavailable; retry shortly"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "a concurrent change got there first; retry"},
}

// problem maps a service error to its problem answer: a login throttled
// (with Retry-After) and a plan limit reached (with the limit) here, the
// rest by problems.
func (s *Service) problem(err error) error {
	var te *ThrottledError
	if errors.As(err, &te) {
		return huma.ErrorWithHeaders(
			web.Error(http.StatusTooManyRequests, "too_many_attempts", "too many failed attempts; retry later"),
			http.Header{"Retry-After": {strconv.Itoa(te.RetryAfterSeconds())}})
	}
	var le *tenantapi.LimitError
	if errors.As(err, &le) {
		return web.Error(le.Status(), tenantapi.LimitCode, le.Error()+"; deactivate staff or upgrade the plan")
	}
	return problems.Map(err)
}
