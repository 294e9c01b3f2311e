// Package identity is the identity service: customer and staff accounts
// per tenant, their passwords (argon2id), sessions (short-lived EdDSA access
// tokens with rotating refresh tokens, or for browsers a web session cookie
// kept by internal/platform/session), password resets, staff invitations
// and roles, and the deployment's token signing keys, published at
// /.well-known/jwks.json.
//
// Every account table is keyed by tenant and every query takes the tenant
// from the request context (tenancy.ID): an account of one store cannot log
// in to another, and a token carries its store in the tid claim. Signing
// keys alone are deployment-wide.
//
// Changes other services must learn of (identity.customer_registered.v1,
// identity.email_verification_requested.v1,
// identity.customer_email_verified.v1,
// identity.password_reset_requested.v1, identity.staff_*.v1) go to the
// outbox in the transaction of the change.
//
// With the tenant service's plan limits (Deps.PlanLimits), a store cannot
// have more staff accounts (owner included) than its plan allows: inviting
// one more while active staff and open invitations fill the plan, or
// accepting an invitation with active staff filling it, is refused with a
// *tenantapi.LimitError. Deactivated staff and expired or accepted
// invitations free their seat; the owner created at signup is never refused.
package identity

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/session"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the identity database is migrated with: the
// outbox's, the web sessions' (the database keeps the sessions, or their
// copies with Redis) and the identity tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, session.Migrations, sqldb.Embedded(migrationFiles, "migrations", "identity_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	// ErrInvalidCredentials is any failed login: unknown email, wrong
	// password, deactivated account. One error, so answers do not tell
	// which accounts exist.
	ErrInvalidCredentials = errors.New("identity: invalid email or password")
	ErrEmailTaken         = errors.New("identity: email already registered")
	ErrInvalidEmail       = errors.New("identity: invalid email address")
	ErrWeakPassword       = errors.New("identity: weak password")
	ErrInvalid            = errors.New("identity: invalid input")
	ErrNotFound           = errors.New("identity: account not found")
	ErrAddressNotFound    = errors.New("identity: address not found")
	// ErrExportNotFound is an export audit entry that is not the caller's
	// to finish: unknown, another's, or finished already.
	ErrExportNotFound   = errors.New("identity: no export in progress with this ID")
	ErrTooManyAddresses = errors.New("identity: address book is full")
	// ErrInvalidRefreshToken is an unknown, expired or revoked refresh token.
	ErrInvalidRefreshToken = errors.New("identity: invalid refresh token")
	// ErrRefreshTokenReused is a used refresh token presented again: its
	// family has been revoked, since a thief or the owner holds a copy.
	ErrRefreshTokenReused = errors.New("identity: refresh token reused; session revoked")
	ErrInvalidResetToken  = errors.New("identity: invalid or expired password reset token")
	// ErrInvalidVerificationToken is an unknown, used or expired email
	// verification token.
	ErrInvalidVerificationToken = errors.New("identity: invalid, used or expired email verification token")
	ErrInvalidInvitation        = errors.New("identity: invalid, used or expired invitation")
	ErrOwnerExists              = errors.New("identity: the store already has an owner")
	ErrLastOwner                = errors.New("identity: the last active owner cannot be demoted or deactivated")
	// ErrUnauthenticated means the operation needs a signed-in principal.
	ErrUnauthenticated = errors.New("identity: authentication required")
	// ErrForbidden means the principal may not do this.
	ErrForbidden = errors.New("identity: not allowed")
	// ErrConflict is a write that lost a race more times than retried.
	ErrConflict = errors.New("identity: concurrent change, try again")
	// ErrSessionUnavailable means web sessions can be neither read nor
	// written: Redis and the database both fail.
	ErrSessionUnavailable = errors.New("identity: web sessions unavailable")
	// ErrLimitsUnavailable means the store's plan limits cannot be read, so
	// a write that adds staff is refused rather than let past the limit.
	ErrLimitsUnavailable = errors.New("identity: plan limits unavailable")
)

// PlanLimits is what identity needs of the tenant service
// (tenantapi.Client): the plan limits of the store in ctx.
type PlanLimits interface {
	Limits(ctx context.Context) (tenantapi.Limits, error)
}

// Config tunes the identity service. The zero value takes the defaults.
type Config struct {
	// AccessTTL is the lifetime of access tokens.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token (a refresh issues a
	// new one with a new lifetime).
	RefreshTTL time.Duration
	// ResetTTL is the lifetime of password reset tokens.
	ResetTTL time.Duration
	// InviteTTL is the lifetime of staff invitations.
	InviteTTL time.Duration
	// VerifyTTL is the lifetime of email verification tokens.
	VerifyTTL time.Duration
	// Argon2 are the password hashing costs.
	Argon2 Argon2Params
	// Redis is the URL of the Redis server the login throttle counts in;
	// empty counts in memory (one process). The platform fills it from
	// -redis when -identity.redis is not given.
	Redis string
	// AccountFailures failed logins per AccountWindow are allowed per
	// account (tenant and email); IPFailures per IPWindow per client IP.
	AccountFailures int
	AccountWindow   time.Duration
	IPFailures      int
	IPWindow        time.Duration
	// PruneInterval is how often Run deletes expired tokens and retired
	// signing keys.
	PruneInterval time.Duration
	// Session configures the web (cookie) sessions of POST
	// /api/v1/auth/session. Its flags are the platform's -session.* (not
	// registered by RegisterFlags) and its RedisURL comes from -redis; zero
	// fields take session.DefaultConfig's values.
	Session session.Config
}

// Defaults of Config.
const (
	DefaultAccessTTL       = 15 * time.Minute
	DefaultRefreshTTL      = 30 * 24 * time.Hour
	DefaultResetTTL        = time.Hour
	DefaultInviteTTL       = 7 * 24 * time.Hour
	DefaultVerifyTTL       = 48 * time.Hour
	DefaultAccountFailures = 5
	DefaultAccountWindow   = 15 * time.Minute
	DefaultIPFailures      = 20
	DefaultIPWindow        = time.Minute
	DefaultPruneInterval   = 10 * time.Minute
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "identity."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.AccessTTL, prefix+"access-ttl", DefaultAccessTTL, "lifetime of access tokens")
	fs.DurationVar(&c.RefreshTTL, prefix+"refresh-ttl", DefaultRefreshTTL, "lifetime of a refresh token (each refresh issues a new one)")
	fs.DurationVar(&c.ResetTTL, prefix+"reset-ttl", DefaultResetTTL, "lifetime of password reset tokens")
	fs.DurationVar(&c.InviteTTL, prefix+"invite-ttl", DefaultInviteTTL, "lifetime of staff invitations")
	fs.DurationVar(&c.VerifyTTL, prefix+"verify-ttl", DefaultVerifyTTL, "lifetime of email verification tokens (the link mailed at registration)")
	fs.Uint32Var(&c.Argon2.Memory, prefix+"argon2.memory", DefaultArgon2.Memory, "argon2id memory per password hash, in KiB")
	fs.Uint32Var(&c.Argon2.Time, prefix+"argon2.time", DefaultArgon2.Time, "argon2id passes per password hash")
	fs.Uint8Var(&c.Argon2.Threads, prefix+"argon2.threads", DefaultArgon2.Threads, "argon2id parallelism")
	fs.StringVar(&c.Redis, prefix+"redis", "", "Redis URL for login throttling across replicas (default: -redis; neither: in memory)")
	fs.IntVar(&c.AccountFailures, prefix+"login.account-failures", DefaultAccountFailures, "failed logins allowed per account per account-window")
	fs.DurationVar(&c.AccountWindow, prefix+"login.account-window", DefaultAccountWindow, "window of login.account-failures")
	fs.IntVar(&c.IPFailures, prefix+"login.ip-failures", DefaultIPFailures, "failed logins allowed per client IP per ip-window")
	fs.DurationVar(&c.IPWindow, prefix+"login.ip-window", DefaultIPWindow, "window of login.ip-failures")
	fs.DurationVar(&c.PruneInterval, prefix+"prune-interval", DefaultPruneInterval, "how often expired tokens and retired signing keys are deleted")
}

// withDefaults fills zero fields with the defaults.
func (c Config) withDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.AccessTTL, DefaultAccessTTL)
	set(&c.RefreshTTL, DefaultRefreshTTL)
	set(&c.ResetTTL, DefaultResetTTL)
	set(&c.InviteTTL, DefaultInviteTTL)
	set(&c.VerifyTTL, DefaultVerifyTTL)
	set(&c.AccountWindow, DefaultAccountWindow)
	set(&c.IPWindow, DefaultIPWindow)
	set(&c.PruneInterval, DefaultPruneInterval)
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	if c.AccountFailures == 0 {
		c.AccountFailures = DefaultAccountFailures
	}
	if c.IPFailures == 0 {
		c.IPFailures = DefaultIPFailures
	}
	c.Session = sessionDefaults(c.Session)
	return c
}

// sessionDefaults fills the zero fields of c with session.DefaultConfig's.
func sessionDefaults(c session.Config) session.Config {
	d := session.DefaultConfig()
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.Lifetime, d.Lifetime)
	set(&c.IdleTimeout, d.IdleTimeout)
	set(&c.RedisTimeout, d.RedisTimeout)
	set(&c.OpenFor, d.OpenFor)
	set(&c.CleanupInterval, d.CleanupInterval)
	set(&c.MirrorInterval, d.MirrorInterval)
	if c.KeyPrefix == "" {
		c.KeyPrefix = d.KeyPrefix
	}
	if c.TripAfter == 0 {
		c.TripAfter = d.TripAfter
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	switch {
	case c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour:
		return fmt.Errorf("identity: access-ttl %s is outside 1m..24h", c.AccessTTL)
	case c.RefreshTTL < c.AccessTTL:
		return fmt.Errorf("identity: refresh-ttl %s is below access-ttl %s", c.RefreshTTL, c.AccessTTL)
	case c.ResetTTL < time.Minute || c.InviteTTL < time.Minute || c.VerifyTTL < time.Minute:
		return fmt.Errorf("identity: reset-ttl (%s), invite-ttl (%s) and verify-ttl (%s) must be at least 1m", c.ResetTTL, c.InviteTTL, c.VerifyTTL)
	case c.Argon2.Memory < 8*uint32(c.Argon2.Threads) || c.Argon2.Time < 1 || c.Argon2.Threads < 1:
		return fmt.Errorf("identity: argon2 memory %d KiB, time %d, threads %d: need time and threads >= 1 and memory >= 8 KiB per thread",
			c.Argon2.Memory, c.Argon2.Time, c.Argon2.Threads)
	case c.AccountFailures < 1 || c.IPFailures < 1 || c.AccountWindow <= 0 || c.IPWindow <= 0:
		return errors.New("identity: login throttle failures and windows must be positive")
	case c.PruneInterval <= 0:
		return fmt.Errorf("identity: prune-interval %s must be positive", c.PruneInterval)
	}
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return fmt.Errorf("identity: redis %q is not a redis:// or rediss:// URL", sqldb.Redact(c.Redis))
		}
	}
	return sessionDefaults(c.Session).Validate()
}

// Deps is what the identity service is built from.
type Deps struct {
	kit.Deps
	// PlanLimits reads each store's plan limits from the tenant service
	// (tenantapi.Client), read before every invitation and acceptance to
	// keep the store within its plan's staff limit. Nil (tests, identity
	// deployed alone): no limits.
	PlanLimits PlanLimits
}

// Service is the identity service. It is safe for concurrent use.
type Service struct {
	cfg      Config
	st       *kit.Store[*identitydb.Queries]
	keys     *keyRing
	throttle Throttle
	common   commonPasswords
	// dummyHash is verified against for unknown emails, so a login takes
	// as long whether the account exists or not.
	dummyHash string
	// sessions manages the web session cookies; sessionStore is its store
	// (Redis failing over to the database), which Run runs.
	sessions     *scs.SessionManager
	sessionStore *session.Failover
	log          *slog.Logger
	now          func() time.Time
	limits       PlanLimits // nil: no plan limits

	closeOnce sync.Once
	closeErr  error
}

// New returns the identity service on deps.DB, which must be migrated with
// Migrations. Signing keys are loaded (and the first one created) by
// Start. Neither Redis (sessions, throttle) is contacted: one that is down
// is an outage like any other.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "identity", deps.Deps, identitydb.Prepare)
	if err != nil {
		return nil, err
	}
	log := deps.Logger()
	th, err := newThrottle(cfg, log)
	if err != nil {
		return nil, err
	}
	sm, fo, err := session.New(cfg.Session, deps.DB, log.With("component", "sessions"))
	if err != nil {
		_ = th.Close()
		return nil, fmt.Errorf("identity: %w", err)
	}
	s := &Service{
		cfg: cfg, st: st, throttle: th, common: loadCommonPasswords(),
		dummyHash: hashPassword("not a password of anyone", cfg.Argon2),
		sessions:  sm, sessionStore: fo, log: log, now: time.Now, limits: deps.PlanLimits,
	}
	s.keys = newKeyRing(st, cfg.AccessTTL, func() time.Time { return s.now() })
	return s, nil
}

// Start loads the signing keys, creating the first one on the first start
// of a deployment.
func (s *Service) Start(ctx context.Context) error {
	if err := s.keys.ensure(ctx); err != nil {
		return fmt.Errorf("identity: start: %w", err)
	}
	return nil
}

// Run prunes expired refresh tokens, reset tokens and retired signing keys
// every PruneInterval, and runs the web session store (purging expired
// sessions, moving sessions back to Redis after an outage), until ctx is
// done; then it closes the Redis clients.
func (s *Service) Run(ctx context.Context) error {
	sessionsDone := make(chan error, 1)
	go func() { sessionsDone <- s.sessionStore.Run(ctx) }()
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "prune identity tables", "err", err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(<-sessionsDone, s.Close())
		case <-t.C:
		}
	}
}

// Close releases the Redis clients of the throttle and the session store.
// Run calls it when it ends; a Service that never ran (tests, migrate)
// may call it itself.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.closeErr = errors.Join(s.throttle.Close(), s.sessionStore.Close()) })
	return s.closeErr
}
