// Package identityapi is the identity service's contract: the request and
// response bodies of its REST operations, the payloads of the events it
// publishes, and a typed client for other services (the tenant service
// creates a store's first owner through it; the platform asks whether a
// store has an owner yet) and for the web UI (sign-in, accounts, staff).
//
// Fields are only ever added.
package identityapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Source is the service name events carry.
const Source = "identity"

// Event subjects (and types) the identity service publishes.
const (
	SubjectCustomerRegistered     = "identity.customer_registered.v1"
	SubjectPasswordResetRequested = "identity.password_reset_requested.v1"
	// SubjectEmailVerificationRequested asks the notify service to mail a
	// customer the link that proves they own their address.
	SubjectEmailVerificationRequested = "identity.email_verification_requested.v1"
	// SubjectCustomerEmailVerified: the customer proved the address (the
	// order service claims the guest orders of that address on it).
	SubjectCustomerEmailVerified = "identity.customer_email_verified.v1"
	SubjectStaffInvited          = "identity.staff_invited.v1"
	SubjectStaffRoleChanged      = "identity.staff_role_changed.v1"
	SubjectStaffDeactivated      = "identity.staff_deactivated.v1"
)

// Limits of the contract, also enforced by the service.
const (
	// MinPasswordLength and MaxPasswordLength bound a password, in characters.
	MinPasswordLength = 10
	MaxPasswordLength = 128
	// MaxNameLength bounds a person's name, in characters.
	MaxNameLength = 100
	// MaxEmailLength bounds an email address, in bytes (RFC 5321).
	MaxEmailLength = 254
	// MaxAddresses bounds a customer's address book.
	MaxAddresses = 20
)

// TokenType is the token_type of every token answer.
const TokenType = "Bearer"

// Staff account statuses.
const (
	StatusActive      = "active"
	StatusDeactivated = "deactivated"
)

// Reasons of a 422 weak_password, in the problem's first field error.
const (
	WeakTooShort    = "too_short"
	WeakTooLong     = "too_long"
	WeakTooCommon   = "too_common"
	WeakSameAsEmail = "same_as_email"
)

// Client errors: each matches (with errors.Is) the client's error for the
// problem named in its text; the *apiclient.Error stays in the chain.
var (
	// ErrOwnerExists is a 409 owner_exists: the store already has an owner.
	ErrOwnerExists = errors.New("identityapi: the store already has an owner")
	// ErrEmailTaken is a 409 email_taken: a staff email already in use (an
	// owner or invitation). Customer registration never answers it.
	ErrEmailTaken = errors.New("identityapi: email already registered")
	// ErrWeakPassword is a 422 weak_password.
	ErrWeakPassword = errors.New("identityapi: weak password")
	// ErrNotFound is a 404.
	ErrNotFound = errors.New("identityapi: not found")
	// ErrInvalidCredentials is a 401 invalid_credentials: a wrong email or
	// password (the answer does not tell which).
	ErrInvalidCredentials = errors.New("identityapi: wrong email or password")
	// ErrInvalidToken is a 422 invalid_reset_token or
	// invalid_verification_token: the token of a reset or verification
	// link is unknown, used already or expired.
	ErrInvalidToken = errors.New("identityapi: invalid, used or expired token")
	// ErrInvalidRefreshToken is a 401 invalid_refresh_token or
	// refresh_token_reused: the refresh token no longer works (unknown,
	// expired, revoked, or used already), and the person signs in again.
	ErrInvalidRefreshToken = errors.New("identityapi: invalid refresh token")
)

// Tokens are what a successful login, registration or refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token" doc:"Short-lived EdDSA JWT; send as Authorization: Bearer."`
	RefreshToken string `json:"refresh_token" doc:"Opaque one-time token for POST .../refresh; a used one revokes its whole family."`
	TokenType    string `json:"token_type" example:"Bearer"`
	ExpiresIn    int64  `json:"expires_in" doc:"Seconds until the access token expires." example:"900"`
}

// Customer is a customer account.
type Customer struct {
	ID    string `json:"id" format:"uuid"`
	Email string `json:"email" doc:"Lowercased email address." example:"ada@example.com"`
	Name  string `json:"name" doc:"Stored as given; render it escaped." example:"Ada Lovelace"`
	Phone string `json:"phone" example:"+44 20 7946 0000"`
	// EmailVerified tells whether the customer proved they own the
	// address (POST /api/v1/auth/verify-email); EmailVerifiedAt is when.
	EmailVerified   bool       `json:"email_verified" doc:"Whether the customer confirmed the address with the link of the verification email."`
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty" doc:"When the address was confirmed; absent until then."`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Register is the body of POST /api/v1/auth/register.
type Register struct {
	Email    string `json:"email" minLength:"3" maxLength:"254" example:"ada@example.com"`
	Password string `json:"password" maxLength:"128" doc:"10 to 128 characters; not a common password; not the email." example:"correct horse battery staple"`
	Name     string `json:"name" minLength:"1" maxLength:"100" doc:"Any text without control characters." example:"Ada Lovelace"`
}

// Registration is the answer of POST /api/v1/auth/register (202). It is
// the same whether the address was new or already had an account in the
// store, so that nobody learns from it who the store's customers are: the
// new customer signs in next with POST /api/v1/auth/login.
type Registration struct {
	Status string `json:"status" enum:"accepted" doc:"Always accepted."`
	Detail string `json:"detail" doc:"What happens next, for people." example:"If this address had no account in the store, it has one now: sign in with POST /api/v1/auth/login."`
}

// RegistrationAccepted is the one answer of a registration.
var RegistrationAccepted = Registration{
	Status: "accepted",
	Detail: "If this address had no account in the store, it has one now: sign in with POST /api/v1/auth/login.",
}

// Login is the body of POST /api/v1/auth/login and /api/v1/staff/auth/login.
type Login struct {
	Email    string `json:"email" minLength:"1" maxLength:"254" example:"ada@example.com"`
	Password string `json:"password" minLength:"1" maxLength:"128"`
}

// Refresh is the body of POST /api/v1/auth/refresh and /api/v1/auth/logout.
type Refresh struct {
	RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"128"`
}

// ProfileUpdate is the body of PATCH /api/v1/me; absent fields are kept.
type ProfileUpdate struct {
	Name  *string `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Phone *string `json:"phone,omitempty" maxLength:"32" doc:"Empty clears it." example:"+44 20 7946 0000"`
}

// Address is an entry of a customer's address book.
type Address struct {
	ID         string    `json:"id" format:"uuid"`
	Name       string    `json:"name" example:"Ada Lovelace"`
	Line1      string    `json:"line1" example:"12 St James's Square"`
	Line2      string    `json:"line2"`
	City       string    `json:"city" example:"London"`
	Region     string    `json:"region"`
	PostalCode string    `json:"postal_code" example:"SW1Y 4JH"`
	Country    string    `json:"country" doc:"ISO 3166-1 alpha-2." example:"GB"`
	Phone      string    `json:"phone"`
	IsDefault  bool      `json:"is_default"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// AddressInput is the body of POST /api/v1/me/addresses.
type AddressInput struct {
	Name       string `json:"name" minLength:"1" maxLength:"100"`
	Line1      string `json:"line1" minLength:"1" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" minLength:"1" maxLength:"100"`
	Region     string `json:"region,omitempty" maxLength:"100"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20" pattern:"^([A-Za-z0-9]+([ -][A-Za-z0-9]+)*)?$" doc:"Letters and digits, with single spaces or dashes between them."`
	Country    string `json:"country" minLength:"2" maxLength:"2" pattern:"^[A-Z]{2}$" doc:"ISO 3166-1 alpha-2 country code, uppercase." example:"GB"`
	Phone      string `json:"phone,omitempty" maxLength:"32"`
	IsDefault  bool   `json:"is_default,omitempty" doc:"Make it the default address (the previous default is no longer)."`
}

// AddressUpdate is the body of PATCH /api/v1/me/addresses/{id}; absent
// fields are kept.
type AddressUpdate struct {
	Name       *string `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Line1      *string `json:"line1,omitempty" minLength:"1" maxLength:"200"`
	Line2      *string `json:"line2,omitempty" maxLength:"200"`
	City       *string `json:"city,omitempty" minLength:"1" maxLength:"100"`
	Region     *string `json:"region,omitempty" maxLength:"100"`
	PostalCode *string `json:"postal_code,omitempty" maxLength:"20" pattern:"^([A-Za-z0-9]+([ -][A-Za-z0-9]+)*)?$" doc:"Letters and digits, with single spaces or dashes between them."`
	Country    *string `json:"country,omitempty" minLength:"2" maxLength:"2" pattern:"^[A-Z]{2}$"`
	Phone      *string `json:"phone,omitempty" maxLength:"32"`
	IsDefault  *bool   `json:"is_default,omitempty"`
}

// AddressList is a customer's address book, default first.
type AddressList struct {
	Items []Address `json:"items"`
}

// PasswordChange is the body of POST /api/v1/me/password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password" minLength:"1" maxLength:"128"`
	NewPassword     string `json:"new_password" maxLength:"128"`
}

// PasswordReset is the body of POST /api/v1/auth/password-reset.
type PasswordReset struct {
	Email string `json:"email" minLength:"1" maxLength:"254"`
}

// PasswordResetConfirm is the body of POST /api/v1/auth/password-reset/confirm.
type PasswordResetConfirm struct {
	Token       string `json:"token" minLength:"1" maxLength:"128"`
	NewPassword string `json:"new_password" maxLength:"128"`
}

// EmailVerification is the body of POST /api/v1/auth/verify-email.
type EmailVerification struct {
	Token string `json:"token" minLength:"1" maxLength:"128" doc:"The token of the verification email's link."`
}

// EmailVerified is the answer of POST /api/v1/auth/verify-email.
type EmailVerified struct {
	Email      string    `json:"email" example:"ada@example.com"`
	VerifiedAt time.Time `json:"verified_at"`
}

// Outcomes of POST /api/v1/auth/verify-email/resend.
const (
	// ResendSent: a new verification email is on its way.
	ResendSent = "sent"
	// ResendRecentlySent: one was sent moments ago (or too many lately);
	// nothing new is sent, the last link still works.
	ResendRecentlySent = "recently_sent"
	// ResendAlreadyVerified: the address is verified; nothing is sent.
	ResendAlreadyVerified = "already_verified"
)

// VerificationResend is the answer of POST /api/v1/auth/verify-email/resend.
type VerificationResend struct {
	Status string `json:"status" enum:"sent,recently_sent,already_verified" doc:"sent: a new email is on its way; recently_sent: one was sent moments ago, nothing new is sent; already_verified: nothing to do."`
}

// Staff is a staff account.
type Staff struct {
	ID        string    `json:"id" format:"uuid"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role" enum:"owner,manager,staff,support"`
	Status    string    `json:"status" enum:"active,deactivated"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StaffList is a store's staff, oldest first.
type StaffList struct {
	Items []Staff `json:"items"`
}

// StaffSession is the answer of an accepted invitation or a staff login.
type StaffSession struct {
	Staff Staff `json:"staff"`
	Tokens
}

// InvitationCreate is the body of POST /api/v1/admin/staff/invitations.
type InvitationCreate struct {
	Email string `json:"email" minLength:"3" maxLength:"254"`
	Role  string `json:"role" enum:"owner,manager,staff,support"`
	Name  string `json:"name,omitempty" maxLength:"100" doc:"Suggested name; the invitee may change it on accepting."`
}

// Invitation is a pending staff invitation. Token is only in the answer
// that created it.
type Invitation struct {
	ID        string    `json:"id" format:"uuid"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Name      string    `json:"name"`
	Token     string    `json:"token,omitempty" doc:"Raw one-time token, shown once."`
	ExpiresAt time.Time `json:"expires_at"`
}

// InvitationAccept is the body of POST /api/v1/staff/invitations/accept.
type InvitationAccept struct {
	Token    string `json:"token" minLength:"1" maxLength:"128"`
	Password string `json:"password" maxLength:"128"`
	Name     string `json:"name" minLength:"1" maxLength:"100"`
}

// RoleChange is the body of PATCH /api/v1/admin/staff/accounts/{id}.
type RoleChange struct {
	Role string `json:"role" enum:"owner,manager,staff,support"`
}

// OwnerCreate is the body of POST /api/v1/admin/identity/owners: the store's
// first owner, created by the tenant service at signup.
type OwnerCreate struct {
	Email    string `json:"email" minLength:"3" maxLength:"254"`
	Password string `json:"password" maxLength:"128"`
	Name     string `json:"name" minLength:"1" maxLength:"100"`
}

// OwnerTokens is the answer of OwnerCreate: the owner's account and tokens.
type OwnerTokens = StaffSession

// OwnerExists is the answer of GET /api/v1/admin/identity/owner-exists.
type OwnerExists struct {
	Exists bool `json:"exists"`
}

// SigningKey is the answer of POST /api/v1/admin/identity/keys/rotate: the
// new active signing key.
type SigningKey struct {
	Kid       string    `json:"kid"`
	CreatedAt time.Time `json:"created_at"`
}

// CustomerRegistered is the payload of identity.customer_registered.v1
// (the order service claims guest orders by email on it).
type CustomerRegistered struct {
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
}

// PasswordResetRequested is the payload of
// identity.password_reset_requested.v1. Token is the raw one-time reset
// token: the notification service mails it and must never log it.
type PasswordResetRequested struct {
	CustomerID string    `json:"customer_id"`
	Email      string    `json:"email"`
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// EmailVerificationRequested is the payload of
// identity.email_verification_requested.v1. Token is the raw one-time
// verification token: the notify service mails it in a link to the store's
// /account/verify-email?token=… page and must never log it.
type EmailVerificationRequested struct {
	CustomerID string    `json:"customer_id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// CustomerEmailVerified is the payload of identity.customer_email_verified.v1.
type CustomerEmailVerified struct {
	CustomerID string    `json:"customer_id"`
	Email      string    `json:"email"`
	VerifiedAt time.Time `json:"verified_at"`
}

// EmailKey is an email as identity keys customer accounts (trimmed,
// lowercased): what services match guest orders against.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// DecodeEmailVerified reads the data of an event of type typ for the
// consumers that give a customer their guest orders on
// identity.customer_email_verified.v1 (order, review, invoice): ok is
// false for another type (a registration still routed to a group by a
// broker's old binding), which they skip; an error is data no retry mends
// (undecodable, or without a customer or an email). email is the address's
// EmailKey.
func DecodeEmailVerified(typ string, data []byte) (v CustomerEmailVerified, email string, ok bool, err error) {
	if typ != SubjectCustomerEmailVerified {
		return v, "", false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, "", true, err
	}
	email = EmailKey(v.Email)
	if strings.TrimSpace(v.CustomerID) == "" || email == "" {
		return v, "", true, fmt.Errorf("verification without customer_id or email")
	}
	return v, email, true, nil
}

// StaffInvited is the payload of identity.staff_invited.v1. Token is the
// raw invitation token, for the invitation email.
type StaffInvited struct {
	InvitationID string    `json:"invitation_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Token        string    `json:"token"`
	ExpiresAt    time.Time `json:"expires_at"`
	InvitedBy    string    `json:"invited_by"`
}

// StaffRoleChanged is the payload of identity.staff_role_changed.v1.
type StaffRoleChanged struct {
	StaffID string `json:"staff_id"`
	Email   string `json:"email"`
	OldRole string `json:"old_role"`
	NewRole string `json:"new_role"`
}

// StaffDeactivated is the payload of identity.staff_deactivated.v1.
type StaffDeactivated struct {
	StaffID string `json:"staff_id"`
	Email   string `json:"email"`
}

// CustomerImport is the body of POST /api/v1/admin/customers/import: a
// customer account created or brought up to date by email, as a CSV
// import does, without a password.
type CustomerImport struct {
	Email string `json:"email" minLength:"3" maxLength:"254" doc:"The account's key: an existing account with this email is updated." example:"ada@example.com"`
	Name  string `json:"name" minLength:"1" maxLength:"100" example:"Ada Lovelace"`
	// Phone absent keeps the account's phone (a file without a phone
	// column); empty clears it.
	Phone *string `json:"phone,omitempty" maxLength:"40" doc:"Absent keeps the account's phone; empty clears it." example:"+44 20 7946 0000"`
	// Invite sends a new account a password reset link, so that the
	// customer can choose a password; without it the customer can ask for
	// one on the sign-in page.
	Invite bool `json:"invite,omitempty" doc:"Email a new account a link to set its password (the password reset flow)."`
	// DryRun says what the import would do, changing nothing.
	DryRun bool `json:"dry_run,omitempty" doc:"Answer what the import would do without doing it."`
}

// CustomerImported answers a customer import.
type CustomerImported struct {
	Customer Customer `json:"customer"`
	Outcome  string   `json:"outcome" enum:"created,updated,unchanged" doc:"What the import did (or, on a dry run, would do)."`
}

// CustomerList is a page of the store's customers, as staff see them.
type CustomerList struct {
	Items      []Customer `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next page; absent on the last page."`
	// Masked is true when the caller's role may not see customers'
	// personal data: emails, names and phone numbers are then masked.
	Masked bool `json:"masked" doc:"Whether emails, names and phones are masked: only owners, managers and the admin token see them."`
}

// ExportRecord is the body of POST /api/v1/admin/exports: a CSV export,
// for the audit log. Who ran it is the caller. An export records itself
// before its first row with InProgress, then finishes the entry with its
// row count (ExportFinish).
type ExportRecord struct {
	Kind   string `json:"kind" enum:"products,customers,orders,stock" doc:"What was exported."`
	Rows   int64  `json:"rows" minimum:"0" doc:"How many data rows the file has (0 while in progress)."`
	Masked bool   `json:"masked" doc:"Whether personal data went out masked."`
	Via    string `json:"via" enum:"cli,admin" doc:"What ran the export: mercato export, or the admin's Import / export page."`
	// InProgress records an export about to write its first row: the
	// rows are set at its end by POST /api/v1/admin/exports/{id}/finish.
	InProgress bool `json:"in_progress,omitempty" doc:"The export is starting: finish the entry with its row count at the end."`
}

// ExportFinish is the body of POST /api/v1/admin/exports/{id}/finish:
// the row count of an export recorded in progress.
type ExportFinish struct {
	Rows int64 `json:"rows" minimum:"0" doc:"How many data rows went out."`
}

// ExportAudit is one entry of the export audit log.
type ExportAudit struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Rows      int64     `json:"rows"`
	Masked    bool      `json:"masked"`
	ActorKind string    `json:"actor_kind" enum:"staff,api_key,admin" doc:"A staff account, an API key, or the deployment's admin token."`
	ActorID   string    `json:"actor_id,omitempty" doc:"The staff account or API key; absent for the admin token."`
	ActorRole string    `json:"actor_role,omitempty"`
	Via       string    `json:"via"`
	At        time.Time `json:"at"`
	// InProgress is an export that has not said how many rows went out:
	// running, or stopped without finishing its entry.
	InProgress bool `json:"in_progress" doc:"The export has not finished its entry: running, or stopped short (rows unknown)."`
}

// ExportAuditList is a page of the export audit log, newest first.
type ExportAuditList struct {
	Items      []ExportAudit `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next (older) page; absent on the last page."`
}
