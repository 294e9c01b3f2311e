package tenantapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// StorePath is the store's own resource in the admin API: its settings,
// plan and hosts.
const StorePath = "/api/v1/admin/store"

// Store returns the store in ctx (an admin operation: services call it with
// the platform's token). Services that must agree with the store's
// settings read them here, e.g. the currency every price is in.
func (c *Client) Store(ctx context.Context) (Store, error) {
	var s Store
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: StorePath, Out: &s}); err != nil {
		return Store{}, fmt.Errorf("read store settings: %w", err)
	}
	return s, nil
}

// UpdateStore changes the settings of the store in ctx
// (PATCH /api/v1/admin/store); nil fields stay. The answer is the store
// after the change, announced as tenant.updated.v1. Other processes'
// StoreCache copies catch up within their TTL.
func (c *Client) UpdateStore(ctx context.Context, u StoreUpdate) (Store, error) {
	var s Store
	if err := c.api.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: StorePath, Body: u, Out: &s, Idempotent: true}); err != nil {
		return Store{}, fmt.Errorf("update store settings: %w", err)
	}
	return s, nil
}

// StoreReader reads the store in ctx; *Client is one.
type StoreReader interface {
	Store(ctx context.Context) (Store, error)
}

// StoreCache answers Store from a copy of each store's settings at most
// TTL old, so that a service reading them on a storefront path (a cart's
// currency on every cart write) does not call the tenant service each
// time. A change of settings reaches it within TTL. Errors are not cached.
type StoreCache struct {
	src StoreReader
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	stores map[string]cachedStore
}

type cachedStore struct {
	store Store
	at    time.Time
}

// NewStoreCache caches src's answers for ttl.
func NewStoreCache(src StoreReader, ttl time.Duration) *StoreCache {
	return &StoreCache{src: src, ttl: ttl, now: time.Now, stores: map[string]cachedStore{}}
}

// Store returns the store in ctx, from the cache while its copy is fresh.
func (c *StoreCache) Store(ctx context.Context) (Store, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return Store{}, err
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.stores[tenant]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.store, nil
	}
	s, err := c.src.Store(ctx)
	if err != nil {
		return Store{}, err
	}
	c.mu.Lock()
	c.stores[tenant] = cachedStore{store: s, at: now}
	c.mu.Unlock()
	return s, nil
}
