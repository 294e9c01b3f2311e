package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Who may call what.
//
// Every /api/ request's credentials are turned into an auth.Principal by
// the server's Authenticator, after the tenant is known, and put in the
// request context: a staff or customer access token (a JWT of this
// tenant), a store API key, or the admin token. Credentials that prove
// nothing (a forged, expired or other store's token, an unknown key) are
// refused with 401 before any handler runs; no credentials at all make an
// anonymous request.
//
// Operations say who may call them: Public ones anyone (a handler may still
// look at the principal, as /api/v1/me does); operations marked with Admin
// or Roles the staff roles listed, always the admin token, and a secret API
// key where a manager may. The roles are written into the OpenAPI document
// as x-mercato-roles, which the authorization matrix test reads.

// RolesExtension is the OpenAPI extension listing an operation's roles.
const RolesExtension = "x-mercato-roles"

// NoAPIKeysExtension marks an operation no API key may call, whatever its
// roles (managing the keys themselves: a leaked key must not make more).
const NoAPIKeysExtension = "x-mercato-no-api-keys"

// CustomersExtension marks an operation of the signed-in customer's own
// (/api/v1/me…): only a customer of the store may call it.
const CustomersExtension = "x-mercato-customers"

// Customers marks op as one for signed-in customers only: anonymous callers
// get 401 and every other kind of caller 403, before the request is
// validated.
func Customers(op huma.Operation) huma.Operation {
	op = SignedIn(op, CustomerToken)
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions[CustomersExtension] = true
	return op
}

// NoAPIKeys marks op as closed to API keys.
func NoAPIKeys(op huma.Operation) huma.Operation {
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions[NoAPIKeysExtension] = true
	return op
}

// DefaultRoles are the staff roles of an operation marked Admin without
// Roles: everyone but support, who only reads what they are given.
var DefaultRoles = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff}

// Roles marks op as an admin operation for the given staff roles.
func Roles(op huma.Operation, roles ...auth.Role) huma.Operation {
	op = Admin(op)
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions[RolesExtension] = roles
	return op
}

// OperationRoles returns the staff roles that may call op, and whether op is
// guarded at all (marked Admin or Roles).
func OperationRoles(op *huma.Operation) (roles []auth.Role, guarded bool) {
	if !needsAdmin(op) {
		return nil, false
	}
	if r, ok := op.Extensions[RolesExtension].([]auth.Role); ok {
		return r, true
	}
	return DefaultRoles, true
}

// Allowed reports whether p may call a guarded operation open to roles
// (and to API keys unless noKeys).
func Allowed(p auth.Principal, roles []auth.Role, noKeys bool) bool {
	switch p.Kind {
	case auth.KindAdmin:
		return true
	case auth.KindStaff:
		return slices.Contains(roles, p.Role)
	case auth.KindAPIKey:
		// A secret key is a server integration acting for the store: it may
		// do what a manager may.
		return !noKeys && p.Role == auth.RoleSecret && slices.Contains(roles, auth.RoleManager)
	}
	return false
}

// Authenticator finds who made a request.
type Authenticator interface {
	// Authenticate returns the principal of r's credentials in tenant; ok
	// is false for a request without credentials. An error wrapping
	// ErrUnauthenticated means credentials that prove nothing (401); any
	// other error that they could not be checked now (503).
	Authenticate(r *http.Request, tenant string) (p auth.Principal, ok bool, err error)
}

// ErrUnauthenticated is wrapped by Authenticators for credentials that
// prove nothing.
var ErrUnauthenticated = errors.New("web: credentials not accepted")

// BearerToken returns the token of r's Authorization: Bearer header, or "".
// The scheme's name is case-insensitive (RFC 9110 11.1): "bearer" and
// "BEARER" are Bearer too.
func BearerToken(r *http.Request) string {
	scheme, t, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(t)
}

// tokenAuth accepts the admin token only: the authenticator of a server
// built without one (tests of a single service).
type tokenAuth struct{ token string }

func (a tokenAuth) Authenticate(r *http.Request, _ string) (auth.Principal, bool, error) {
	t := BearerToken(r)
	if t == "" {
		return auth.Principal{}, false, nil
	}
	if equal(t, a.token) {
		return auth.Principal{Subject: "admin", Kind: auth.KindAdmin}, true, nil
	}
	return auth.Principal{}, false, ErrUnauthenticated
}

// authenticate puts the principal of every /api/ request in its context.
// It runs after tenant resolution.
func (s *Server) authenticate(next http.Handler) http.Handler {
	a := s.deps.Auth
	if a == nil {
		a = tokenAuth{token: s.cfg.AdminToken}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request served in process carries the context of the request
		// that made it: its caller and tenant are not this request's.
		r = r.WithContext(auth.WithoutPrincipal(r.Context()))
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		tenant, err := tenancy.ID(r.Context())
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		p, ok, err := a.Authenticate(r, tenant)
		switch {
		case errors.Is(err, ErrUnauthenticated) && errors.Is(err, auth.ErrTokenExpired):
			w.Header().Set("WWW-Authenticate", `Bearer realm="mercato", error="invalid_token", error_description="the access token expired"`)
			WriteProblem(w, http.StatusUnauthorized, "token_expired", "the access token has expired: refresh it (POST /api/v1/auth/refresh) or sign in again")
			return
		case errors.Is(err, ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", `Bearer realm="mercato", error="invalid_token"`)
			WriteProblem(w, http.StatusUnauthorized, "unauthorized", "the credentials are not valid for this store")
			return
		case err != nil:
			if ri := infoFrom(r.Context()); ri != nil {
				ri.setErr(err)
			}
			WriteProblem(w, http.StatusServiceUnavailable, "auth_unavailable", "credentials cannot be checked right now; retry shortly")
			return
		case ok && p.Kind != auth.KindAdmin && p.Tenant != tenant:
			// Authenticators check this too; a principal of another store
			// must never reach a handler.
			WriteProblem(w, http.StatusUnauthorized, "unauthorized", "the credentials are not valid for this store")
			return
		case ok:
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// authorize enforces the roles of operations marked Admin or Roles.
func (s *Server) authorize(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if only, _ := ctx.Operation().Extensions[CustomersExtension].(bool); only {
			switch p, ok := auth.From(ctx.Context()); {
			case !ok:
				ctx.SetHeader("WWW-Authenticate", `Bearer realm="mercato"`)
				_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "sign in as a customer of this store")
			case p.Kind != auth.KindCustomer:
				_ = huma.WriteErr(api, ctx, http.StatusForbidden, "only customers have this")
			default:
				next(ctx)
			}
			return
		}
		roles, guarded := OperationRoles(ctx.Operation())
		if !guarded {
			next(ctx)
			return
		}
		p, ok := auth.From(ctx.Context())
		if !ok {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="mercato"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "sign in: a staff access token, a secret API key or the admin token is required")
			return
		}
		noKeys, _ := ctx.Operation().Extensions[NoAPIKeysExtension].(bool)
		if !Allowed(p, roles, noKeys) {
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, "your role may not do this")
			return
		}
		next(ctx)
	}
}

// APIKeyResolver finds the store and role of an API key.
type APIKeyResolver interface {
	// ResolveAPIKey returns the key's tenant, ID and role ("publishable" or
	// "secret"); an unknown or revoked key is an error wrapping
	// ErrUnauthenticated.
	ResolveAPIKey(r *http.Request, key string) (tenant, id string, role auth.Role, err error)
}

// OwnerChecker tells whether a store has an owner account yet.
type OwnerChecker interface {
	// HasOwner reports whether tenant has an owner.
	HasOwner(r *http.Request, tenant string) (bool, error)
}

// AuthConfig is what NewAuthenticator accepts.
type AuthConfig struct {
	// AdminToken is the deployment's admin token.
	AdminToken string
	// AdminTokenRetires makes the admin token stop working in a store
	// once the store has an owner (Owners says): a token generated at
	// first start is for bootstrapping, not for ever. An admin token set
	// explicitly by the operator does not retire.
	AdminTokenRetires bool
	Owners            OwnerChecker
	// ServiceToken is what services present to each other; it never
	// retires and is never shown.
	ServiceToken string
	// Verifier checks staff and customer access tokens; nil refuses them.
	Verifier *auth.Verifier
	// APIKeys resolves store API keys; nil refuses them.
	APIKeys APIKeyResolver
}

// ServiceSubject is the Subject of the principal of a request made with
// the deployment's service token (of Kind auth.KindAdmin).
const ServiceSubject = "service"

// IsService reports whether p is the deployment's service token: the
// request came from one of the deployment's own processes, which may vouch
// for what only they know (the address of the browser a page served).
func IsService(p auth.Principal) bool {
	return p.Kind == auth.KindAdmin && p.Subject == ServiceSubject
}

// APIKeyHeader carries a store API key (Authorization: Bearer pk_… works too).
const APIKeyHeader = "X-Mercato-Api-Key"

// NewAuthenticator returns the platform's Authenticator: access tokens,
// API keys (header or bearer), the service token and the admin token.
func NewAuthenticator(c AuthConfig) Authenticator { return &authenticator{c: c} }

type authenticator struct {
	c AuthConfig
	// owned caches the stores known to have an owner: owners are never
	// removed (the last one cannot be demoted or deactivated).
	owned sync.Map
}

func (a *authenticator) Authenticate(r *http.Request, tenant string) (auth.Principal, bool, error) {
	key := r.Header.Get(APIKeyHeader)
	bearer := BearerToken(r)
	if key == "" && looksLikeAPIKey(bearer) {
		key = bearer
	}
	switch {
	case key != "":
		return a.apiKey(r, tenant, key)
	case bearer == "":
		return auth.Principal{}, false, nil
	case strings.Count(bearer, ".") == 2:
		if a.c.Verifier == nil {
			return auth.Principal{}, false, fmt.Errorf("%w: access tokens are not accepted here", ErrUnauthenticated)
		}
		p, err := a.c.Verifier.Verify(r.Context(), bearer)
		if errors.Is(err, auth.ErrInvalidToken) {
			return auth.Principal{}, false, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
		}
		if err != nil {
			return auth.Principal{}, false, err
		}
		if p.Tenant != tenant {
			return auth.Principal{}, false, fmt.Errorf("%w: a token of store %s", ErrUnauthenticated, p.Tenant)
		}
		return p, true, nil
	case equal(bearer, a.c.ServiceToken):
		return auth.Principal{Subject: ServiceSubject, Kind: auth.KindAdmin}, true, nil
	case equal(bearer, a.c.AdminToken):
		if a.c.AdminTokenRetires && a.c.Owners != nil {
			if _, ok := a.owned.Load(tenant); ok {
				return auth.Principal{}, false, fmt.Errorf("%w: the bootstrap admin token is retired in this store: sign in as its owner", ErrUnauthenticated)
			}
			has, err := a.c.Owners.HasOwner(r, tenant)
			if err != nil {
				return auth.Principal{}, false, err
			}
			if has {
				a.owned.Store(tenant, true)
				return auth.Principal{}, false, fmt.Errorf("%w: the bootstrap admin token is retired in this store: sign in as its owner", ErrUnauthenticated)
			}
		}
		return auth.Principal{Subject: "admin", Kind: auth.KindAdmin}, true, nil
	}
	return auth.Principal{}, false, ErrUnauthenticated
}

func (a *authenticator) apiKey(r *http.Request, tenant, key string) (auth.Principal, bool, error) {
	if a.c.APIKeys == nil {
		return auth.Principal{}, false, fmt.Errorf("%w: API keys are not accepted here", ErrUnauthenticated)
	}
	kt, id, role, err := a.c.APIKeys.ResolveAPIKey(r, key)
	if err != nil {
		return auth.Principal{}, false, err
	}
	if kt != tenant {
		return auth.Principal{}, false, fmt.Errorf("%w: a key of another store", ErrUnauthenticated)
	}
	return auth.Principal{Tenant: kt, Subject: id, Kind: auth.KindAPIKey, Role: role}, true, nil
}

// looksLikeAPIKey recognises the store API key formats (pk_…, sk_…).
func looksLikeAPIKey(s string) bool {
	return strings.HasPrefix(s, "pk_") || strings.HasPrefix(s, "sk_")
}

// equal compares a presented token with a configured one in constant time;
// an empty configured token matches nothing.
func equal(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
