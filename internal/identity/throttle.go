package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/mercato/mercato/internal/platform/session"
)

// Login throttling counts failed logins per account (tenant, kind, email)
// and per client IP, each in a token bucket (GCRA): Failures attempts at
// once, then one more every Window/Failures. A login whose account or IP
// has no attempt left is refused with a ThrottledError before the password
// is checked, so guessing costs the attacker time, not us CPU.

// Limit is a throttle's budget: Failures per Window.
type Limit struct {
	Failures int
	Window   time.Duration
}

func (l Limit) interval() time.Duration { return l.Window / time.Duration(l.Failures) }

// Throttle counts failures per key. Implementations are safe for
// concurrent use.
type Throttle interface {
	// Blocked returns how long key must wait before its next attempt; 0
	// means it may try now.
	Blocked(ctx context.Context, key string, l Limit) (time.Duration, error)
	// Fail records a failed attempt of key.
	Fail(ctx context.Context, key string, l Limit) error
	// Reset forgets key's failures (after a successful login).
	Reset(ctx context.Context, key string) error
	// Close releases the throttle's resources.
	Close() error
}

// ThrottledError refuses a login attempt: too many failures; RetryAfter
// says when the next attempt may be made.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("identity: too many failed logins; retry in %s", e.RetryAfter.Round(time.Second))
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for the Retry-After header.
func (e *ThrottledError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// throttleRedisTimeout bounds each Redis call of the throttle: a login
// waits at most this long for a Redis that hangs before counting in memory.
const throttleRedisTimeout = 250 * time.Millisecond

// newThrottle returns the throttle the config selects: in memory, or in
// Redis with the memory throttle standing in while Redis fails.
func newThrottle(cfg Config, log *slog.Logger) (Throttle, error) {
	if cfg.Redis == "" {
		return NewMemoryThrottle(nil), nil
	}
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("identity: redis URL: %w", err)
	}
	rt := NewRedisThrottle(redis.NewClient(session.RedisOptions(opts, throttleRedisTimeout)), "mercato:identity:login:")
	return &fallbackThrottle{primary: rt, backup: NewMemoryThrottle(nil), log: log}, nil
}

// fallbackThrottle counts in primary (Redis) and, for any call primary
// fails, in backup (this process's memory): during a Redis outage logins
// keep working and guessing stays throttled, per replica rather than
// across them. Failures counted in backup are not carried to primary.
type fallbackThrottle struct {
	primary, backup Throttle
	log             *slog.Logger
	warned          atomic.Bool // one warning per outage, not per login
}

func (f *fallbackThrottle) fellBack(ctx context.Context, err error) {
	if f.warned.CompareAndSwap(false, true) {
		f.log.WarnContext(ctx, "login throttle counting in memory: redis failing", "err", err)
	}
}

func (f *fallbackThrottle) recovered(ctx context.Context) {
	if f.warned.CompareAndSwap(true, false) {
		f.log.InfoContext(ctx, "login throttle counting in redis again")
	}
}

// Blocked implements Throttle: the longer wait of the two, so attempts
// counted in memory during an outage still count while it lasts.
func (f *fallbackThrottle) Blocked(ctx context.Context, key string, l Limit) (time.Duration, error) {
	mem, _ := f.backup.Blocked(ctx, key, l)
	d, err := f.primary.Blocked(ctx, key, l)
	if err != nil {
		f.fellBack(ctx, err)
		return mem, nil
	}
	f.recovered(ctx)
	return max(d, mem), nil
}

// Fail implements Throttle.
func (f *fallbackThrottle) Fail(ctx context.Context, key string, l Limit) error {
	if err := f.primary.Fail(ctx, key, l); err != nil {
		f.fellBack(ctx, err)
		return f.backup.Fail(ctx, key, l)
	}
	return nil
}

// Reset implements Throttle: both, so a success forgets outage failures.
func (f *fallbackThrottle) Reset(ctx context.Context, key string) error {
	_ = f.backup.Reset(ctx, key)
	if err := f.primary.Reset(ctx, key); err != nil {
		f.fellBack(ctx, err)
	}
	return nil
}

// Close implements Throttle.
func (f *fallbackThrottle) Close() error {
	return errors.Join(f.primary.Close(), f.backup.Close())
}

// MemoryThrottle keeps the buckets in process memory: right for one
// process (the laptop, tests); replicas behind a balancer need Redis.
type MemoryThrottle struct {
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewMemoryThrottle returns an empty in-memory throttle; now may be nil
// (time.Now).
func NewMemoryThrottle(now func() time.Time) *MemoryThrottle {
	if now == nil {
		now = time.Now
	}
	return &MemoryThrottle{now: now, buckets: map[string]*rate.Limiter{}}
}

// Blocked implements Throttle.
func (m *MemoryThrottle) Blocked(_ context.Context, key string, l Limit) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		return 0, nil
	}
	tokens := b.TokensAt(m.now())
	if tokens >= 1 {
		return 0, nil
	}
	return time.Duration((1 - tokens) * float64(l.interval())), nil
}

// Fail implements Throttle.
func (m *MemoryThrottle) Fail(_ context.Context, key string, l Limit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	b, ok := m.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Every(l.interval()), l.Failures)
		m.buckets[key] = b
	}
	b.AllowN(now, 1) // an empty bucket stays empty
	// Buckets that refilled completely hold no information: drop them now
	// and then, so the map does not grow with every IP ever seen.
	if now.Sub(m.swept) > time.Minute {
		m.swept = now
		for k, b := range m.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(m.buckets, k)
			}
		}
	}
	return nil
}

// Reset implements Throttle.
func (m *MemoryThrottle) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.buckets, key)
	m.mu.Unlock()
	return nil
}

// Close implements Throttle.
func (m *MemoryThrottle) Close() error { return nil }

// RedisThrottle keeps the buckets in Redis (redis_rate's GCRA script), so
// every replica counts the same failures.
type RedisThrottle struct {
	rdb    *redis.Client
	lim    *redis_rate.Limiter
	prefix string
}

// NewRedisThrottle returns a throttle on rdb whose keys start with prefix.
// Close closes rdb.
func NewRedisThrottle(rdb *redis.Client, prefix string) *RedisThrottle {
	return &RedisThrottle{rdb: rdb, lim: redis_rate.NewLimiter(rdb), prefix: prefix}
}

func redisLimit(l Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Failures, Burst: l.Failures, Period: l.Window}
}

// Blocked implements Throttle. It asks the GCRA script about a zero-cost
// request, which changes nothing and reports how many attempts remain; with
// none left, the next one is possible when the bucket has drained all but
// Failures-1 attempts.
func (r *RedisThrottle) Blocked(ctx context.Context, key string, l Limit) (time.Duration, error) {
	res, err := r.lim.AllowN(ctx, r.prefix+key, redisLimit(l), 0)
	if err != nil {
		return 0, fmt.Errorf("check login throttle: %w", err)
	}
	if res.Remaining >= 1 {
		return 0, nil
	}
	wait := res.ResetAfter - time.Duration(l.Failures-1)*l.interval()
	return max(wait, time.Millisecond), nil
}

// Fail implements Throttle.
func (r *RedisThrottle) Fail(ctx context.Context, key string, l Limit) error {
	if _, err := r.lim.AllowN(ctx, r.prefix+key, redisLimit(l), 1); err != nil {
		return fmt.Errorf("count failed login: %w", err)
	}
	return nil
}

// Reset implements Throttle.
func (r *RedisThrottle) Reset(ctx context.Context, key string) error {
	if err := r.lim.Reset(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("reset login throttle: %w", err)
	}
	return nil
}

// Close implements Throttle.
func (r *RedisThrottle) Close() error { return r.rdb.Close() }
