package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// keyPrefixLen is how much of a key lists show: "pk_live_" and 4 more.
const keyPrefixLen = 12

// newAPIKey returns a new key of kind: its prefix then 26 base32
// characters from crypto/rand (130 bits).
func newAPIKey(kind string) string {
	if kind == tenantapi.KeySecret {
		return tenantapi.SecretPrefix + rand.Text()
	}
	return tenantapi.PublishablePrefix + rand.Text()
}

// hashKey is what is stored of a key. A fast hash is enough: keys are
// random with 130 bits, not guessable passwords.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey creates an API key for ctx's store and returns it, the key
// included (shown this once).
func (s *Service) CreateAPIKey(ctx context.Context, in tenantapi.APIKeyCreate) (tenantapi.APIKeyCreated, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.APIKeyCreated{}, err
	}
	name, err := cleanName("body.name", in.Name, tenantapi.MaxKeyName)
	if err != nil {
		return tenantapi.APIKeyCreated{}, err
	}
	if in.Kind != tenantapi.KeyPublishable && in.Kind != tenantapi.KeySecret {
		return tenantapi.APIKeyCreated{}, invalid("validation_failed", "body.kind", "must be publishable or secret", in.Kind)
	}
	key := newAPIKey(in.Kind)
	now := sqldb.Micros(s.now())
	row := tenantdb.InsertAPIKeyParams{
		TenantID: id, ID: kit.NewID(), Name: name, Kind: in.Kind, Prefix: key[:keyPrefixLen],
		KeyHash: hashKey(key), CreatedAt: now,
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		if _, err := loadTenant(ctx, q, id); err != nil {
			return err
		}
		n, err := q.CountLiveAPIKeys(ctx, id)
		if err != nil {
			return fmt.Errorf("count API keys of %s: %w", id, err)
		}
		if n >= tenantapi.MaxAPIKeys {
			return ErrTooManyAPIKeys
		}
		return q.InsertAPIKey(ctx, row)
	})
	if err != nil {
		return tenantapi.APIKeyCreated{}, fmt.Errorf("create API key: %w", err)
	}
	s.log.InfoContext(ctx, "api key created", "tenant", id, "key_id", row.ID, "kind", in.Kind)
	return tenantapi.APIKeyCreated{
		APIKey: toAPIKey(row.ID, row.Name, row.Kind, row.Prefix, row.CreatedAt, sql.NullInt64{}),
		Key:    key,
	}, nil
}

// APIKeys lists the API keys of ctx's store, newest first, revoked ones
// included.
func (s *Service) APIKeys(ctx context.Context) ([]tenantapi.APIKey, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := kit.ReadOne(ctx, s.st, func(q *tenantdb.Queries) ([]tenantdb.ListAPIKeysRow, error) { return q.ListAPIKeys(ctx, id) })
	if err != nil {
		return nil, fmt.Errorf("list API keys of %s: %w", id, err)
	}
	out := make([]tenantapi.APIKey, len(rows))
	for i, r := range rows {
		out[i] = toAPIKey(r.ID, r.Name, r.Kind, r.Prefix, r.CreatedAt, r.RevokedAt)
	}
	return out, nil
}

// RevokeAPIKey revokes an API key of ctx's store; revoking a revoked key
// is a no-op. Processes that resolved the key keep accepting it up to
// tenantapi.KnownTTL.
func (s *Service) RevokeAPIKey(ctx context.Context, keyID string) error {
	id, err := currentTenant(ctx)
	if err != nil {
		return err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		if _, err := q.GetAPIKey(ctx, tenantdb.GetAPIKeyParams{TenantID: id, ID: keyID}); errors.Is(err, sql.ErrNoRows) {
			return ErrAPIKeyNotFound
		} else if err != nil {
			return fmt.Errorf("load API key %s: %w", keyID, err)
		}
		_, err := q.RevokeAPIKey(ctx, tenantdb.RevokeAPIKeyParams{RevokedAt: sql.NullInt64{Int64: sqldb.Micros(s.now()), Valid: true}, TenantID: id, ID: keyID})
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", keyID, err)
	}
	s.log.InfoContext(ctx, "api key revoked", "tenant", id, "key_id", keyID)
	return nil
}

// ResolveAPIKey returns the store, key ID and kind of a live key of an
// active store, or ErrNotFound.
func (s *Service) ResolveAPIKey(ctx context.Context, key string) (tenantapi.Resolution, error) {
	if !tenantapi.LooksLikeAPIKey(key) || len(key) > 200 {
		return tenantapi.Resolution{}, ErrNotFound
	}
	// No tenant yet: finding it is the point.
	r, err := kit.ReadOne(sqldb.AllTenants(ctx), s.st, func(q *tenantdb.Queries) (tenantdb.ResolveAPIKeyRow, error) {
		return q.ResolveAPIKey(ctx, hashKey(key))
	})
	if errors.Is(err, sql.ErrNoRows) {
		return tenantapi.Resolution{}, ErrNotFound
	}
	if err != nil {
		return tenantapi.Resolution{}, fmt.Errorf("resolve API key: %w", err)
	}
	return tenantapi.Resolution{TenantID: r.TenantID, KeyID: r.ID, Role: r.Kind}, nil
}
