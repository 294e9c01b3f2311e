package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// throttleContract is what every Throttle must do: Failures failures, then
// blocked with a positive wait of at most one interval; Reset unblocks.
func throttleContract(t *testing.T, th Throttle) {
	ctx := t.Context()
	l := Limit{Failures: 3, Window: time.Minute}
	for i := range l.Failures {
		if d, err := th.Blocked(ctx, "k", l); err != nil || d != 0 {
			t.Fatalf("before failure %d: blocked %s, %v", i, d, err)
		}
		if err := th.Fail(ctx, "k", l); err != nil {
			t.Fatal(err)
		}
	}
	d, err := th.Blocked(ctx, "k", l)
	if err != nil || d <= 0 || d > l.interval() {
		t.Fatalf("after %d failures: blocked %s, %v; want 0 < wait <= %s", l.Failures, d, err, l.interval())
	}
	if d, _ := th.Blocked(ctx, "other", l); d != 0 {
		t.Fatalf("another key is blocked %s", d)
	}
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, _ := th.Blocked(ctx, "k", l); d != 0 {
		t.Fatalf("after reset: blocked %s", d)
	}
}

func TestMemoryThrottle(t *testing.T) {
	clk := &clock{t: time.Now()}
	th := NewMemoryThrottle(clk.now)
	throttleContract(t, th)
	// Waiting the announced time unblocks one attempt.
	l := Limit{Failures: 2, Window: time.Minute}
	for range 2 {
		_ = th.Fail(t.Context(), "w", l)
	}
	d, _ := th.Blocked(t.Context(), "w", l)
	clk.add(d)
	if d2, _ := th.Blocked(t.Context(), "w", l); d2 != 0 {
		t.Fatalf("after waiting %s: still blocked %s", d, d2)
	}
}

// redisThrottle returns a throttle on MERCATO_TEST_REDIS with a key prefix
// of its own, or skips.
func redisThrottle(t *testing.T) *RedisThrottle {
	url := os.Getenv("MERCATO_TEST_REDIS")
	if url == "" {
		t.Skip("MERCATO_TEST_REDIS is not set")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	th := NewRedisThrottle(redis.NewClient(opts), "test:identity:"+hex.EncodeToString(b[:])+":")
	t.Cleanup(func() { _ = th.Close() })
	if err := th.rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return th
}

func TestRedisThrottle(t *testing.T) {
	throttleContract(t, redisThrottle(t))
}

// TestLoginThrottleRedis: the service on Redis refuses logins after the
// account's failures, with the wait in the error.
func TestLoginThrottleRedis(t *testing.T) {
	th := redisThrottle(t)
	db := sqldbtest.Open(t, "", Migrations...)
	s, _ := newTestService(t, db)
	s.throttle = th
	ctx := tctx(t, "default")
	if _, err := s.Register(ctx, identityapi.Register{Email: "r@example.com", Password: goodPW, Name: "R"}); err != nil {
		t.Fatal(err)
	}
	for range s.cfg.AccountFailures {
		_, _ = s.Login(ctx, "r@example.com", "wrong password", "192.0.2.1")
	}
	_, err := s.Login(ctx, "r@example.com", goodPW, "192.0.2.2")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfterSeconds() < 1 {
		t.Fatalf("login after failures: %v", err)
	}
}

// BenchmarkLogin measures one customer login with the default argon2id
// parameters, which dominate it.
func BenchmarkLogin(b *testing.B) {
	db := sqldbtest.Open(b, "", Migrations...)
	s, err := New(b.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	ctx := tctx(b, "default")
	if _, err := s.Register(ctx, identityapi.Register{Email: "bench@example.com", Password: goodPW, Name: "B"}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Login(ctx, "bench@example.com", goodPW, ""); err != nil {
			b.Fatal(err)
		}
	}
}
