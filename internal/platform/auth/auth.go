// Package auth is who is calling: the principal of a request (a staff
// member with a role, a customer, an API key, or the deployment's admin
// token), carried in the context, and the access tokens that prove it.
//
// Access tokens are short-lived JWTs signed with Ed25519 (EdDSA) by the
// identity service, which publishes its public keys as a JWK set at
// /.well-known/jwks.json. Every process verifies tokens with those keys:
// only EdDSA is accepted, and issuer, audience and expiry are required.
// The tenant in a token must be the tenant of the request it comes with.
package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Kind is what sort of principal a request has.
type Kind string

// The kinds of principal.
const (
	// KindStaff is a staff account of the store, with a Role.
	KindStaff Kind = "staff"
	// KindCustomer is a customer account of the store.
	KindCustomer Kind = "customer"
	// KindAPIKey is a store's API key; Role says publishable or secret.
	KindAPIKey Kind = "api_key"
	// KindAdmin is the deployment's admin token: the bootstrap credential,
	// and what services use to call each other.
	KindAdmin Kind = "admin"
)

// Role is what a staff member (or API key) may do.
type Role string

// Staff roles, most powerful first, and the API key roles.
const (
	RoleOwner   Role = "owner"
	RoleManager Role = "manager"
	RoleStaff   Role = "staff"
	RoleSupport Role = "support"

	// RolePublishable is an API key for storefront clients: what an
	// anonymous visitor may do.
	RolePublishable Role = "publishable"
	// RoleSecret is an API key for server integrations: what a manager may do.
	RoleSecret Role = "secret"
)

// StaffRoles lists the staff roles, most powerful first.
var StaffRoles = []Role{RoleOwner, RoleManager, RoleStaff, RoleSupport}

// ValidStaffRole reports whether r is a staff role.
func ValidStaffRole(r Role) bool { return slices.Contains(StaffRoles, r) }

// Principal is who made a request.
type Principal struct {
	// Tenant is the store the principal belongs to ("" for KindAdmin,
	// which is valid in every store).
	Tenant string
	// Subject is the account or API key ID ("admin" for KindAdmin).
	Subject string
	Kind    Kind
	// Role is the staff or API key role; empty for customers.
	Role Role
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, &p)
}

// WithoutPrincipal returns ctx with no principal, whatever its parent
// carried: a request served in process on the context of another must not
// inherit the other's caller.
func WithoutPrincipal(ctx context.Context) context.Context {
	if _, ok := From(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, principalKey{}, (*Principal)(nil))
}

// From returns the context's principal; ok is false for anonymous requests.
func From(ctx context.Context) (p Principal, ok bool) {
	pp, _ := ctx.Value(principalKey{}).(*Principal)
	if pp == nil {
		return Principal{}, false
	}
	return *pp, true
}

// Token issuer and audience.
const (
	Issuer   = "mercato"
	Audience = "mercato-api"
)

// Claims are an access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	// Tenant is the store the token is valid in.
	Tenant string `json:"tid"`
	// Kind is KindStaff or KindCustomer.
	Kind Kind `json:"knd"`
	// Role is the staff role; empty for customers.
	Role Role `json:"rol,omitempty"`
}

// Errors of Verify. Every one means 401: the token proves nothing.
var (
	ErrInvalidToken = errors.New("auth: invalid access token")
	ErrUnknownKey   = errors.New("auth: access token signed with an unknown key")
	// ErrTokenExpired is an ErrInvalidToken that was good until it expired:
	// its holder should refresh it or sign in again.
	ErrTokenExpired = errors.New("auth: access token expired")
)

// Sign returns the compact JWT of c signed with key, whose ID kid goes in
// the header so verifiers pick the right public key.
func Sign(key ed25519.PrivateKey, kid string, c Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// KeySet finds verification keys by ID.
type KeySet interface {
	// Key returns the public key with ID kid, or ErrUnknownKey.
	Key(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	keys KeySet
	now  func() time.Time
}

// NewVerifier returns a verifier using keys; now may be nil (time.Now).
func NewVerifier(keys KeySet, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, now: now}
}

// Verify checks token's signature (EdDSA only, with a known key), issuer,
// audience and expiry, and returns its principal. The caller must check
// the principal's tenant against the request's.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	var c Claims
	var keyErr error
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no key ID")
		}
		k, err := v.keys.Key(ctx, kid)
		if err != nil {
			keyErr = err
			return nil, err
		}
		return k, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		if keyErr != nil && !errors.Is(keyErr, ErrUnknownKey) {
			// The key set could not be read: not the token's fault.
			return Principal{}, fmt.Errorf("auth: verification keys: %w", keyErr)
		}
		if errors.Is(err, jwt.ErrTokenExpired) {
			// Expiry is checked only once the signature holds.
			return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenExpired)
		}
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	switch {
	case c.Subject == "" || c.Tenant == "":
		return Principal{}, fmt.Errorf("%w: no subject or tenant", ErrInvalidToken)
	case c.Kind == KindStaff && !ValidStaffRole(c.Role):
		return Principal{}, fmt.Errorf("%w: staff token without a staff role", ErrInvalidToken)
	case c.Kind == KindCustomer && c.Role != "":
		return Principal{}, fmt.Errorf("%w: customer token with a role", ErrInvalidToken)
	case c.Kind != KindStaff && c.Kind != KindCustomer:
		return Principal{}, fmt.Errorf("%w: kind %q", ErrInvalidToken, c.Kind)
	}
	return Principal{Tenant: c.Tenant, Subject: c.Subject, Kind: c.Kind, Role: c.Role}, nil
}

// JWK is one public key of a JWK set (RFC 8037: an Ed25519 key is kty
// OKP, crv Ed25519, x the base64url public key).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKSet is the body of /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK returns the JWK of an Ed25519 public key.
func PublicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"}
}

// PublicKey decodes an Ed25519 JWK.
func (k JWK) PublicKey() (ed25519.PublicKey, error) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("auth: key %s is %s/%s, want OKP/Ed25519", k.Kid, k.Kty, k.Crv)
	}
	b, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("auth: key %s: malformed x", k.Kid)
	}
	return ed25519.PublicKey(b), nil
}
