package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// Signing keys are Ed25519 key pairs in the signing_keys table, shared by
// every replica and every tenant. One is active and signs new access
// tokens; after a rotation the previous ones stay published (in the JWK set
// and to the Verifier) until every token they signed has expired, so a
// rotation logs nobody out.
//
// The private key is stored as its seed, base64, in the database. That is
// acceptable on a laptop and in tests; production should wrap it with a KMS
// key (envelope encryption) or keep it in an HSM, so a database dump does
// not let anyone mint tokens.

const (
	// keyReload is how often a replica re-reads the key table, so it starts
	// signing with a key another replica rotated in within this time.
	keyReload = time.Minute
	// keyLeeway is how long past the access TTL a retired key stays
	// published: it covers keyReload (a replica may sign with the retired
	// key that long after the rotation) and clock skew.
	keyLeeway = 5 * time.Minute
	// missReload bounds how often a token with an unknown kid triggers a
	// reload, so garbage tokens cannot hammer the database.
	missReload = 5 * time.Second
)

// keyRing is the in-memory view of the signing_keys table. It implements
// auth.KeySet.
type keyRing struct {
	st        *kit.Store[*identitydb.Queries]
	accessTTL time.Duration
	now       func() time.Time

	mu       sync.RWMutex
	activeID string
	active   ed25519.PrivateKey
	public   map[string]ed25519.PublicKey
	order    []string // kids, newest first
	loadedAt time.Time
	missAt   time.Time
}

func newKeyRing(st *kit.Store[*identitydb.Queries], accessTTL time.Duration, now func() time.Time) *keyRing {
	return &keyRing{st: st, accessTTL: accessTTL, now: now, public: map[string]ed25519.PublicKey{}}
}

// publishFor is how long a retired key stays published.
func (k *keyRing) publishFor() time.Duration { return k.accessTTL + keyLeeway }

// ensure loads the keys and creates the first one if there is none.
func (k *keyRing) ensure(ctx context.Context) error {
	if err := k.reload(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	have := k.active != nil
	k.mu.RUnlock()
	if have {
		return nil
	}
	if err := k.insert(ctx, newSigningKey(k.now()), false); err != nil {
		return err
	}
	return k.reload(ctx)
}

// rotate makes a new key the active one and returns its ID.
func (k *keyRing) rotate(ctx context.Context) (identitydb.SigningKey, error) {
	key := newSigningKey(k.now())
	if err := k.insert(ctx, key, true); err != nil {
		return identitydb.SigningKey{}, err
	}
	return key, k.reload(ctx)
}

// newSigningKey returns a fresh key pair as a row; its kid is random.
func newSigningKey(now time.Time) identitydb.SigningKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader) // crypto/rand never fails
	var kid [12]byte
	_, _ = rand.Read(kid[:])
	return identitydb.SigningKey{
		Kid:        base64.RawURLEncoding.EncodeToString(kid[:]),
		PrivateKey: base64.StdEncoding.EncodeToString(priv.Seed()),
		PublicKey:  base64.StdEncoding.EncodeToString(pub),
		CreatedAt:  now.UnixMicro(),
	}
}

// reload replaces the view with the table's contents.
func (k *keyRing) reload(ctx context.Context) error {
	rows, err := k.load(ctx)
	if err != nil {
		return err
	}
	public := make(map[string]ed25519.PublicKey, len(rows))
	order := make([]string, 0, len(rows))
	var activeID string
	var active ed25519.PrivateKey
	for _, r := range rows {
		pub, err := base64.StdEncoding.DecodeString(r.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("load signing key %s: malformed public key", r.Kid)
		}
		public[r.Kid] = ed25519.PublicKey(pub)
		order = append(order, r.Kid)
		if r.Active.Valid {
			seed, err := base64.StdEncoding.DecodeString(r.PrivateKey)
			if err != nil || len(seed) != ed25519.SeedSize {
				return fmt.Errorf("load signing key %s: malformed private key", r.Kid)
			}
			activeID, active = r.Kid, ed25519.NewKeyFromSeed(seed)
		}
	}
	k.mu.Lock()
	k.activeID, k.active, k.public, k.order, k.loadedAt = activeID, active, public, order, k.now()
	k.mu.Unlock()
	return nil
}

// load returns every published signing key, newest first. The keys are
// the deployment's, no tenant's.
func (k *keyRing) load(ctx context.Context) ([]identitydb.SigningKey, error) {
	rows, err := kit.ReadOne(sqldb.AllTenants(ctx), k.st, func(q *identitydb.Queries) ([]identitydb.SigningKey, error) {
		return q.ListSigningKeys(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return rows, nil
}

// insert adds key as the active signing key. With rotate, the active
// key is retired first; without, nothing happens when a key is already
// active (the first start of a deployment, maybe of several replicas at
// once: the unique active column lets exactly one win).
func (k *keyRing) insert(ctx context.Context, key identitydb.SigningKey, rotate bool) error {
	const attempts = 3
	var err error
	for range attempts {
		err = k.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
			if rotate {
				if _, err := q.RetireActiveKey(ctx, sql.NullInt64{Int64: key.CreatedAt, Valid: true}); err != nil {
					return err
				}
			} else {
				rows, err := q.ListSigningKeys(ctx)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if r.Active.Valid {
						return nil
					}
				}
			}
			return q.InsertSigningKey(ctx, identitydb.InsertSigningKeyParams{
				Kid: key.Kid, PrivateKey: key.PrivateKey, PublicKey: key.PublicKey, CreatedAt: key.CreatedAt})
		})
		if err == nil {
			return nil
		}
		if !sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("store signing key: %w", err)
		}
		if !rotate {
			return nil // another replica created the first key
		}
		// A concurrent rotation committed first: retire its key in turn.
	}
	return fmt.Errorf("store signing key: %w: %w", ErrConflict, err)
}

// prune deletes signing keys retired before before.
func (k *keyRing) prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := k.st.Write(sqldb.AllTenants(ctx), func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		var err error
		n, err = q.PruneSigningKeys(ctx, sqldb.NullMicros(&before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune signing keys: %w", err)
	}
	return n, nil
}

// signer returns the active key, re-reading the table first when the view
// is older than keyReload (another replica may have rotated).
func (k *keyRing) signer(ctx context.Context) (string, ed25519.PrivateKey, error) {
	k.mu.RLock()
	id, key, stale := k.activeID, k.active, k.now().Sub(k.loadedAt) > keyReload
	k.mu.RUnlock()
	if stale || key == nil {
		if err := k.reload(ctx); err != nil {
			if key != nil {
				return id, key, nil // keep signing with what we have
			}
			return "", nil, err
		}
		k.mu.RLock()
		id, key = k.activeID, k.active
		k.mu.RUnlock()
	}
	if key == nil {
		return "", nil, fmt.Errorf("sign token: no active signing key (was Start called?)")
	}
	return id, key, nil
}

// Key returns the public key with ID kid. An unknown kid re-reads the
// table (at most every missReload), since another replica may have just
// rotated.
func (k *keyRing) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k.mu.RLock()
	pub, ok := k.public[kid]
	k.mu.RUnlock()
	if ok {
		return pub, nil
	}
	k.mu.Lock()
	retry := k.now().Sub(k.missAt) > missReload
	if retry {
		k.missAt = k.now()
	}
	k.mu.Unlock()
	if retry {
		if err := k.reload(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		pub, ok = k.public[kid]
		k.mu.RUnlock()
		if ok {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", auth.ErrUnknownKey, kid)
}

// jwks returns the published public keys, newest (the active one) first.
func (k *keyRing) jwks() auth.JWKSet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := auth.JWKSet{Keys: make([]auth.JWK, 0, len(k.order))}
	for _, kid := range k.order {
		set.Keys = append(set.Keys, auth.PublicJWK(kid, k.public[kid]))
	}
	return set
}

// Verifier returns a verifier of access tokens backed by this service's
// own signing keys, for in-process use (the platform's middleware and this
// service's handlers). It is safe for concurrent use.
func (s *Service) Verifier() *auth.Verifier {
	return auth.NewVerifier(s.keys, func() time.Time { return s.now() })
}

// JWKS returns the public signing keys, as served at /.well-known/jwks.json.
// It re-reads the table when its view is older than a minute.
func (s *Service) JWKS(ctx context.Context) (auth.JWKSet, error) {
	s.keys.mu.RLock()
	stale := s.now().Sub(s.keys.loadedAt) > keyReload
	s.keys.mu.RUnlock()
	if stale {
		if err := s.keys.reload(ctx); err != nil {
			return auth.JWKSet{}, err
		}
	}
	return s.keys.jwks(), nil
}

// RotateKey makes a new signing key active. Tokens signed by the previous
// key stay valid until they expire; the previous key is pruned by Run once
// none can be valid.
func (s *Service) RotateKey(ctx context.Context) (kid string, createdAt time.Time, err error) {
	key, err := s.keys.rotate(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate signing key: %w", err)
	}
	s.log.InfoContext(ctx, "signing key rotated", "kid", key.Kid)
	return key.Kid, time.UnixMicro(key.CreatedAt), nil
}
