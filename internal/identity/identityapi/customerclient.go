package identityapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// The customer's operations: registration and sign-in, and (with the
// customer's access token in ctx, apiclient.WithToken) the profile and
// address book under /api/v1/me.

// Register creates a customer account (POST /api/v1/auth/register). The
// answer is the same whether the address was new or had an account in the
// store already (nothing tells them apart): sign in next with Login. A weak
// password is ErrWeakPassword.
func (c *Client) Register(ctx context.Context, r Register) (Registration, error) {
	var out Registration
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/auth/register", Body: r, Out: &out})
	if err != nil {
		return Registration{}, mapError(err)
	}
	return out, nil
}

// Login exchanges a customer's email and password for tokens
// (POST /api/v1/auth/login). A wrong email or password is
// ErrInvalidCredentials; too many failed attempts a 429 too_many_attempts.
func (c *Client) Login(ctx context.Context, l Login) (Tokens, error) {
	return c.tokens(ctx, "/api/v1/auth/login", l)
}

// Refresh exchanges a refresh token, a customer's or a staff member's, for
// new tokens (POST /api/v1/auth/refresh). The token sent is used up: it is
// never retried, since a repeat of a used token revokes its whole session.
// An unknown, expired, revoked or reused token is ErrInvalidRefreshToken.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	return c.tokens(ctx, "/api/v1/auth/refresh", Refresh{RefreshToken: refreshToken})
}

// Logout revokes the session of a refresh token, a customer's or a staff
// member's (POST /api/v1/auth/logout). Access tokens already issued stay
// valid until they expire.
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Body: Refresh{RefreshToken: refreshToken}, Idempotent: true})
	return mapError(err)
}

// Me returns the signed-in customer's profile (GET /api/v1/me).
func (c *Client) Me(ctx context.Context) (Customer, error) {
	var out Customer
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: mePath, Out: &out})
	if err != nil {
		return Customer{}, mapError(err)
	}
	return out, nil
}

// UpdateMe changes the signed-in customer's name or phone
// (PATCH /api/v1/me); nil fields stay.
func (c *Client) UpdateMe(ctx context.Context, u ProfileUpdate) (Customer, error) {
	var out Customer
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: mePath, Body: u, Out: &out, Idempotent: true})
	if err != nil {
		return Customer{}, mapError(err)
	}
	return out, nil
}

// ChangePassword changes the signed-in customer's password
// (POST /api/v1/me/password). Every session of the account is revoked, and
// the answer is new tokens. A wrong current password is
// ErrInvalidCredentials, a weak new one ErrWeakPassword.
func (c *Client) ChangePassword(ctx context.Context, p PasswordChange) (Tokens, error) {
	return c.tokens(ctx, mePath+"/password", p)
}

// Addresses returns the signed-in customer's address book, the default
// address first (GET /api/v1/me/addresses).
func (c *Client) Addresses(ctx context.Context) (AddressList, error) {
	var out AddressList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: addressesPath, Out: &out})
	if err != nil {
		return AddressList{}, mapError(err)
	}
	return out, nil
}

// AddAddress adds an address to the signed-in customer's book
// (POST /api/v1/me/addresses); a full book is a 409 too_many_addresses. A
// non-empty idempotencyKey makes a retried request add it once.
func (c *Client) AddAddress(ctx context.Context, a AddressInput, idempotencyKey string) (Address, error) {
	var out Address
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: addressesPath, Body: a, Out: &out, IdempotencyKey: idempotencyKey})
	if err != nil {
		return Address{}, mapError(err)
	}
	return out, nil
}

// UpdateAddress changes one of the signed-in customer's addresses
// (PATCH /api/v1/me/addresses/{id}); nil fields stay. An address of no
// one's or another's is ErrNotFound.
func (c *Client) UpdateAddress(ctx context.Context, id string, u AddressUpdate) (Address, error) {
	var out Address
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: addressesPath + "/" + url.PathEscape(id), Body: u, Out: &out, Idempotent: true})
	if err != nil {
		return Address{}, mapError(err)
	}
	return out, nil
}

// DeleteAddress removes one of the signed-in customer's addresses
// (DELETE /api/v1/me/addresses/{id}); ErrNotFound if the book has none with
// id.
func (c *Client) DeleteAddress(ctx context.Context, id string) error {
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: addressesPath + "/" + url.PathEscape(id)})
	return mapError(err)
}

// RequestPasswordReset asks for a password reset email to the address
// (POST /api/v1/auth/password-reset). The answer is the same whether or
// not the address has an account in the store.
func (c *Client) RequestPasswordReset(ctx context.Context, email string) error {
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/auth/password-reset", Body: PasswordReset{Email: email}})
	return mapError(err)
}

// ConfirmPasswordReset sets a new password with the token of a reset
// email (POST /api/v1/auth/password-reset/confirm) and answers the
// customer's new tokens. A used, expired or unknown token is
// ErrInvalidToken, a weak password ErrWeakPassword (the token stays
// usable). It is not retried: the token is single use.
func (c *Client) ConfirmPasswordReset(ctx context.Context, p PasswordResetConfirm) (Tokens, error) {
	return c.tokens(ctx, "/api/v1/auth/password-reset/confirm", p)
}

// VerifyEmail confirms a customer's address with the token of the
// verification email (POST /api/v1/auth/verify-email). A used, expired or
// unknown token is ErrInvalidToken.
func (c *Client) VerifyEmail(ctx context.Context, token string) (EmailVerified, error) {
	var out EmailVerified
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: verifyPath, Body: EmailVerification{Token: token}, Out: &out})
	if err != nil {
		return EmailVerified{}, mapError(err)
	}
	return out, nil
}

// ResendVerification sends the signed-in customer a new verification
// email (POST /api/v1/auth/verify-email/resend) and returns what happened:
// ResendSent, ResendRecentlySent or ResendAlreadyVerified. A repeat sends
// nothing more (ResendRecentlySent), so it is retried.
func (c *Client) ResendVerification(ctx context.Context) (string, error) {
	var out VerificationResend
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: verifyPath + "/resend", Out: &out, Idempotent: true})
	if err != nil {
		return "", mapError(err)
	}
	return out.Status, nil
}

const (
	verifyPath    = "/api/v1/auth/verify-email"
	mePath        = "/api/v1/me"
	addressesPath = mePath + "/addresses"
)

// tokens makes a POST answered with tokens.
func (c *Client) tokens(ctx context.Context, path string, body any) (Tokens, error) {
	var out Tokens
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: path, Body: body, Out: &out})
	if err != nil {
		return Tokens{}, mapError(err)
	}
	return out, nil
}
