package tenantapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Cache lifetimes of the Client's answers. A change in the directory (a
// domain removed, a store suspended, an API key revoked) reaches every
// process within KnownTTL: a revoked key keeps working up to a minute in
// processes that used it just before.
const (
	KnownTTL   = time.Minute
	UnknownTTL = 5 * time.Second
	// OriginsTTL is how long a store's allowed CORS origins are cached: a
	// change reaches every process within it.
	OriginsTTL = 10 * time.Second
)

// ErrUnknownAPIKey is returned for keys that are unknown, revoked, or of a
// store that is not active.
var ErrUnknownAPIKey = errors.New("tenantapi: unknown API key")

// ErrUnknownTenant is returned by ResolveTenant for hosts and IDs of no
// store. It is tenancy.ErrUnknown, the error the HTTP server's tenant
// middleware answers 404 unknown_tenant for.
var ErrUnknownTenant = tenancy.ErrUnknown

// APIKeyPrefixes are how API keys begin; a bearer token with neither prefix
// is not an API key (but perhaps an access token).
const (
	PublishablePrefix = "pk_live_"
	SecretPrefix      = "sk_live_"
)

// LooksLikeAPIKey reports whether token has the form of an API key, so the
// platform can tell one from a JWT in Authorization: Bearer.
func LooksLikeAPIKey(token string) bool {
	return strings.HasPrefix(token, PublishablePrefix) || strings.HasPrefix(token, SecretPrefix)
}

// Client resolves tenants and API keys through the tenant service's HTTP
// API, caching answers (known ones for KnownTTL, unknown ones for
// UnknownTTL), and reads a store's plan limits. It is safe for concurrent
// use.
type Client struct {
	base  string
	http  *http.Client
	api   *apiclient.Client
	cache *otter.Cache[string, Resolution]
}

// NewClient returns a client for the tenant service at base (e.g.
// "http://tenant:8080"); hc carries the transport, in process or not.
func NewClient(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: apiclient.DefaultTimeout}
	}
	cache := otter.Must(&otter.Options[string, Resolution]{
		MaximumSize: 100_000,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, Resolution]) time.Duration {
			switch {
			case e.Value.TenantID == "":
				return UnknownTTL
			case strings.HasPrefix(e.Key, "o:"):
				return OriginsTTL
			}
			return KnownTTL
		}),
	})
	return &Client{base: base, http: hc, api: apiclient.New(Source, strings.TrimSuffix(base, "/"), hc), cache: cache}
}

// ResolveTenant returns the store answering at host, or the store id when
// id is set; ErrUnknownTenant when there is none. It has the method set of
// the HTTP server's tenant resolver.
func (c *Client) ResolveTenant(ctx context.Context, host, id string) (string, error) {
	key := "h:" + host
	q := url.Values{"host": {host}}
	if id != "" {
		key = "i:" + id
		q = url.Values{"id": {id}}
	}
	r, err := c.cache.Get(ctx, key, otter.LoaderFunc[string, Resolution](func(ctx context.Context, _ string) (Resolution, error) {
		return c.resolve(ctx, q, "")
	}))
	if err != nil {
		return "", err
	}
	if r.TenantID == "" {
		return "", ErrUnknownTenant
	}
	return r.TenantID, nil
}

// ResolveAPIKey returns the store, key ID and role (KeyPublishable or
// KeySecret) of an API key, or ErrUnknownAPIKey. Answers are cached under
// the key's hash, never the key; a revocation takes effect within KnownTTL.
func (c *Client) ResolveAPIKey(ctx context.Context, key string) (Resolution, error) {
	if !LooksLikeAPIKey(key) || len(key) > 200 {
		return Resolution{}, ErrUnknownAPIKey
	}
	sum := sha256.Sum256([]byte(key))
	r, err := c.cache.Get(ctx, "k:"+hex.EncodeToString(sum[:]), otter.LoaderFunc[string, Resolution](func(ctx context.Context, _ string) (Resolution, error) {
		return c.resolve(ctx, nil, key)
	}))
	if err != nil {
		return Resolution{}, err
	}
	if r.TenantID == "" {
		return Resolution{}, ErrUnknownAPIKey
	}
	return r, nil
}

// AllowedOrigins returns the origins tenant lets browsers call its API from
// (CORS), read with the tenant's resolution and cached for OriginsTTL (a
// change takes effect within it). With ResolveTenant it makes the Client
// the HTTP server's tenant resolver and origin policy.
func (c *Client) AllowedOrigins(ctx context.Context, tenant string) ([]string, error) {
	r, err := c.cache.Get(ctx, "o:"+tenant, otter.LoaderFunc[string, Resolution](func(ctx context.Context, _ string) (Resolution, error) {
		return c.resolve(ctx, url.Values{"id": {tenant}}, "")
	}))
	if err != nil {
		return nil, err
	}
	return r.CORSOrigins, nil
}

// Forget drops cached answers for a host or ID (after a change).
func (c *Client) Forget(host, id string) {
	c.cache.Invalidate("h:" + host)
	c.cache.Invalidate("i:" + id)
}

// resolve asks the service; a zero Resolution with a nil error means no
// such tenant or key. The key goes in a header, never in the URL, so it
// stays out of access logs.
func (c *Client) resolve(ctx context.Context, q url.Values, apiKey string) (Resolution, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	u := c.base + ResolvePath
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve tenant: %w", err)
	}
	if apiKey != "" {
		req.Header.Set(APIKeyHeader, apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve tenant: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var r Resolution
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return Resolution{}, fmt.Errorf("resolve tenant: decode answer: %w", err)
		}
		if r.TenantID == "" {
			return Resolution{}, errors.New("resolve tenant: empty answer")
		}
		return r, nil
	case http.StatusNotFound, http.StatusBadRequest, http.StatusUnprocessableEntity:
		// No store answers to it; a hint the directory finds malformed
		// names none either (the platform checks hints before asking).
		return Resolution{}, nil
	default:
		// The answer keeps its class (status, code) for the caller, as
		// apiclient's errors do.
		e := &apiclient.Error{}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(e)
		e.Status, e.Service = resp.StatusCode, Source
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return Resolution{}, fmt.Errorf("resolve tenant: %w", e)
	}
}

// LimitsPath is the operation Limits calls.
const LimitsPath = "/api/v1/admin/store/limits"

// Limits returns the plan limits of the store in ctx (an admin operation:
// services call it with the platform's token). Pass the answer to
// CheckLimit.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	var l Limits
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: LimitsPath, Out: &l}); err != nil {
		return Limits{}, fmt.Errorf("read plan limits: %w", err)
	}
	return l, nil
}
