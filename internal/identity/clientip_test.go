package identity

import (
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestLoginThrottlesTheBrowsersAddress: a page service signing customers in
// (the service token) names each browser's address in ClientIPHeader, and
// the throttle counts each address on its own; the same header from anyone
// else (no token, a customer's, the admin token) is ignored, and their
// attempts count against their own address, so forging a new address per
// attempt gains a guesser nothing.
func TestLoginThrottlesTheBrowsersAddress(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		// Only the per-IP budget can run out here: every attempt is at
		// another account.
		s.cfg.IPFailures, s.cfg.AccountFailures = 3, 1000
		srv := webtest.New(t, s.Routes, func(d *web.Deps) {
			d.Auth = web.NewAuthenticator(web.AuthConfig{AdminToken: webtest.AdminToken, ServiceToken: webtest.ServiceToken, Verifier: s.Verifier()})
		})
		client := func(token string) *identityapi.Client {
			if token == "" {
				return identityapi.NewClient(srv.URL, nil)
			}
			return identityapi.NewClient(srv.URL, &http.Client{Transport: withToken(token)})
		}
		service, anon, admin := client(webtest.ServiceToken), client(""), client(webtest.AdminToken)
		ctx := tenancy.WithID(t.Context(), "default")
		n := 0
		attempt := func(c *identityapi.Client, ip string) error {
			n++
			_, err := c.LoginFor(ctx, identityapi.Login{Email: "guess" + strconv.Itoa(n) + "@example.com", Password: "not the password"}, ip)
			return err
		}
		throttled := func(err error) bool { return apiclient.IsStatus(err, http.StatusTooManyRequests) }

		// The page service's browsers: one address runs out, the next
		// still may try, and the page service's own address is untouched.
		for i := range s.cfg.IPFailures {
			if err := attempt(service, "203.0.113.7"); !errors.Is(err, identityapi.ErrInvalidCredentials) {
				t.Fatalf("browser attempt %d: %v", i, err)
			}
		}
		if err := attempt(service, "203.0.113.7"); !throttled(err) {
			t.Fatalf("browser past its budget: %v, want 429", err)
		}
		if err := attempt(service, "::ffff:203.0.113.8"); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Fatalf("another browser: %v, want a plain refusal", err)
		}
		if err := attempt(service, "203.0.113.7, 10.0.0.1"); !errors.Is(err, identityapi.ErrInvalidCredentials) {
			t.Fatalf("a malformed address counts against the caller's own: %v", err)
		}

		// Anyone else's header is ignored: each attempt names a fresh
		// address, yet they all count against the caller's own (the
		// malformed one above took one of its attempts).
		for i := 1; i < s.cfg.IPFailures; i++ {
			c := anon
			if i%2 == 0 {
				c = admin
			}
			if err := attempt(c, "198.51.100."+strconv.Itoa(i)); !errors.Is(err, identityapi.ErrInvalidCredentials) {
				t.Fatalf("forged attempt %d: %v", i, err)
			}
		}
		if err := attempt(anon, "198.51.100.99"); !throttled(err) {
			t.Fatalf("forged header past the caller's budget: %v, want 429", err)
		}
		// A customer's token is no page service either.
		if _, err := anon.Register(ctx, identityapi.Register{Email: "eve@example.com", Password: goodPW, Name: "Eve"}); err != nil {
			t.Fatal(err)
		}
		tok, err := service.LoginFor(ctx, identityapi.Login{Email: "eve@example.com", Password: goodPW}, "203.0.113.9")
		if err != nil {
			t.Fatalf("eve signs in: %v", err)
		}
		if err := attempt(client(tok.AccessToken), "198.51.100.100"); !throttled(err) {
			t.Fatalf("a customer's forged header: %v, want 429 (the caller's own address)", err)
		}
	}, Migrations...)
}

// withToken is a transport that sends token as the caller's bearer token.
type withToken string

func (t withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}
