package tenantapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// The store's host names and API keys, as its owner and managers run them
// in the admin API, and the signup of a new store.

const (
	domainsPath = StorePath + "/domains"
	apiKeysPath = StorePath + "/api-keys"
)

// Domains returns the host names the store in ctx answers on: its
// subdomain and custom domains (GET /api/v1/admin/store/domains).
func (c *Client) Domains(ctx context.Context) (DomainList, error) {
	var l DomainList
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: domainsPath, Out: &l}); err != nil {
		return DomainList{}, fmt.Errorf("list domains: %w", err)
	}
	return l, nil
}

// AddDomain maps a custom domain to the store in ctx
// (POST /api/v1/admin/store/domains). A host mapped to a store already is
// a 409 domain_taken.
func (c *Client) AddDomain(ctx context.Context, host string) (Domain, error) {
	var d Domain
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: domainsPath, Body: DomainCreate{Host: host}, Out: &d}); err != nil {
		return Domain{}, fmt.Errorf("add domain %s: %w", host, err)
	}
	return d, nil
}

// RemoveDomain removes a custom domain of the store in ctx
// (DELETE /api/v1/admin/store/domains/{host}); the store's subdomain is a
// 409 domain_protected. Other processes may resolve it for up to KnownTTL.
func (c *Client) RemoveDomain(ctx context.Context, host string) error {
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: domainsPath + "/" + url.PathEscape(host)}); err != nil {
		return fmt.Errorf("remove domain %s: %w", host, err)
	}
	return nil
}

// APIKeys returns the API keys of the store in ctx, newest first, revoked
// ones included, never the keys themselves (GET /api/v1/admin/store/api-keys).
func (c *Client) APIKeys(ctx context.Context) (APIKeyList, error) {
	var l APIKeyList
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: apiKeysPath, Out: &l}); err != nil {
		return APIKeyList{}, fmt.Errorf("list API keys: %w", err)
	}
	return l, nil
}

// CreateAPIKey creates an API key for the store in ctx
// (POST /api/v1/admin/store/api-keys): the answer is the only time the key
// is shown. It takes no idempotency key: the platform would keep the
// answer, key included, to replay it.
func (c *Client) CreateAPIKey(ctx context.Context, k APIKeyCreate) (APIKeyCreated, error) {
	var out APIKeyCreated
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: apiKeysPath, Body: k, Out: &out}); err != nil {
		return APIKeyCreated{}, fmt.Errorf("create API key: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes an API key of the store in ctx
// (DELETE /api/v1/admin/store/api-keys/{id}). Processes that used it may
// accept it for up to KnownTTL more.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: apiKeysPath + "/" + url.PathEscape(id)}); err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return nil
}

// signupPath is the operation Signup calls.
const signupPath = "/api/v1/tenants"

// Signup opens a new store with its owner (POST /api/v1/tenants). The store
// is new whatever store ctx names (the client needs one to address the
// request). idempotencyKey makes a retry never open a second store: one
// whose first attempt created the owner answers without tokens (the owner
// signs in instead), so the call is retried like a read.
func (c *Client) Signup(ctx context.Context, s Signup, idempotencyKey string) (SignupResult, error) {
	var out SignupResult
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: signupPath, Body: s, Out: &out, IdempotencyKey: idempotencyKey}); err != nil {
		return SignupResult{}, fmt.Errorf("sign up store %s: %w", s.Subdomain, err)
	}
	return out, nil
}
