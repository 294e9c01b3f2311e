package identity

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/session"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// deadRedis returns the URL of a loopback port nothing listens on: every
// connection is refused, as when the Redis server is down.
func deadRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "redis://" + addr + "/0"
}

// runService runs s (session store and pruning) until the test ends.
func runService(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// cookieOf returns the session cookie a response sets, or nil.
func cookieOf(a answer) *http.Cookie {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == session.CookieName {
			return c
		}
	}
	return nil
}

func withCookie(token string) map[string]string {
	return map[string]string{"Cookie": session.CookieName + "=" + token}
}

// TestWebSessions signs customers in to web sessions over HTTP with the
// sessions in the database alone, and with a Redis that is down (sessions
// and the login throttle then fail over to the database and memory): every
// login and /me read succeeds all the same.
func TestWebSessions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		redis bool
	}{
		{"database", false},
		{"dead redis", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
				cfg := Config{Argon2: cheap}
				if tt.redis {
					cfg.Redis = deadRedis(t)
					cfg.Session.RedisURL = cfg.Redis
				}
				s, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				runService(t, s)
				srv := newHTTPServer(t, s)
				if _, err := s.Register(tctx(t, "default"), identityapi.Register{Email: "ada@example.com", Password: goodPW, Name: "Ada"}); err != nil {
					t.Fatal(err)
				}
				login := map[string]any{"email": "Ada@Example.com", "password": goodPW}

				// 20 logins, each a new session read back at once.
				var tokens []string
				for i := range 20 {
					a := call(t, srv, "POST", "/api/v1/auth/session", "default", nil, login)
					c := cookieOf(a)
					if a.status != 200 || a.body["email"] != "ada@example.com" || c == nil || c.Value == "" {
						t.Fatalf("login %d = %d %v %v", i, a.status, a.header, a.body)
					}
					if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 ||
						a.header.Get("Cache-Control") != "no-store" || a.body["access_token"] != nil {
						t.Fatalf("login %d cookie %+v, headers %v, body %v", i, c, a.header, a.body)
					}
					me := call(t, srv, "GET", "/api/v1/me", "default", withCookie(c.Value), nil)
					if me.status != 200 || me.body["email"] != "ada@example.com" || cookieOf(me) == nil {
						t.Fatalf("me %d = %d %v %v", i, me.status, me.header, me.body)
					}
					tokens = append(tokens, c.Value)
				}
				for i, tok := range tokens {
					if me := call(t, srv, "GET", "/api/v1/me", "default", withCookie(tok), nil); me.status != 200 {
						t.Fatalf("me of session %d later = %d %v", i, me.status, me.body)
					}
				}
				if tt.redis {
					// Redis is tried by the session store's Run, woken by
					// changed sessions, not by the requests themselves
					// while the store is pending: how soon depends on the
					// machine. So log in (each must still succeed) until
					// it has been tried and the store serves from the
					// database, within a generous deadline.
					for deadline := time.Now().Add(30 * time.Second); ; {
						st := s.sessionStore.Stats()
						if st.Mode == "database" && st.RedisErrors > 0 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("stats with a dead redis = %+v after 30 s: redis was not tried", st)
						}
						if a := call(t, srv, "POST", "/api/v1/auth/session", "default", nil, login); a.status != 200 {
							t.Fatalf("login while redis is dead = %d %v", a.status, a.body)
						}
						time.Sleep(25 * time.Millisecond)
					}
				}

				// A login with a session cookie replaces that session.
				a := call(t, srv, "POST", "/api/v1/auth/session", "default", withCookie(tokens[0]), login)
				if c := cookieOf(a); a.status != 200 || c == nil || c.Value == tokens[0] {
					t.Fatalf("login over a session = %d %v", a.status, a.header)
				}
				if me := call(t, srv, "GET", "/api/v1/me", "default", withCookie(tokens[0]), nil); me.status != 401 || me.body["code"] != "unauthorized" {
					t.Fatalf("me of a replaced session = %d %v", me.status, me.body)
				}

				// Logout ends the session and deletes the cookie; twice is fine.
				for range 2 {
					out := call(t, srv, "DELETE", "/api/v1/auth/session", "default", withCookie(tokens[1]), nil)
					if c := cookieOf(out); out.status != 204 || c == nil || c.MaxAge >= 0 || c.Value != "" {
						t.Fatalf("logout = %d %v", out.status, out.header)
					}
				}
				if me := call(t, srv, "GET", "/api/v1/me", "default", withCookie(tokens[1]), nil); me.status != 401 {
					t.Fatalf("me after logout = %d %v", me.status, me.body)
				}

				// Bad input and foreign cookies get 4xx, and no cookie.
				for _, bad := range []struct {
					name, method, path, tenant string
					hdr                        map[string]string
					body                       any
					status                     int
					code                       string
				}{
					{"wrong password", "POST", "/api/v1/auth/session", "default", nil, map[string]any{"email": "ada@example.com", "password": "not it at all"}, 401, "invalid_credentials"},
					{"unknown email", "POST", "/api/v1/auth/session", "default", nil, map[string]any{"email": "bob@example.com", "password": goodPW}, 401, "invalid_credentials"},
					{"no password", "POST", "/api/v1/auth/session", "default", nil, map[string]any{"email": "ada@example.com"}, 422, "validation_failed"},
					{"other store's cookie", "GET", "/api/v1/me", "acme", withCookie(tokens[2]), nil, 401, "unauthorized"},
					{"made-up cookie", "GET", "/api/v1/me", "default", withCookie("madeup"), nil, 401, "unauthorized"},
					{"oversized cookie", "GET", "/api/v1/me", "default", withCookie(strings.Repeat("x", 101)), nil, 422, "validation_failed"},
					{"no cookie", "GET", "/api/v1/me", "default", nil, nil, 401, "unauthorized"},
				} {
					a := call(t, srv, bad.method, bad.path, bad.tenant, bad.hdr, bad.body)
					if a.status != bad.status || a.body["code"] != bad.code || cookieOf(a) != nil {
						t.Errorf("%s = %d %v %v, want %d %s", bad.name, a.status, a.header, a.body, bad.status, bad.code)
					}
				}

				// The throttle still counts with Redis down (in memory).
				var last answer
				for range s.cfg.AccountFailures + 1 {
					last = call(t, srv, "POST", "/api/v1/auth/session", "default", nil, map[string]any{"email": "eve@example.com", "password": "wrong password"})
				}
				if last.status != 429 || last.body["code"] != "too_many_attempts" {
					t.Fatalf("throttled session login = %d %v", last.status, last.body)
				}

				// A password change ends every web session of the account.
				ctx := tctx(t, "default")
				me, _, err := s.SessionCustomer(ctx, tokens[3])
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.ChangePassword(ctx, me.ID, identityapi.PasswordChange{CurrentPassword: goodPW, NewPassword: goodPW + " two"}, ""); err != nil {
					t.Fatal(err)
				}
				if a := call(t, srv, "GET", "/api/v1/me", "default", withCookie(tokens[3]), nil); a.status != 401 {
					t.Fatalf("me after a password change = %d %v", a.status, a.body)
				}
			}, Migrations...)
		})
	}
}

// TestSessionCookieParameter keeps the cookie name of the HTTP inputs (a
// struct tag) equal to the session package's.
func TestSessionCookieParameter(t *testing.T) {
	if session.CookieName != "mercato_session" {
		t.Fatalf("session.CookieName = %q: update the cookie tags of http.go", session.CookieName)
	}
}
