package app

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
)

// Edges is how the HTTP edge of a process learns which store a request is
// for and who makes it. The services that know (tenant: stores, hosts and
// API keys; identity: signing keys and store owners) are reached through
// their clients, which the caller of Build wires in (cmd/mercato's
// services.go), so this package imports no service.
type Edges struct {
	// Tenants resolves a request's store from its host or header; nil:
	// every request is the default store's.
	Tenants web.TenantResolver
	// APIKeys resolves store API keys; nil refuses them.
	APIKeys web.APIKeyResolver
	// Verifier checks access tokens; nil refuses them.
	Verifier *auth.Verifier
	// Owners says whether a store has an owner, after which a generated
	// admin token retires there; nil: it never retires.
	Owners web.OwnerChecker
}

// newAuthenticator builds the platform's authenticator for this process:
// access tokens verified by the edges' verifier, API keys resolved by
// theirs, the service token, and the admin token (retiring in a store once
// it has an owner, unless the operator set it).
func (p *Platform) newAuthenticator(e Edges) web.Authenticator {
	return web.NewAuthenticator(web.AuthConfig{
		AdminToken:        p.Config.Web.AdminToken,
		AdminTokenRetires: p.Config.Web.AdminTokenGenerated,
		ServiceToken:      p.Config.Web.ServiceToken,
		APIKeys:           e.APIKeys,
		Verifier:          e.Verifier,
		Owners:            e.Owners,
	})
}

// serviceToken returns the configured service token or, for a process on
// its own, a random one that never leaves it.
func serviceToken(configured string) string {
	if configured != "" {
		return configured
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return "mcs_" + hex.EncodeToString(b[:])
}
