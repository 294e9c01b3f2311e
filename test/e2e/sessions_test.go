package e2e

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mercato/mercato/test/harness"
)

// redisServer is a redis-server process of the test's own on a free
// loopback port (never the shared one), which the test kills and restarts.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &redisServer{t: t, port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s does not answer", r.addr())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// kill stops the process at once; it keeps nothing (no persistence).
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// has reports whether Redis holds the session of token of the default store.
func (r *redisServer) has(t *testing.T, token string) bool {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	n, err := c.Exists(t.Context(), "mercato:session:default:"+token).Result()
	if err != nil {
		t.Fatalf("look in redis: %v", err)
	}
	return n == 1
}

func sessionCookie(t *testing.T, r harness.Response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "mercato_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", r.Header)
	return ""
}

// TestSessionsSurviveRedis runs Mercato with -redis pointing at a
// redis-server of its own, signs a customer in to a web session, kills
// Redis, keeps using the session and signs in again (every request
// succeeds: the sessions are served by the database), restarts Redis
// (empty) and checks the sessions work on and are moved back to it.
func TestSessionsSurviveRedis(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs := startRedis(t)
			args := append([]string{"-data=" + t.TempDir(), "-services=tenant,identity", "-seed-demo=false",
				"-redis=redis://" + rs.addr() + "/0", "-session.breaker-open=300ms"}, flags(t)...)
			if harness.UsesPostgres(args) {
				harness.HoldPostgres(t)
			}
			p := harness.Start(t, binary, nil, args...)

			const email, password = "ada@example.com", "correct horse battery staple"
			if r := p.Call("POST", "/api/v1/auth/register", map[string]any{"email": email, "password": password, "name": "Ada"}, nil); r.Status != http.StatusAccepted {
				t.Fatalf("register: %d %s", r.Status, r.Body)
			}
			login := func(when string) string {
				t.Helper()
				r := p.Call("POST", "/api/v1/auth/session", map[string]any{"email": email, "password": password}, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("session login %s: %d %s", when, r.Status, r.Body)
				}
				return sessionCookie(t, r)
			}
			me := func(token, when string) {
				t.Helper()
				r := p.Call("GET", "/api/v1/me", nil, map[string]string{"Cookie": "mercato_session=" + token})
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), email) {
					t.Fatalf("me %s: %d %s", when, r.Status, r.Body)
				}
			}

			first := login("with redis up")
			me(first, "with redis up")
			if !rs.has(t, first) {
				t.Fatal("the session is not in redis while redis is up")
			}

			rs.kill()
			for i := range 10 {
				me(first, "with redis down #"+strconv.Itoa(i))
			}
			second := login("with redis down")
			for i := range 10 {
				me(second, "of the second session with redis down #"+strconv.Itoa(i))
				me(first, "of the first session with redis down #"+strconv.Itoa(i))
			}
			if !strings.Contains(p.Stderr.String(), "redis sessions failing, using the database") {
				t.Errorf("no warning that sessions moved to the database; stderr:\n%s", p.Stderr)
			}

			// Redis comes back empty: both sessions keep working, and the
			// one written during the outage is moved back to Redis.
			rs.start()
			deadline := time.Now().Add(30 * time.Second)
			for !rs.has(t, second) {
				if time.Now().After(deadline) {
					t.Fatal("the session written during the outage was not moved back to redis within 30s")
				}
				me(first, "after redis restarted")
				me(second, "after redis restarted")
				time.Sleep(50 * time.Millisecond)
			}
			third := login("after redis restarted")
			me(third, "after redis restarted")
			me(first, "after redis restarted")
			if !rs.has(t, third) {
				t.Fatal("a session made after the restart is not in redis")
			}
			if r := p.Call("DELETE", "/api/v1/auth/session", nil, map[string]string{"Cookie": "mercato_session=" + second}); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.Status, r.Body)
			}
			if r := p.Call("GET", "/api/v1/me", nil, map[string]string{"Cookie": "mercato_session=" + second}); r.Status != http.StatusUnauthorized {
				t.Fatalf("me after logout: %d %s", r.Status, r.Body)
			}
			p.Stop()
		})
	}
}
