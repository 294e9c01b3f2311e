package gateway

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

const testToken = "mcs_test-service-token-0123456789abcdef"

// directory is a tenant service: it resolves hosts (and IDs) of its stores
// and answers /readyz.
type directory struct {
	stores map[string]string // host or ID → tenant
	calls  atomic.Int64
}

func (d *directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/readyz":
		_, _ = io.WriteString(w, "ready\n")
	case tenantapi.ResolvePath:
		d.calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		t, ok := d.stores[q.Get("host")+q.Get("id")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tenantapi.Resolution{TenantID: t})
	default:
		http.NotFound(w, r)
	}
}

// keys is an identity service publishing a JWK set that can be rotated.
type keys struct {
	mu  sync.Mutex
	set auth.JWKSet
}

func (k *keys) publish(kid string, pub ed25519.PublicKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.set = auth.JWKSet{Keys: []auth.JWK{auth.PublicJWK(kid, pub)}}
}

func (k *keys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/readyz":
		_, _ = io.WriteString(w, "ready\n")
	case auth.JWKSPath:
		k.mu.Lock()
		defer k.mu.Unlock()
		_ = json.NewEncoder(w).Encode(k.set)
	default:
		http.NotFound(w, r)
	}
}

// backend is a replica of a service: it counts its requests, and answers
// with its name, the path, and what it was sent.
type backend struct {
	name  string
	hits  atomic.Int64
	ready atomic.Bool
	fail  atomic.Bool // answer 503 to everything but /readyz
	srv   *httptest.Server
	last  atomic.Pointer[http.Request]
	body  atomic.Pointer[string]
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	b.ready.Store(true)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !b.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		s := string(body)
		b.body.Store(&s)
		b.last.Store(r.Clone(context.Background()))
		if b.fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Backend", b.name)
		_, _ = io.WriteString(w, b.name+" "+r.URL.Path)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

type env struct {
	g        *Gateway
	srv      *httptest.Server
	dir      *directory
	keys     *keys
	key      ed25519.PrivateKey
	registry *prometheus.Registry
}

// testConfig is the flags' defaults, changed by set.
func testConfig(t *testing.T, set ...string) Config {
	var c Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.RegisterFlags(fs, "")
	if err := fs.Parse(set); err != nil {
		t.Fatal(err)
	}
	return c
}

// newEnv starts a gateway in front of a directory, an identity service
// and the given replicas of each service; run starts its health checks.
func newEnv(t *testing.T, cfg Config, upstreams map[string][]*backend, run bool, rdb *redis.Client) *env {
	t.Helper()
	e := &env{dir: &directory{stores: map[string]string{"acme.example": "acme", "acme": "acme", "globex.example": "globex"}}, keys: &keys{}, registry: prometheus.NewRegistry()}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.key = priv
	e.keys.publish("k1", pub)
	dirSrv := httptest.NewServer(e.dir)
	t.Cleanup(dirSrv.Close)
	idSrv := httptest.NewServer(e.keys)
	t.Cleanup(idSrv.Close)
	ups := map[string][]*url.URL{"tenant": {mustURL(t, dirSrv.URL)}, "identity": {mustURL(t, idSrv.URL)}}
	for s, bs := range upstreams {
		for _, b := range bs {
			ups[s] = append(ups[s], mustURL(t, b.srv.URL))
		}
	}
	g, err := New(cfg, Deps{Upstreams: ups, ServiceToken: testToken, Registry: e.registry, Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	e.g = g
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = g.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	e.srv = httptest.NewServer(g)
	t.Cleanup(e.srv.Close)
	return e
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends a request through the gateway for host.
func (e *env) do(t *testing.T, method, path, host string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) token(t *testing.T, kid string, key ed25519.PrivateKey, tenant string, exp time.Time) string {
	t.Helper()
	now := time.Now()
	tok, err := auth.Sign(key, kid, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.Issuer, Audience: jwt.ClaimStrings{auth.Audience}, Subject: "acct-1",
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(exp)},
		Tenant: tenant, Kind: auth.KindCustomer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRouting(t *testing.T) {
	t.Parallel()
	catalog, order, shop, admin := newBackend(t, "catalog"), newBackend(t, "order"), newBackend(t, "storefront"), newBackend(t, "admin")
	identity := newBackend(t, "identity")
	e := newEnv(t, testConfig(t), map[string][]*backend{"catalog": {catalog}, "order": {order}, "storefront": {shop}, "admin": {admin}, "media": {identity}}, false, nil)
	for path, want := range map[string]string{
		"/api/v1/products/mug":  "catalog",
		"/api/v1/admin/orders":  "order",
		"/":                     "storefront",
		"/p/mug":                "storefront",
		"/admin/":               "admin",
		"/admin/static/app.css": "admin",
		"/media/demo/mug.png":   "catalog",
	} {
		resp, body := e.do(t, "GET", path, "acme.example", nil, "")
		if resp.StatusCode != 200 || body != want+" "+path {
			t.Errorf("GET %s: %d %q, want %s's answer", path, resp.StatusCode, body, want)
		}
	}
	// What the service sees: the store's host, the client's address, the
	// request's ID.
	resp, _ := e.do(t, "GET", "/api/v1/products", "acme.example", map[string]string{"X-Request-Id": "req-123", "X-Forwarded-For": "6.6.6.6"}, "")
	in := catalog.last.Load()
	if in.Host != "acme.example" || in.Header.Get("X-Forwarded-For") != "127.0.0.1" || in.Header.Get("X-Forwarded-Host") != "acme.example" ||
		in.Header.Get("X-Forwarded-Proto") != "http" || in.Header.Get("X-Request-Id") != "req-123" || resp.Header.Get("X-Request-Id") != "req-123" {
		t.Errorf("forwarded: host %q, headers %v; answer's request ID %q", in.Host, in.Header, resp.Header.Get("X-Request-Id"))
	}
	// A bad request ID is replaced.
	resp, _ = e.do(t, "GET", "/api/v1/products", "acme.example", map[string]string{"X-Request-Id": "bad id <script>"}, "")
	if id := resp.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") || catalog.last.Load().Header.Get("X-Request-Id") != id {
		t.Errorf("request ID %q", id)
	}
	// Internal routes are never forwarded, even with the service token;
	// paths nobody owns and unknown stores end at the gateway.
	for _, c := range []struct {
		path, host string
		hdr        map[string]string
		status     int
		code       string
	}{
		{tenantapi.ResolvePath + "?host=acme.example", "acme.example", map[string]string{"Authorization": "Bearer " + testToken}, 404, "not_found"},
		{"/internal", "acme.example", nil, 404, "not_found"},
		{"/api/v1/nothing", "acme.example", nil, 404, "not_found"},
		{"/api/v1/products", "nobody.example", nil, 404, "unknown_tenant"},
		{"/api/v1/products", "bad_host!", nil, 400, "invalid_host"},
		{"/api/v1/products", "nobody.example", map[string]string{"X-Mercato-Tenant": "acme"}, 200, ""},
		{"/api/v1/reviews", "acme.example", nil, 503, "upstream_unavailable"},
	} {
		resp, body := e.do(t, "GET", c.path, c.host, c.hdr, "")
		if resp.StatusCode != c.status || (c.code != "" && (!strings.Contains(body, `"code":"`+c.code+`"`) || resp.Header.Get("Content-Type") != "application/problem+json")) {
			t.Errorf("GET %s at %s: %d %s, want %d %s", c.path, c.host, resp.StatusCode, body, c.status, c.code)
		}
	}
	if catalog.hits.Load() != 5 {
		t.Errorf("catalog served %d requests, want 5", catalog.hits.Load())
	}
}

func TestLoadBalancing(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	e := newEnv(t, testConfig(t, "--rate.ip=0"), map[string][]*backend{"catalog": {a, b, c}}, false, nil)
	for range 30 {
		if resp, _ := e.do(t, "GET", "/api/v1/products", "acme.example", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	// One request at a time: every replica is as free as the others, so
	// they take turns.
	for _, r := range []*backend{a, b, c} {
		if n := r.hits.Load(); n != 10 {
			t.Errorf("replica %s served %d of 30", r.name, n)
		}
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthEjection(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	dead := newBackend(t, "dead")
	dead.srv.Close() // refuses connections from the start
	e := newEnv(t, testConfig(t, "--rate.ip=0", "--health.interval=50ms", "--health.timeout=500ms"), map[string][]*backend{"catalog": {a, b, dead}}, true, nil)
	healthy := func(r *backend) float64 {
		return testutil.ToFloat64(e.g.m.healthy.WithLabelValues("catalog", mustURL(t, r.srv.URL).Host))
	}
	// Every request succeeds although one replica is down: a request that
	// finds it so goes to another, and the replica is ejected.
	for range 10 {
		if resp, body := e.do(t, "GET", "/api/v1/products", "acme.example", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
	}
	waitFor(t, "the dead replica's ejection", func() bool { return healthy(dead) == 0 })
	// A replica whose /readyz fails is taken out, and back when it passes.
	b.ready.Store(false)
	waitFor(t, "b's ejection", func() bool { return healthy(b) == 0 })
	before := b.hits.Load()
	for range 10 {
		if resp, _ := e.do(t, "GET", "/api/v1/products", "acme.example", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if b.hits.Load() != before {
		t.Errorf("an ejected replica got %d requests", b.hits.Load()-before)
	}
	b.ready.Store(true)
	waitFor(t, "b's return", func() bool { return healthy(b) == 1 })
	// A POST with an Idempotency-Key that could not connect is sent, body
	// and all, to another replica; the dead one stays out.
	for range 5 {
		resp, _ := e.do(t, "POST", "/api/v1/products", "acme.example", map[string]string{"Idempotency-Key": "k1"}, `{"name":"mug"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	if got := *a.body.Load(); got != `{"name":"mug"}` {
		t.Errorf("body forwarded as %q", got)
	}
	if err := e.g.Ready(context.Background()); err != nil {
		t.Errorf("not ready: %v", err)
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	a.fail.Store(true)
	e := newEnv(t, testConfig(t, "--rate.ip=0", "--breaker.failures=3", "--breaker.cooldown=200ms"), map[string][]*backend{"catalog": {a}}, false, nil)
	for range 3 {
		if resp, _ := e.do(t, "GET", "/api/v1/products", "acme.example", nil, ""); resp.StatusCode != 503 {
			t.Fatalf("status %d, want the replica's 503", resp.StatusCode)
		}
	}
	open := func() float64 {
		return testutil.ToFloat64(e.g.m.breakerOpen.WithLabelValues("catalog", mustURL(t, a.srv.URL).Host))
	}
	if open() != 1 {
		t.Fatalf("breaker gauge %v after 3 failures", open())
	}
	// Open: the replica is spared; the gateway answers.
	resp, body := e.do(t, "GET", "/api/v1/products", "acme.example", nil, "")
	if resp.StatusCode != 503 || !strings.Contains(body, "upstream_unavailable") || a.hits.Load() != 3 {
		t.Errorf("with the breaker open: %d %s, replica hit %d times", resp.StatusCode, body, a.hits.Load())
	}
	// After the cooldown one request goes through; its success closes it.
	a.fail.Store(false)
	waitFor(t, "the breaker to let a request through", func() bool {
		resp, _ := e.do(t, "GET", "/api/v1/products", "acme.example", nil, "")
		return resp.StatusCode == 200
	})
	if open() != 0 {
		t.Errorf("breaker gauge %v after a success", open())
	}
}

func testRateLimit(t *testing.T, rdb *redis.Client) {
	a := newBackend(t, "a")
	store := "s" + hex.EncodeToString(randBytes(6))
	e := newEnv(t, testConfig(t, "--rate.ip=0", "--rate.store=1", "--rate.store-burst=3"), map[string][]*backend{"catalog": {a}}, false, rdb)
	e.dir.stores[store+".example"] = store
	e.dir.stores["other.example"] = "other" + store
	var limited *http.Response
	var body string
	for i := range 10 {
		resp, b := e.do(t, "GET", "/api/v1/products", store+".example", nil, "")
		if resp.StatusCode == 429 {
			limited, body = resp, b
			if i < 3 {
				t.Errorf("limited after %d requests, burst is 3", i)
			}
			break
		}
	}
	if limited == nil {
		t.Fatal("never limited")
	}
	if ra := limited.Header.Get("Retry-After"); ra != "1" || limited.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"rate_limited"`) {
		t.Errorf("429 with Retry-After %q, %s", ra, body)
	}
	// Another store has its own bucket.
	if resp, _ := e.do(t, "GET", "/api/v1/products", "other.example", nil, ""); resp.StatusCode != 200 {
		t.Errorf("another store: %d", resp.StatusCode)
	}
	if n := testutil.ToFloat64(e.g.m.rateLimited.WithLabelValues("store")); n < 1 {
		t.Errorf("rate limited counter %v", n)
	}
	// Per address.
	e2 := newEnv(t, testConfig(t, "--rate.ip=1", "--rate.ip-burst=2", "--trusted-proxies=127.0.0.1/32"), map[string][]*backend{"catalog": {a}}, false, rdb)
	rb := randBytes(2)
	ip := "10.1." + strconv.Itoa(int(rb[0])) + "." + strconv.Itoa(int(rb[1]))
	codes := []int{}
	for range 3 {
		resp, _ := e2.do(t, "GET", "/api/v1/products", "acme.example", map[string]string{"X-Forwarded-For": ip}, "")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("per-address codes %v, want 200 200 429", codes)
	}
	if resp, _ := e2.do(t, "GET", "/api/v1/products", "acme.example", map[string]string{"X-Forwarded-For": "10.2." + strconv.Itoa(int(rb[0])) + "." + strconv.Itoa(int(rb[1]))}, ""); resp.StatusCode != 200 {
		t.Errorf("another address: %d", resp.StatusCode)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestRateLimitMemory(t *testing.T) {
	t.Parallel()
	testRateLimit(t, nil)
}

func TestRateLimitRedis(t *testing.T) {
	u := os.Getenv("MERCATO_TEST_REDIS")
	if u == "" {
		t.Skip("MERCATO_TEST_REDIS is not set")
	}
	t.Parallel()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	testRateLimit(t, rdb)
}

func TestAccessTokens(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	e := newEnv(t, testConfig(t, "--rate.ip=0"), map[string][]*backend{"catalog": {a}}, false, nil)
	call := func(tok string) (int, string) {
		resp, body := e.do(t, "GET", "/api/v1/admin/products", "acme.example", map[string]string{"Authorization": "Bearer " + tok}, "")
		return resp.StatusCode, body
	}
	good := e.token(t, "k1", e.key, "acme", time.Now().Add(time.Hour))
	if st, body := call(good); st != 200 {
		t.Fatalf("a good token: %d %s", st, body)
	}
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	for name, c := range map[string]struct {
		tok, code string
	}{
		"forged":        {e.token(t, "k1", forger, "acme", time.Now().Add(time.Hour)), "unauthorized"},
		"expired":       {e.token(t, "k1", e.key, "acme", time.Now().Add(-time.Minute)), "token_expired"},
		"another store": {e.token(t, "k1", e.key, "globex", time.Now().Add(time.Hour)), "unauthorized"},
		"garbage":       {"eyJhbGciOi.x.y", "unauthorized"},
	} {
		if st, body := call(c.tok); st != 401 || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%s token: %d %s, want 401 %s", name, st, body, c.code)
		}
	}
	// Credentials the gateway does not check reach the service.
	for _, tok := range []string{"sk_live_whatever", "mct_admin-token-of-the-deployment"} {
		hits := a.hits.Load()
		hdr := map[string]string{"Authorization": "Bearer " + tok}
		if strings.HasPrefix(tok, "sk_") {
			hdr = map[string]string{"X-Mercato-Tenant": "acme", "Authorization": "Bearer " + tok}
		}
		if resp, _ := e.do(t, "GET", "/api/v1/admin/products", "acme.example", hdr, ""); resp.StatusCode != 200 || a.hits.Load() != hits+1 {
			t.Errorf("%s: %d, not forwarded", tok[:7], resp.StatusCode)
		}
	}
	if a.hits.Load() != 3 {
		t.Errorf("the service got %d requests, want the 3 accepted ones", a.hits.Load())
	}
	// Identity rotates its key: a token of the new key is accepted once
	// the set is read again (at most every auth.MinRefresh).
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	e.keys.publish("k2", pub2)
	rotated := e.token(t, "k2", priv2, "acme", time.Now().Add(time.Hour))
	deadline := time.Now().Add(auth.MinRefresh + 10*time.Second)
	for {
		st, body := call(rotated)
		if st == 200 {
			break
		}
		if st != 401 || time.Now().After(deadline) {
			t.Fatalf("a token of the rotated key: %d %s", st, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestStreaming(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		<-release
		_, _ = io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	b := &backend{name: "notify", srv: up}
	e := newEnv(t, testConfig(t), map[string][]*backend{"storefront": {b}}, false, nil)
	req, _ := http.NewRequest("GET", e.srv.URL+"/orders/o1/events", nil)
	req.Host = "acme.example"
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	// The first event arrives while the stream is still open.
	line, err := rd.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(rd)
	if !strings.Contains(string(rest), "data: second") {
		t.Errorf("rest of the stream %q", rest)
	}
}
