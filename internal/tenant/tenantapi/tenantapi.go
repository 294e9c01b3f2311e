// Package tenantapi is the tenant service's contract: its events and a
// client that resolves hosts and tenant IDs, with a cache, for the web
// platform of every process.
package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/mercato/mercato/internal/platform/web"
)

// SubjectTenantCreated is published when a store is created.
const SubjectTenantCreated = "tenant.created.v1"

// TenantCreated is the payload of tenant.created.v1.
type TenantCreated struct {
	TenantID string   `json:"tenant_id"`
	Name     string   `json:"name"`
	Hosts    []string `json:"hosts"`
}

// Resolution is the answer of the resolve endpoint.
type Resolution struct {
	TenantID string `json:"tenant_id" doc:"The tenant the host or ID belongs to."`
}

// ResolvePath is the tenant service's internal resolve endpoint.
const ResolvePath = "/internal/v1/tenants/resolve"

// Client resolves tenants through the tenant service's HTTP API, caching
// answers (known tenants for a minute, unknown ones for five seconds).
type Client struct {
	base  string
	http  *http.Client
	cache *otter.Cache[string, string]
}

// NewClient returns a client for the tenant service at base (e.g.
// "http://tenant:8080"); hc carries the transport, in process or not.
func NewClient(base string, hc *http.Client) *Client {
	cache := otter.Must(&otter.Options[string, string]{
		MaximumSize: 100_000,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, string]) time.Duration {
			if e.Value == "" {
				return 5 * time.Second
			}
			return time.Minute
		}),
	})
	return &Client{base: base, http: hc, cache: cache}
}

// ResolveTenant implements web.TenantResolver.
func (c *Client) ResolveTenant(ctx context.Context, host, id string) (string, error) {
	key := "h:" + host
	if id != "" {
		key = "i:" + id
	}
	tenant, err := c.cache.Get(ctx, key, otter.LoaderFunc[string, string](func(ctx context.Context, _ string) (string, error) {
		return c.resolve(ctx, host, id)
	}))
	if err != nil {
		return "", err
	}
	if tenant == "" {
		return "", web.ErrUnknownTenant
	}
	return tenant, nil
}

// Forget drops cached answers for a host or ID (after a change).
func (c *Client) Forget(host, id string) {
	c.cache.Invalidate("h:" + host)
	c.cache.Invalidate("i:" + id)
}

// resolve asks the service; "" with a nil error means no such tenant.
func (c *Client) resolve(ctx context.Context, host, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	q := url.Values{}
	if id != "" {
		q.Set("id", id)
	} else {
		q.Set("host", host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+ResolvePath+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("resolve tenant: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("resolve tenant: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var r Resolution
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return "", fmt.Errorf("resolve tenant: decode answer: %w", err)
		}
		if r.TenantID == "" {
			return "", errors.New("resolve tenant: empty answer")
		}
		return r.TenantID, nil
	case http.StatusNotFound:
		return "", nil
	default:
		return "", fmt.Errorf("resolve tenant: tenant service answered %s", resp.Status)
	}
}
