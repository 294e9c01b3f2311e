package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// redisEnv names the variable holding the shared test Redis URL.
const redisEnv = "MERCATO_TEST_REDIS"

func inTenant(t *testing.T, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sharedRedis returns a client of the shared test Redis and a key prefix
// of this test's own, whose keys are deleted when the test ends.
func sharedRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv(redisEnv)
	if url == "" {
		t.Skip(redisEnv + " is not set")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", redisEnv, err)
	}
	rdb := redis.NewClient(opts)
	prefix := "mercato-test:" + randomHex(6) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("shared redis at %s: %v", url, err)
	}
	return rdb, prefix
}

// deadRedisURL returns the URL of a loopback port nothing listens on.
func deadRedisURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "redis://" + addr + "/0"
}

func testConfig() Config {
	c := DefaultConfig()
	c.OpenFor = 300 * time.Millisecond
	return c
}

// contract is the behaviour every store must have.
func contract(t *testing.T, s scs.CtxStore) {
	t.Helper()
	future := time.Now().Add(time.Hour)
	cases := []struct {
		name string
		run  func(t *testing.T, ctx context.Context)
	}{
		{"commit then find", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-a", "alpha", future)
			wantFind(t, ctx, s, "tok-a", "alpha")
		}},
		{"missing", func(t *testing.T, ctx context.Context) {
			wantFind(t, ctx, s, "no-such-token", "")
		}},
		{"overwrite", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-b", "one", future)
			commit(t, ctx, s, "tok-b", "two", future)
			wantFind(t, ctx, s, "tok-b", "two")
		}},
		{"delete", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-c", "gamma", future)
			if err := s.DeleteCtx(ctx, "tok-c"); err != nil {
				t.Fatalf("delete: %v", err)
			}
			wantFind(t, ctx, s, "tok-c", "")
			if err := s.DeleteCtx(ctx, "tok-c"); err != nil {
				t.Fatalf("delete again: %v", err)
			}
		}},
		{"expiry already past removes", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-d", "delta", future)
			commit(t, ctx, s, "tok-d", "delta", time.Now().Add(-time.Second))
			wantFind(t, ctx, s, "tok-d", "")
		}},
		{"expires", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-e", "eps", time.Now().Add(150*time.Millisecond))
			time.Sleep(400 * time.Millisecond)
			wantFind(t, ctx, s, "tok-e", "")
		}},
		{"binary data", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-f", "\x00\xff\x01gob", future)
			wantFind(t, ctx, s, "tok-f", "\x00\xff\x01gob")
		}},
		{"tenants are separate", func(t *testing.T, ctx context.Context) {
			commit(t, ctx, s, "tok-g", "acme's", future)
			other := tenancy.WithID(ctx, "globex")
			wantFind(t, other, s, "tok-g", "")
			if err := s.DeleteCtx(other, "tok-g"); err != nil {
				t.Fatalf("delete in other tenant: %v", err)
			}
			wantFind(t, ctx, s, "tok-g", "acme's")
		}},
		{"no tenant", func(t *testing.T, _ context.Context) {
			if _, _, err := s.FindCtx(t.Context(), "tok-a"); !errors.Is(err, ErrNoTenant) {
				t.Errorf("find without tenant: %v, want ErrNoTenant", err)
			}
			if err := s.CommitCtx(t.Context(), "tok-h", []byte("x"), future); !errors.Is(err, ErrNoTenant) {
				t.Errorf("commit without tenant: %v, want ErrNoTenant", err)
			}
			if err := s.Delete("tok-a"); !errors.Is(err, ErrNoTenant) {
				t.Errorf("delete without context: %v, want ErrNoTenant", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, inTenant(t, "acme")) })
	}
}

func commit(t *testing.T, ctx context.Context, s scs.CtxStore, token, data string, expiry time.Time) {
	t.Helper()
	if err := s.CommitCtx(ctx, token, []byte(data), expiry); err != nil {
		t.Fatalf("commit %s: %v", token, err)
	}
}

// wantFind checks token's data; want "" means not found.
func wantFind(t *testing.T, ctx context.Context, s scs.CtxStore, token, want string) {
	t.Helper()
	b, found, err := s.FindCtx(ctx, token)
	if err != nil {
		t.Fatalf("find %s: %v", token, err)
	}
	if found != (want != "") || !bytes.Equal(b, []byte(want)) && want != "" {
		t.Fatalf("find %s = %q, %v; want %q", token, b, found, want)
	}
}

func TestDBStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		contract(t, NewDBStore(db))
	}, Migrations)
}

func TestDBStoreCleanup(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := NewDBStore(db)
		now := time.Now()
		s.now = func() time.Time { return now }
		ctx := inTenant(t, "acme")
		commit(t, ctx, s, "short", "s", now.Add(time.Minute))
		commit(t, ctx, s, "long", "l", now.Add(time.Hour))
		now = now.Add(2 * time.Minute)
		wantFind(t, ctx, s, "short", "")
		n, err := s.Cleanup(ctx)
		if err != nil || n != 1 {
			t.Fatalf("cleanup = %d, %v; want 1", n, err)
		}
		var left int
		if err := db.ReadTx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT count(*) FROM web_sessions`).Scan(&left)
		}); err != nil || left != 1 {
			t.Fatalf("rows left = %d, %v; want 1", left, err)
		}
		wantFind(t, ctx, s, "long", "l")
	}, Migrations)
}

func TestRedisStore(t *testing.T) {
	rdb, prefix := sharedRedis(t)
	s := NewRedisStore(rdb, prefix)
	contract(t, s)
	ctx := inTenant(t, "acme")
	commit(t, ctx, s, "ttl", "x", time.Now().Add(time.Minute))
	ttl, err := rdb.PTTL(ctx, prefix+"acme:ttl").Result()
	if err != nil || ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("PTTL = %s, %v; want about a minute", ttl, err)
	}
}

func TestFailoverContract(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("live redis", func(t *testing.T) {
			rdb, prefix := sharedRedis(t)
			f := NewFailover(testConfig(), NewDBStore(db), NewRedisStore(rdb, prefix), nil)
			if err := f.MoveBack(t.Context()); err != nil {
				t.Fatal(err)
			}
			contract(t, f)
			st := f.Stats()
			if st.Mode != "redis" || st.Pending || st.Fallbacks != 0 || st.RedisErrors != 0 {
				t.Fatalf("stats = %+v; want redis mode, no fallback", st)
			}
		})
		t.Run("dead redis", func(t *testing.T) {
			cfg := testConfig()
			cfg.RedisURL = deadRedisURL(t)
			_, f, err := New(cfg, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			contract(t, f)
			if st := f.Stats(); st.Trips == 0 || st.Fallbacks == 0 {
				t.Fatalf("stats = %+v; want the breaker tripped", st)
			}
		})
		t.Run("no redis", func(t *testing.T) {
			_, f, err := New(testConfig(), db, nil)
			if err != nil {
				t.Fatal(err)
			}
			contract(t, f)
			if st := f.Stats(); st.Mode != "database" || st.Pending {
				t.Fatalf("stats = %+v; want database mode", st)
			}
		})
	}, Migrations)
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"redis url", func(c *Config) { c.RedisURL = "redis://127.0.0.1:6379/0" }, true},
		{"bad redis url", func(c *Config) { c.RedisURL = "http://x" }, false},
		{"idle above lifetime", func(c *Config) { c.IdleTimeout = 8 * 24 * time.Hour }, false},
		{"zero timeout", func(c *Config) { c.RedisTimeout = 0 }, false},
		{"zero trip", func(c *Config) { c.TripAfter = 0 }, false},
		{"mirror above idle", func(c *Config) { c.MirrorInterval = 25 * time.Hour }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.edit(&cfg)
			if err := cfg.Validate(); (err == nil) != c.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, c.ok)
			}
		})
	}
}
