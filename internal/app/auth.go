package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// newAuthenticator builds the platform's authenticator for this process:
// access tokens verified with the identity service's published keys, API
// keys resolved by the tenant service, the service token, and the admin
// token (retiring in a store once it has an owner, unless the operator set
// it). Without an identity service to reach, access tokens are refused;
// without a tenant service, API keys are.
func (p *Platform) newAuthenticator(tenants *tenantapi.Client) web.Authenticator {
	c := web.AuthConfig{
		AdminToken:        p.Config.Web.AdminToken,
		AdminTokenRetires: p.Config.Web.AdminTokenGenerated,
		ServiceToken:      p.Config.Web.ServiceToken,
		APIKeys:           apiKeys{tenants},
	}
	if hc, base, err := p.HTTPClient("identity"); err == nil {
		c.Verifier = auth.NewVerifier(auth.NewRemoteKeys(base+auth.JWKSPath, hc), nil)
		c.Owners = owners{identityapi.NewClient(base, hc)}
	} else {
		p.log.Warn("access tokens are refused: no identity service to take keys from", "err", err)
	}
	return web.NewAuthenticator(c)
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

// apiKeys resolves API keys through the tenant service.
type apiKeys struct{ c *tenantapi.Client }

func (a apiKeys) ResolveAPIKey(r *http.Request, key string) (string, string, auth.Role, error) {
	res, err := a.c.ResolveAPIKey(r.Context(), key)
	if errors.Is(err, tenantapi.ErrUnknownAPIKey) {
		return "", "", "", fmt.Errorf("%w: unknown or revoked API key", web.ErrUnauthenticated)
	}
	if err != nil {
		return "", "", "", err
	}
	return res.TenantID, res.KeyID, auth.Role(res.Role), nil
}

// owners asks the identity service whether a store has an owner.
type owners struct{ c *identityapi.Client }

func (o owners) HasOwner(r *http.Request, tenant string) (bool, error) {
	ctx := tenancy.WithID(context.WithoutCancel(r.Context()), tenant)
	return o.c.OwnerExists(ctx)
}
