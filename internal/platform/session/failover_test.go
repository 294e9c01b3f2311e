package session

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// app is a site with /login?user=, /set?v=, /me and /logout, its
// requests in tenant "default", counting every failed request.
type app struct {
	t      *testing.T
	srv    *httptest.Server
	failed int
}

func newApp(t *testing.T, sm *scs.SessionManager) *app {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", r.URL.Query().Get("user"))
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "v", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		u := sm.GetString(r.Context(), "user")
		if u == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, u+sm.GetString(r.Context(), "v"))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	h := sm.LoadAndSave(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(tenancy.WithID(r.Context(), tenancy.DefaultID)))
	}))
	t.Cleanup(srv.Close)
	return &app{t: t, srv: srv}
}

// user is one browser.
type user struct {
	a  *app
	hc *http.Client
}

func (a *app) user() *user {
	jar, _ := cookiejar.New(nil)
	return &user{a: a, hc: &http.Client{Jar: jar}}
}

// get fetches path and returns status and body; a 5xx or transport error
// counts as a failed request.
func (u *user) get(path string) (int, string) {
	u.a.t.Helper()
	res, err := u.hc.Get(u.a.srv.URL + path)
	if err != nil {
		u.a.failed++
		u.a.t.Errorf("GET %s: %v", path, err)
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		u.a.failed++
		u.a.t.Errorf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return res.StatusCode, string(b)
}

// wantMe checks who the session says the user is ("" means nobody).
func (u *user) wantMe(want string) {
	u.a.t.Helper()
	code, body := u.get("/me")
	switch {
	case want == "" && code != http.StatusUnauthorized:
		u.a.t.Errorf("/me = %d %q, want 401", code, body)
	case want != "" && (code != http.StatusOK || body != want):
		u.a.t.Errorf("/me = %d %q, want %q", code, body, want)
	}
}

func (u *user) login(name string) {
	u.a.t.Helper()
	if code, _ := u.get("/login?user=" + name); code != http.StatusOK {
		u.a.t.Errorf("login %s: %d", name, code)
	}
}

func (u *user) token() string {
	base, _ := url.Parse(u.a.srv.URL)
	for _, c := range u.hc.Jar.Cookies(base) {
		if c.Name == CookieName {
			return c.Value
		}
	}
	return ""
}

func TestDeadRedisLoginsAndSessionsWork(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := testConfig()
		cfg.RedisURL = deadRedisURL(t)
		// Redis stays dead for the whole test: the breaker must not half-open
		// (probing) before the stats are read, however slow the machine.
		cfg.OpenFor = time.Hour
		sm, f, err := New(cfg, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		go f.Run(t.Context())
		a := newApp(t, sm)
		users := make([]*user, 10)
		for i := range users {
			users[i] = a.user()
			users[i].login("u" + strconv.Itoa(i))
			for range 3 {
				users[i].wantMe("u" + strconv.Itoa(i))
			}
		}
		users[0].get("/logout")
		users[0].wantMe("")
		users[1].get("/set?v=!")
		users[1].wantMe("u1!")
		if a.failed != 0 {
			t.Fatalf("%d failed requests, want 0", a.failed)
		}
		waitDatabaseMode(t, f, users[1], "!", "u1!")
		if a.failed != 0 {
			t.Fatalf("%d failed requests, want 0", a.failed)
		}
	}, Migrations)
}

// waitDatabaseMode makes requests as u (each must succeed), setting v in
// the session and reading it back as want, until the breaker has tripped
// and the store serves sessions from the database. How soon that happens
// depends on the machine's speed, not on the requests made so far: while
// the store is pending (from the start until Run's first pass finds
// nothing to move, and again after a write Redis refused), requests are
// served by the database without calling Redis, and only Run's move-back
// passes, woken by each changed session, try Redis and count towards the
// trip. A slow Run may not have tried at all yet when the requests end.
func waitDatabaseMode(t *testing.T, f *Failover, u *user, v, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st := f.Stats(); st.Mode == "database" && st.Trips > 0 && st.Fallbacks > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats = %+v after 30 s; want database mode after a trip", f.Stats())
		}
		u.get("/set?v=" + v)
		u.wantMe(want)
		time.Sleep(25 * time.Millisecond)
	}
}

// ownRedis is a redis-server process of the test's own on a free loopback
// port, which the test may kill, freeze and restart.
type ownRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &ownRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port)})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(r.t.Context()).Err() == nil {
			return
		}
		if i == 200 {
			r.t.Fatalf("redis-server on port %d does not answer", r.port)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop kills the process (it keeps nothing: no persistence).
func (r *ownRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *ownRedis) signal(sig syscall.Signal) {
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal redis-server: %v", err)
	}
}

// waitRedisMode makes requests as u (each must succeed) until the store is
// back on Redis with nothing left to move.
func waitRedisMode(t *testing.T, f *Failover, u *user, want string) {
	t.Helper()
	for i := 0; ; i++ {
		u.wantMe(want)
		if st := f.Stats(); st.Mode == "redis" && !st.Pending {
			return
		}
		if i == 400 {
			t.Fatalf("store never went back to redis: %+v", f.Stats())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestRedisStopsMidSession(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		own := startOwnRedis(t)
		cfg := testConfig()
		cfg.RedisURL = own.url()
		sm, f, err := New(cfg, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.MoveBack(t.Context()); err != nil {
			t.Fatal(err)
		}
		go f.Run(t.Context())
		peek := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(own.port)})
		defer peek.Close()
		inRedis := func(u *user) bool {
			n, _ := peek.Exists(t.Context(), cfg.KeyPrefix+"default:"+u.token()).Result()
			return n == 1
		}
		a := newApp(t, sm)

		alice := a.user()
		alice.login("alice")
		alice.wantMe("alice")
		if !inRedis(alice) {
			t.Fatal("alice's session is not in redis")
		}

		own.stop()
		for range 5 {
			alice.wantMe("alice")
		}
		bob := a.user()
		bob.login("bob")
		bob.wantMe("bob")
		carol := a.user()
		carol.login("carol")
		carol.get("/logout")
		carol.wantMe("")
		if st := f.Stats(); st.Mode != "database" || st.Trips == 0 || !st.Pending {
			t.Fatalf("during the outage: stats = %+v; want database mode, pending", st)
		}

		own.start()
		waitRedisMode(t, f, alice, "alice")
		bob.wantMe("bob")
		if !inRedis(bob) {
			t.Error("bob's session (created during the outage) was not moved to redis")
		}
		alice.wantMe("alice")
		if !inRedis(alice) {
			t.Error("alice's session is not back in redis")
		}
		dave := a.user()
		dave.login("dave")
		dave.wantMe("dave")
		if !inRedis(dave) {
			t.Error("dave's session (created after recovery) is not in redis")
		}
		carol.wantMe("")
		if a.failed != 0 {
			t.Fatalf("%d failed requests, want 0", a.failed)
		}
		if st := f.Stats(); st.Moved == 0 {
			t.Fatalf("stats = %+v; want sessions moved back", st)
		}
	}, Migrations)
}

// TestStaleRedisCopies freezes Redis (its data survives) while sessions
// change and end, and checks that the stale Redis copies never come back.
func TestStaleRedisCopies(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		own := startOwnRedis(t)
		cfg := testConfig()
		cfg.RedisURL = own.url()
		cfg.RedisTimeout = 100 * time.Millisecond
		sm, f, err := New(cfg, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.MoveBack(t.Context()); err != nil {
			t.Fatal(err)
		}
		go f.Run(t.Context())
		a := newApp(t, sm)
		alice, bob := a.user(), a.user()
		alice.login("alice")
		alice.get("/set?v=1")
		bob.login("bob")
		bob.wantMe("bob")

		own.signal(syscall.SIGSTOP)
		alice.get("/set?v=2")
		alice.wantMe("alice2")
		bob.get("/logout")
		bob.wantMe("")
		own.signal(syscall.SIGCONT)

		waitRedisMode(t, f, alice, "alice2")
		alice.wantMe("alice2")
		bob.wantMe("")
		if a.failed != 0 {
			t.Fatalf("%d failed requests, want 0", a.failed)
		}
	}, Migrations)
}
