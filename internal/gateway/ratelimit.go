package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// limiter is a set of token buckets by key.
type limiter interface {
	// allow takes a token from key's bucket (refilled at perSecond, of
	// size burst); when there is none it says how long until there is.
	allow(ctx context.Context, key string, perSecond, burst int) (ok bool, retryAfter time.Duration, err error)
	run(ctx context.Context)
}

// memoryLimiter keeps the buckets in this process: the laptop, or a
// single gateway.
type memoryLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	used time.Time
}

func newMemoryLimiter(now func() time.Time) *memoryLimiter {
	return &memoryLimiter{now: now, m: map[string]*bucket{}}
}

func (l *memoryLimiter) allow(_ context.Context, key string, perSecond, burst int) (bool, time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	b := l.m[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Limit(perSecond), burst)}
		l.m[key] = b
	}
	b.used = now
	l.mu.Unlock()
	res := b.l.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second, nil
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// run forgets buckets unused for a while, so that a stream of client
// addresses does not grow the map for ever: a bucket idle for a minute
// is full again anyway at any rate of 1/s or more.
func (l *memoryLimiter) run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cutoff := l.now().Add(-time.Minute)
		l.mu.Lock()
		for k, b := range l.m {
			if b.used.Before(cutoff) {
				delete(l.m, k)
			}
		}
		l.mu.Unlock()
	}
}

// redisLimiter keeps the buckets in Redis (GCRA, redis_rate), shared by
// every gateway replica.
type redisLimiter struct{ l *redis_rate.Limiter }

func newRedisLimiter(c *redis.Client) *redisLimiter {
	return &redisLimiter{l: redis_rate.NewLimiter(c)}
}

func (l *redisLimiter) allow(ctx context.Context, key string, perSecond, burst int) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	res, err := l.l.Allow(ctx, "mercato:gateway:"+key, redis_rate.Limit{Rate: perSecond, Burst: burst, Period: time.Second})
	if err != nil {
		return false, 0, err
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, res.RetryAfter, nil
}

func (l *redisLimiter) run(context.Context) {}
