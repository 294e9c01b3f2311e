// Package session keeps Mercato's web (cookie) sessions, managed by
// github.com/alexedwards/scs/v2, in Redis when one is configured and in a
// database table otherwise.
//
// With Redis, a Failover store puts a circuit breaker around every Redis
// call and serves the same call from the database the moment Redis fails,
// so a Redis outage costs no request, not even the first. While Redis is
// down every session is read and written in the database; when it recovers,
// the sessions written meanwhile are moved back to Redis. docs/sessions.md
// describes the rules and their limits.
//
// Sessions belong to a tenant: every store reads the tenant from the
// request context (tenancy.ID) and fails without one, so a session cookie
// of one store is never a session at another.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// CookieName is the name of the session cookie.
const CookieName = "mercato_session"

// ErrNoTenant is returned by every store when the context carries no
// tenant (the non-context scs methods always return it).
var ErrNoTenant = errors.New("session: no tenant in context")

// Config says where sessions live and how the failover behaves.
type Config struct {
	// RedisURL (redis://…) keeps sessions in Redis with the database as
	// fallback; empty keeps them in the database only. The platform-wide
	// -redis flag fills it, so RegisterFlags does not register it.
	RedisURL string
	// KeyPrefix starts every Redis key.
	KeyPrefix string
	// SecureCookie marks the cookie Secure (HTTPS only). Off on a laptop.
	SecureCookie bool
	// Lifetime is the absolute lifetime of a session.
	Lifetime time.Duration
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// RedisTimeout bounds each Redis call, so a hung Redis costs a request
	// at most this much before it is served from the database.
	RedisTimeout time.Duration
	// TripAfter consecutive Redis failures open the breaker.
	TripAfter uint32
	// OpenFor is how long the breaker stays open (all calls go to the
	// database) before one call probes Redis again.
	OpenFor time.Duration
	// CleanupInterval is how often expired database sessions are purged.
	CleanupInterval time.Duration
	// MirrorInterval is how often, at most, the database copy of a Redis
	// session whose data did not change is refreshed, to carry its idle
	// expiry forward. Data changes are copied at once.
	MirrorInterval time.Duration
}

// DefaultConfig returns the laptop defaults, the same as RegisterFlags.
func DefaultConfig() Config {
	return Config{
		KeyPrefix:       "mercato:session:",
		Lifetime:        7 * 24 * time.Hour,
		IdleTimeout:     24 * time.Hour,
		RedisTimeout:    200 * time.Millisecond,
		TripAfter:       3,
		OpenFor:         5 * time.Second,
		CleanupInterval: 5 * time.Minute,
		MirrorInterval:  time.Hour,
	}
}

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "session."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	d := DefaultConfig()
	fs.StringVar(&c.KeyPrefix, prefix+"redis-prefix", d.KeyPrefix, "prefix of the Redis keys holding sessions")
	fs.BoolVar(&c.SecureCookie, prefix+"secure-cookie", false, "send the session cookie over HTTPS only (turn on behind TLS)")
	fs.DurationVar(&c.Lifetime, prefix+"lifetime", d.Lifetime, "absolute lifetime of a web session")
	fs.DurationVar(&c.IdleTimeout, prefix+"idle-timeout", d.IdleTimeout, "a web session unused for this long ends")
	fs.DurationVar(&c.RedisTimeout, prefix+"redis-timeout", d.RedisTimeout, "time allowed for each Redis session call before the database serves it")
	fs.Uint32Var(&c.TripAfter, prefix+"breaker-failures", d.TripAfter, "consecutive Redis failures that move sessions to the database")
	fs.DurationVar(&c.OpenFor, prefix+"breaker-open", d.OpenFor, "how long sessions stay in the database before Redis is probed again")
	fs.DurationVar(&c.CleanupInterval, prefix+"cleanup-interval", d.CleanupInterval, "how often expired sessions are purged from the database")
	fs.DurationVar(&c.MirrorInterval, prefix+"mirror-interval", d.MirrorInterval, "how often the database copy of an unchanged Redis session is refreshed")
}

// Validate reports a config sessions cannot run with.
func (c Config) Validate() error {
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			return fmt.Errorf("session: redis URL: %w", err)
		}
	}
	switch {
	case c.Lifetime <= 0 || c.IdleTimeout <= 0:
		return fmt.Errorf("session: lifetime (%s) and idle-timeout (%s) must be positive", c.Lifetime, c.IdleTimeout)
	case c.IdleTimeout > c.Lifetime:
		return fmt.Errorf("session: idle-timeout %s is above lifetime %s", c.IdleTimeout, c.Lifetime)
	case c.RedisTimeout <= 0 || c.OpenFor <= 0 || c.CleanupInterval <= 0:
		return fmt.Errorf("session: redis-timeout (%s), breaker-open (%s) and cleanup-interval (%s) must be positive", c.RedisTimeout, c.OpenFor, c.CleanupInterval)
	case c.MirrorInterval <= 0 || c.MirrorInterval >= c.IdleTimeout:
		return fmt.Errorf("session: mirror-interval %s must be positive and below idle-timeout %s", c.MirrorInterval, c.IdleTimeout)
	case c.TripAfter < 1:
		return errors.New("session: breaker-failures must be at least 1")
	}
	return nil
}

// New builds the session manager the identity service mounts with
// LoadAndSave, and its store: Redis with db as fallback when cfg.RedisURL
// is set, db alone otherwise. db must have Migrations applied. New does not
// contact Redis: a Redis that is down at start is an outage like any other.
// The caller runs the store's Run (purge, moving sessions back to Redis)
// and calls its Close when done.
func New(cfg Config, db *sqldb.DB, log *slog.Logger) (*scs.SessionManager, *Failover, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rs *RedisStore
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("session: redis URL: %w", err)
		}
		rs = NewRedisStore(redis.NewClient(RedisOptions(opts, cfg.RedisTimeout)), cfg.KeyPrefix)
	}
	f := NewFailover(cfg, NewDBStore(db), rs, log)
	return NewManager(cfg, f, log), f, nil
}

// RedisOptions adapts client options to failing over: every socket
// operation bounded by timeout, the call's context respected, and no
// retries inside the client (the database is the retry).
func RedisOptions(opts *redis.Options, timeout time.Duration) *redis.Options {
	opts.DialTimeout = timeout
	opts.ReadTimeout = timeout
	opts.WriteTimeout = timeout
	opts.PoolTimeout = timeout
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DisableIdentity = true
	return opts
}

// NewManager returns an scs session manager on store with Mercato's cookie:
// mercato_session, HttpOnly, SameSite Lax, Path /, Secure as configured,
// cfg.Lifetime and cfg.IdleTimeout. A store error (both Redis and the
// database failing) answers 503 session_unavailable.
func NewManager(cfg Config, store scs.CtxStore, log *slog.Logger) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Cookie.Name = CookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookie
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, ErrNoTenant) {
			log.Error("session without tenant", "err", err, "path", r.URL.Path)
		} else {
			log.Warn("session store", "err", err)
		}
		web.WriteProblem(w, http.StatusServiceUnavailable, "session_unavailable", "sessions are unavailable; retry shortly")
	}
	return sm
}

func tenantOf(ctx context.Context) (string, error) {
	t, err := tenancy.ID(ctx)
	if err != nil {
		return "", ErrNoTenant
	}
	return t, nil
}
