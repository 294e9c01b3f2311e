package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// edges wires the HTTP edge of a process to the services that know who
// calls and for which store: the tenant service resolves stores and API
// keys, the identity service publishes the keys access tokens are signed
// with and knows whether a store has an owner. Every process needs the
// tenant service; without an identity service to reach, access tokens are
// refused (and the generated admin token never retires).
func edges(p *app.Platform) (app.Edges, error) {
	var e app.Edges
	hc, base, err := p.HTTPClient("tenant")
	if err != nil {
		return e, err
	}
	tc := tenantapi.NewClient(base, hc)
	e.Tenants, e.APIKeys = tc, apiKeys{tc}
	if hc, base, err := p.HTTPClient("identity"); err == nil {
		e.Verifier = auth.NewVerifier(auth.NewRemoteKeys(base+auth.JWKSPath, hc), nil)
		e.Owners = owners{identityapi.NewClient(base, hc)}
	} else {
		p.Log("http").Warn("access tokens are refused: no identity service to take keys from", "err", err)
	}
	return e, nil
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
