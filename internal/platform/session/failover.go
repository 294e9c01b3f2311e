package session

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Failover is an scs.CtxStore on Redis with a database fallback; with no
// Redis it is the database store alone. It is safe for concurrent use.
//
// Redis serves sessions; the database keeps a copy of each (written when
// the session's data changes, and at most every MirrorInterval otherwise),
// so a session created before an outage still works during it. Every Redis
// call goes through a circuit breaker with a short timeout; when a call
// fails, or the breaker is open, the same call is served by the database
// at once, so callers never see a Redis failure.
//
// Rows written while Redis fails are marked dirty (their Redis copies are
// stale; a deleted session leaves a dirty tombstone), and the store is
// "pending" until Run has moved them back to Redis. While pending:
//
//   - Find reads the database first (a row there is at least as new as any
//     Redis copy); only a token with no row is looked up in Redis;
//   - Commit writes the database (dirty), not Redis;
//   - Run moves dirty rows to Redis as soon as Redis answers (its first
//     call is the half-open probe): SET, or DEL for a tombstone, settling
//     each row only if no one rewrote it meanwhile; pending ends when no
//     dirty row is left.
//
// Every process starts pending, so dirty rows another replica left are
// moved. A Redis miss is looked up in the database too (Redis restarted
// empty, or another replica wrote the session during its outage).
type Failover struct {
	redis    *RedisStore // nil: database only
	db       *DBStore
	cb       *gobreaker.CircuitBreaker[struct{}]
	timeout  time.Duration
	lifetime time.Duration // how long a tombstone must outlive its Redis copy
	cleanup  time.Duration
	openFor  time.Duration
	log      *slog.Logger
	kick     chan struct{}
	closers  []func() error
	mirror   *mirrors

	mu      sync.Mutex
	pending bool
	gen     uint64 // bumped whenever pending is set, so a pass can tell it missed a write

	redisErrors, fallbacks, moved, trips atomic.Uint64
}

// errCallerGone marks a Redis call cut short by its caller's context: not
// Redis's fault, so the breaker does not count it.
var errCallerGone = errors.New("session: caller gone")

// errRedisRefused ends a move back to Redis that Redis did not take.
var errRedisRefused = errors.New("session: redis unavailable")

// movePage is how many rows a move-back pass reads at a time.
const movePage = 100

// NewFailover returns a store on rs (nil: database only) falling back to
// db, with the breaker and timeouts of cfg.
func NewFailover(cfg Config, db *DBStore, rs *RedisStore, log *slog.Logger) *Failover {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Failover{
		redis:    rs,
		db:       db,
		timeout:  cfg.RedisTimeout,
		lifetime: cfg.Lifetime,
		cleanup:  cfg.CleanupInterval,
		openFor:  cfg.OpenFor,
		log:      log,
		kick:     make(chan struct{}, 1),
		mirror:   newMirrors(cfg.MirrorInterval),
		pending:  rs != nil,
	}
	if rs != nil {
		f.closers = append(f.closers, rs.rdb.Close)
		trip := cfg.TripAfter
		f.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        "session-redis",
			MaxRequests: 1,
			Timeout:     cfg.OpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
			IsExcluded:  func(err error) bool { return errors.Is(err, errCallerGone) },
			OnStateChange: func(_ string, from, to gobreaker.State) {
				switch to {
				case gobreaker.StateOpen:
					f.trips.Add(1)
					if from == gobreaker.StateClosed {
						log.Warn("redis sessions failing, using the database", "breaker", to.String())
					}
				case gobreaker.StateClosed:
					log.Info("redis sessions recovered", "breaker", to.String())
					f.wake()
				}
			},
		})
	}
	return f
}

// Close closes the Redis client New created.
func (f *Failover) Close() error {
	var err error
	for _, c := range f.closers {
		err = errors.Join(err, c())
	}
	return err
}

// FindCtx returns the session of token in the context's tenant.
func (f *Failover) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, false, err
	}
	if f.redis == nil {
		r, err := f.db.find(ctx, tenant, token)
		return r.data, r.state == rowLive, err
	}
	dbRead := false
	if f.isPending() {
		r, err := f.db.find(ctx, tenant, token)
		switch {
		case err != nil:
			// The database failing too: Redis may be stale for this token,
			// but it is the best answer left.
			f.log.Warn("read session from the database", "err", err)
		case r.state == rowLive:
			return r.data, true, nil
		case r.state == rowTombstone:
			return nil, false, nil
		default:
			dbRead = true
		}
	}
	var b []byte
	var found bool
	ok, err := f.viaRedis(ctx, func(ctx context.Context) error {
		var err error
		b, found, err = f.redis.find(ctx, tenant, token)
		return err
	})
	switch {
	case err != nil:
		return nil, false, err
	case ok && found:
		return b, true, nil
	case !ok:
		f.fallbacks.Add(1)
	}
	if dbRead {
		return nil, false, nil
	}
	r, err := f.db.find(ctx, tenant, token)
	if err != nil {
		return nil, false, err
	}
	if r.dirty {
		// Another replica wrote it while its Redis failed: from now on the
		// database is read first, and Run moves the row to Redis.
		f.markPending()
	}
	return r.data, r.state == rowLive, nil
}

// CommitCtx writes the session of token in the context's tenant.
func (f *Failover) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	b = nonNil(b)
	if !expiry.After(f.db.now()) {
		// Already over: both copies must go, as Redis drops a key that expired.
		return f.DeleteCtx(ctx, token)
	}
	if f.redis == nil {
		return f.db.put(ctx, tenant, token, b, expiry, false)
	}
	if !f.isPending() {
		ok, err := f.viaRedis(ctx, func(ctx context.Context) error {
			return f.redis.put(ctx, tenant, token, b, expiry)
		})
		if err != nil {
			return err
		}
		if ok {
			f.copyToDB(ctx, tenant, token, b, expiry)
			return nil
		}
		f.fallbacks.Add(1)
	}
	// Redis failed, or dirty rows wait to move: the database is where the
	// newest data lives until Run moves it.
	if err := f.db.put(ctx, tenant, token, b, expiry, true); err != nil {
		return err
	}
	f.mirror.forget(tenant, token)
	f.markPending()
	return nil
}

// copyToDB refreshes the database copy of a session Redis took, when its
// data changed or the copy is getting old. A failure only costs the copy
// (logged); the session itself is safe in Redis.
func (f *Failover) copyToDB(ctx context.Context, tenant, token string, b []byte, expiry time.Time) {
	now := f.db.now()
	if !f.mirror.due(tenant, token, b, now) {
		return
	}
	if err := f.db.put(ctx, tenant, token, b, expiry, false); err != nil {
		f.log.Warn("copy session to the database", "err", err)
		return
	}
	f.mirror.done(tenant, token, b, now)
}

// DeleteCtx deletes the session of token in the context's tenant, in Redis
// and in the database. When Redis fails, a tombstone in the database hides
// the Redis copy until Run deletes it.
func (f *Failover) DeleteCtx(ctx context.Context, token string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	f.mirror.forget(tenant, token)
	if f.redis == nil {
		return f.db.delete(ctx, tenant, token)
	}
	ok, err := f.viaRedis(ctx, func(ctx context.Context) error {
		return f.redis.delete(ctx, tenant, token)
	})
	if err != nil {
		return err
	}
	if ok && !f.isPending() {
		// The copy must go too, or a later outage (or a Redis miss) would
		// bring the session back: a failure here fails the logout.
		return f.db.delete(ctx, tenant, token)
	}
	if !ok {
		f.fallbacks.Add(1)
	}
	if err := f.db.put(ctx, tenant, token, nil, f.db.now().Add(f.lifetime), true); err != nil {
		return err
	}
	f.markPending()
	return nil
}

// Find is FindCtx without a context. It always fails: sessions are per
// tenant, and only a context carries one (scs uses FindCtx).
func (f *Failover) Find(token string) ([]byte, bool, error) {
	return f.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context; it always fails (see Find).
func (f *Failover) Commit(token string, b []byte, expiry time.Time) error {
	return f.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context; it always fails (see Find).
func (f *Failover) Delete(token string) error {
	return f.DeleteCtx(context.Background(), token)
}

// viaRedis runs op on Redis through the breaker, with the call timeout.
// ok is false when Redis failed or the breaker refused the call: the
// caller serves it from the database. err is set only when the caller's own
// context ended.
func (f *Failover) viaRedis(ctx context.Context, op func(context.Context) error) (ok bool, err error) {
	_, err = f.cb.Execute(func() (struct{}, error) {
		c, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		err := op(c)
		if err != nil && ctx.Err() != nil {
			return struct{}{}, errCallerGone
		}
		return struct{}{}, err
	})
	switch {
	case err == nil:
		if f.isPending() {
			f.wake()
		}
		return true, nil
	case errors.Is(err, errCallerGone):
		return false, ctx.Err()
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return false, nil
	default:
		f.redisErrors.Add(1)
		f.log.Debug("redis session call", "err", err)
		return false, nil
	}
}

func (f *Failover) isPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}

func (f *Failover) markPending() {
	f.mu.Lock()
	f.pending = true
	f.gen++
	f.mu.Unlock()
	f.wake()
}

// wake asks Run for a move-back pass without waiting.
func (f *Failover) wake() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// MoveBack moves the dirty sessions and tombstones of the database to
// Redis, unless the breaker is open, and ends pending when none is left. Run calls
// it; it is exported for tests and tools.
func (f *Failover) MoveBack(ctx context.Context) error {
	// Half-open counts as a go: while pending, requests are served by the
	// database and never probe Redis, so this pass is the probe.
	if f.redis == nil || f.cb.State() == gobreaker.StateOpen || !f.isPending() {
		return nil
	}
	f.mu.Lock()
	gen := f.gen
	f.mu.Unlock()
	clean := true
	var tenant, token string
	for {
		rows, err := f.db.dirtyPage(ctx, tenant, token, movePage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			ok, err := f.viaRedis(ctx, func(ctx context.Context) error {
				if r.state == rowTombstone {
					return f.redis.delete(ctx, r.tenant, r.token)
				}
				return f.redis.put(ctx, r.tenant, r.token, r.data, r.expiry)
			})
			if err != nil {
				return err
			}
			if !ok {
				return errRedisRefused
			}
			gone, err := f.db.settle(ctx, r)
			if err != nil {
				return err
			}
			if gone {
				f.moved.Add(1)
			} else {
				clean = false
			}
		}
		if len(rows) < movePage {
			break
		}
		tenant, token = rows[len(rows)-1].tenant, rows[len(rows)-1].token
	}
	f.mu.Lock()
	if clean && f.gen == gen {
		f.pending = false
	}
	f.mu.Unlock()
	return nil
}

// Run purges expired database sessions every cleanup interval and moves
// sessions back to Redis whenever Redis works again, until ctx is done.
func (f *Failover) Run(ctx context.Context) error {
	purge := time.NewTicker(f.cleanup)
	defer purge.Stop()
	// Retry a pass that Redis or a concurrent write interrupted.
	retry := time.NewTicker(f.openFor)
	defer retry.Stop()
	move := func() {
		if err := f.MoveBack(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errRedisRefused) {
			f.log.Warn("move sessions back to redis", "err", err)
		}
	}
	move()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-purge.C:
			f.db.cleanup(ctx, f.log)
		case <-f.kick:
			move()
		case <-retry.C:
			move()
		}
	}
}

// Stats is a snapshot of the store for /metrics and logs.
type Stats struct {
	// Mode is where sessions go now: "redis"; "database" (no Redis, or the
	// breaker open); "probing" (half-open: one call tries Redis).
	Mode string
	// Pending is true while the database may hold dirty sessions: written
	// while Redis failed, not yet moved back.
	Pending bool
	// RedisErrors counts failed Redis calls (each one served by the database).
	RedisErrors uint64
	// Fallbacks counts calls the database served because Redis failed or the
	// breaker was open.
	Fallbacks uint64
	// Moved counts dirty sessions and tombstones moved back to Redis.
	Moved uint64
	// Trips counts how often the breaker opened.
	Trips uint64
}

// Stats returns the current mode and counters.
func (f *Failover) Stats() Stats {
	s := Stats{
		Mode:        "database",
		Pending:     f.isPending(),
		RedisErrors: f.redisErrors.Load(),
		Fallbacks:   f.fallbacks.Load(),
		Moved:       f.moved.Load(),
		Trips:       f.trips.Load(),
	}
	if f.redis != nil {
		switch f.cb.State() {
		case gobreaker.StateClosed:
			s.Mode = "redis"
		case gobreaker.StateHalfOpen:
			s.Mode = "probing"
		}
	}
	return s
}

// nonNil keeps an empty session from being stored as NULL, the tombstone.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
