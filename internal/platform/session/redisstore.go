package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps sessions in Redis under prefix+tenant+":"+token, each
// key expiring with its session. It implements scs.CtxStore; sessions
// belong to the tenant of the context. It returns Redis errors as they are
// (a miss is not an error), which is what Failover needs to fail over.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedisStore keeps sessions in rdb under keys starting with prefix.
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: rdb, prefix: prefix, now: time.Now}
}

func (s *RedisStore) key(tenant, token string) string {
	return s.prefix + tenant + ":" + token
}

// FindCtx returns the session of token, if it exists.
func (s *RedisStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, false, err
	}
	return s.find(ctx, tenant, token)
}

// CommitCtx adds or replaces the session of token.
func (s *RedisStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	return s.put(ctx, tenant, token, b, expiry)
}

// DeleteCtx removes the session of token; a missing one is no error.
func (s *RedisStore) DeleteCtx(ctx context.Context, token string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	return s.delete(ctx, tenant, token)
}

// Find is FindCtx without a context. It always fails: sessions are per
// tenant, and only a context carries one (scs uses FindCtx).
func (s *RedisStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context; it always fails (see Find).
func (s *RedisStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context; it always fails (see Find).
func (s *RedisStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

func (s *RedisStore) find(ctx context.Context, tenant, token string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.key(tenant, token)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read session from redis: %w", err)
	}
	return b, true, nil
}

// put writes the session with a PX expiry; an expiry already past deletes
// instead (Redis refuses a non-positive PX).
func (s *RedisStore) put(ctx context.Context, tenant, token string, b []byte, expiry time.Time) error {
	ttl := expiry.Sub(s.now())
	if ttl < time.Millisecond {
		return s.delete(ctx, tenant, token)
	}
	if err := s.rdb.Set(ctx, s.key(tenant, token), b, ttl).Err(); err != nil {
		return fmt.Errorf("write session to redis: %w", err)
	}
	return nil
}

func (s *RedisStore) delete(ctx context.Context, tenant, token string) error {
	if err := s.rdb.Del(ctx, s.key(tenant, token)).Err(); err != nil {
		return fmt.Errorf("delete session from redis: %w", err)
	}
	return nil
}
