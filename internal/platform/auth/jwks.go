package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// JWKSPath is where the identity service publishes its public keys.
const JWKSPath = "/.well-known/jwks.json"

// RemoteKeys is a KeySet read from a JWK set URL and kept in memory. A key
// it does not know makes it fetch the set again, at most every MinRefresh,
// so a key the identity service has just rotated in is found at once
// while a stream of forged key IDs cannot flood the identity service. The
// set is also refetched after MaxAge.
type RemoteKeys struct {
	url  string
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt, successful or not
}

// Refresh bounds of RemoteKeys.
const (
	MinRefresh = 10 * time.Second
	MaxAge     = 5 * time.Minute
)

// NewRemoteKeys returns the key set at url (e.g. "http://identity:8080" +
// JWKSPath), fetched with hc.
func NewRemoteKeys(url string, hc *http.Client) *RemoteKeys {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &RemoteKeys{url: url, http: hc, now: time.Now}
}

// Key returns the public key kid, fetching the set when kid is unknown or
// the set is old.
func (r *RemoteKeys) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	k, ok := r.keys[kid]
	stale := now.Sub(r.fetched) >= MaxAge
	if ok && !stale {
		return k, nil
	}
	if now.Sub(r.tried) < MinRefresh {
		// Fetched (or failed to) a moment ago: neither a stream of unknown
		// key IDs nor an identity service that is down makes every
		// request wait for another fetch.
		if ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}
	// Fetching under the lock: concurrent misses share one fetch.
	r.tried = now
	keys, err := r.fetch(ctx)
	if err != nil {
		if ok {
			return k, nil // keep verifying with what we had
		}
		return nil, err
	}
	r.keys, r.fetched = keys, now
	if k, ok = keys[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (r *RemoteKeys) fetch(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch keys: %w", err)
	}
	res, err := r.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch keys: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: fetch keys: %s answered %d", r.url, res.StatusCode)
	}
	var set JWKSet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("auth: fetch keys: decode: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		pub, err := k.PublicKey()
		if err != nil {
			continue // a key of another kind is not ours to use
		}
		keys[k.Kid] = pub
	}
	return keys, nil
}

// StaticKeys is a fixed KeySet, for tests and for the identity service's
// own use.
type StaticKeys map[string]ed25519.PublicKey

// Key returns the key kid or ErrUnknownKey.
func (s StaticKeys) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
