// Package e2e tests the assembled system as a user meets it: the real
// mercato binary, started on a loopback port with a fresh data directory,
// driven over HTTP, stopped with SIGTERM and started again.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mercato-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mercato")
	build := exec.Command("go", "build", "-o", binary, "github.com/mercato/mercato/cmd/mercato")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build mercato:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running mercato process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	URL    string
	Token  string
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var runningRe = regexp.MustCompile(`Mercato is running: storefront API (http://[^/\s]+)/`)
var tokenRe = regexp.MustCompile(`admin token \(shown once[^)]*\): (\S+)`)

// start runs mercato with args (plus a loopback port) and waits until it is
// ready. The process is killed when the test ends if still running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	args = append([]string{"-addr=127.0.0.1:0", "-log.level=warn"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{t: t, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(p.stdout, pw)
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mercato: %v", err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("mercato %v stdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if m := tokenRe.FindStringSubmatch(line); m != nil {
				p.Token = m[1]
			}
			if m := runningRe.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-found:
		p.URL = strings.Replace(u, "localhost", "127.0.0.1", 1)
	case err := <-p.done:
		t.Fatalf("mercato exited at start: %v\nstderr:\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("mercato did not start within 60s\nstderr:\n%s", p.stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("mercato exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("mercato did not stop within 30s of SIGTERM")
	}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// call sends a request; hdr may set "Host" and any header.
func (p *proc) call(method, path string, body any, hdr map[string]string) response {
	p.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.URL+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func (p *proc) admin(extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + p.Token}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

type product struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Variants []struct {
		SKU   string `json:"sku"`
		Price struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"price"`
	} `json:"variants"`
}

type page struct {
	Items      []product `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

// allProducts walks the public list to its end.
func (p *proc) allProducts(hdr map[string]string) []product {
	p.t.Helper()
	var all []product
	path := "/api/v1/products?limit=7"
	for range 100 {
		r := p.call("GET", path, nil, hdr)
		if r.Status != 200 {
			p.t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var pg page
		r.json(p.t, &pg)
		all = append(all, pg.Items...)
		if pg.NextCursor == nil || *pg.NextCursor == "" {
			return all
		}
		path = "/api/v1/products?limit=7&cursor=" + url.QueryEscape(*pg.NextCursor)
	}
	p.t.Fatal("pagination did not end")
	return nil
}

func TestLaptopJourney(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := start(t, nil, "-data="+data)
	if p.Token == "" {
		t.Fatal("first start did not print the admin token")
	}

	// A fresh store has a believable demo catalog.
	products := p.allProducts(nil)
	if len(products) < 40 {
		t.Fatalf("demo store has %d products, want 40+", len(products))
	}
	seen := map[string]bool{}
	for _, pr := range products {
		if seen[pr.ID] {
			t.Fatalf("product %s listed twice across pages", pr.ID)
		}
		seen[pr.ID] = true
		if pr.Status != "active" || len(pr.Variants) == 0 || pr.Variants[0].Price.Amount <= 0 || pr.Variants[0].Price.Currency == "" {
			t.Fatalf("demo product without active status, variant or price: %+v", pr)
		}
	}
	var cats struct {
		Items []json.RawMessage `json:"items"`
	}
	if r := p.call("GET", "/api/v1/categories", nil, nil); r.Status != 200 {
		t.Fatalf("categories: %d %s", r.Status, r.Body)
	} else {
		r.json(t, &cats)
	}
	if len(cats.Items) < 3 {
		t.Fatalf("demo store has %d top-level categories, want 3+", len(cats.Items))
	}

	// An admin creates a product with the minimal body, retrying with the
	// same Idempotency-Key: one product, the same answer twice.
	body := map[string]any{"title": "Enamel Mug", "status": "active", "variants": []any{
		map[string]any{"sku": "E2E-MUG-1", "price": map[string]any{"amount": 1200, "currency": "EUR"}},
	}}
	first := p.call("POST", "/api/v1/admin/products", body, p.admin("Idempotency-Key", "e2e-1"))
	if first.Status != 201 {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	again := p.call("POST", "/api/v1/admin/products", body, p.admin("Idempotency-Key", "e2e-1"))
	if again.Status != 201 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: %d %s", again.Status, again.Body)
	}
	var created product
	first.json(t, &created)
	if created.Slug != "enamel-mug" {
		t.Errorf("slug = %q, want enamel-mug", created.Slug)
	}
	if r := p.call("GET", "/api/v1/products/enamel-mug", nil, nil); r.Status != 200 {
		t.Fatalf("get by slug: %d %s", r.Status, r.Body)
	}
	if got := len(p.allProducts(nil)); got != len(products)+1 {
		t.Fatalf("after create and retry: %d products, want %d", got, len(products)+1)
	}

	// The edges a user hits first.
	for _, tt := range []struct {
		name, method, path string
		body               any
		hdr                map[string]string
		status             int
		code               string
	}{
		{"no token", "POST", "/api/v1/admin/products", body, nil, 401, "unauthorized"},
		{"wrong token", "POST", "/api/v1/admin/products", body, map[string]string{"Authorization": "Bearer wrong"}, 401, "unauthorized"},
		{"unknown tenant host", "GET", "/api/v1/products", nil, map[string]string{"Host": "nowhere.example.com"}, 404, "unknown_tenant"},
		{"unknown tenant header", "GET", "/api/v1/products", nil, map[string]string{"X-Mercato-Tenant": "nobody"}, 404, "unknown_tenant"},
		{"unknown product", "GET", "/api/v1/products/no-such-thing", nil, nil, 404, ""},
		{"malformed json", "POST", "/api/v1/admin/products", `{"title":`, p.admin(), 400, "malformed_request"},
		{"negative price", "POST", "/api/v1/admin/products", map[string]any{"title": "X", "variants": []any{map[string]any{"sku": "NEG", "price": map[string]any{"amount": -1, "currency": "EUR"}}}}, p.admin(), 422, ""},
		{"oversized body", "POST", "/api/v1/admin/products", `{"title":"` + strings.Repeat("x", 2<<20) + `"}`, p.admin(), 413, "body_too_large"},
	} {
		r := p.call(tt.method, tt.path, tt.body, tt.hdr)
		var prob struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(r.Body, &prob)
		if r.Status != tt.status || (tt.code != "" && prob.Code != tt.code) || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %q, want %d %s problem", tt.name, r.Status, prob.Code, r.Header.Get("Content-Type"), tt.status, tt.code)
		}
	}
	for path, want := range map[string]string{
		"/healthz":      "ok",
		"/openapi.json": `"/api/v1/products"`,
		"/docs/":        "swagger",
		"/metrics":      "mercato_http_requests_total",
	} {
		if r := p.call("GET", path, nil, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(want)) {
			t.Errorf("GET %s: %d, want 200 containing %q", path, r.Status, want)
		}
	}

	// SIGTERM drains and exits 0; a restart keeps everything, seeds nothing
	// twice and does not show the token again.
	p.stop()
	p2 := start(t, nil, "-data="+data)
	if p2.Token != "" {
		t.Error("restart printed the admin token again")
	}
	p2.Token = p.Token
	if got := len(p2.allProducts(nil)); got != len(products)+1 {
		t.Fatalf("after restart: %d products, want %d", got, len(products)+1)
	}
	if r := p2.call("POST", "/api/v1/admin/products", body, p2.admin("Idempotency-Key", "e2e-1")); r.Status != 201 || !bytes.Equal(r.Body, first.Body) {
		t.Errorf("idempotency key forgotten across restart: %d %s", r.Status, r.Body)
	}
	p2.stop()
}

func TestEnvironmentAndValidation(t *testing.T) {
	t.Parallel()
	// A bad flag value stops the start with a clear message and exit 1.
	out, err := exec.Command(binary, "-services=catalog,nope", "-data="+t.TempDir()).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), `unknown service "nope"`) {
		t.Fatalf("unknown service: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "-data="+t.TempDir())
	cmd.Env = append(os.Environ(), "MERCATO_BUS=kafka://x")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-bus must be") {
		t.Fatalf("MERCATO_BUS is not applied: %v\n%s", err, out)
	}
	// MERCATO_ADMIN_TOKEN sets the token; it is never printed.
	p := start(t, []string{"MERCATO_ADMIN_TOKEN=env-token-0123456789abcdef"}, "-data="+t.TempDir())
	if p.Token != "" || strings.Contains(p.stdout.String()+p.stderr.String(), "env-token-0123456789abcdef") {
		t.Error("a configured admin token was printed or logged")
	}
	p.Token = "env-token-0123456789abcdef"
	body := map[string]any{"title": "Tea", "variants": []any{map[string]any{"sku": "TEA-1", "price": map[string]any{"amount": 500, "currency": "EUR"}}}}
	if r := p.call("POST", "/api/v1/admin/products", body, p.admin()); r.Status != 201 {
		t.Fatalf("create with the env token: %d %s", r.Status, r.Body)
	}
	p.stop()
}

// TestDistributed runs the services as two processes sharing one bus, as in
// production: the first runs the tenant directory and the embedded bus with
// a TCP listener, the second runs the catalog, resolving tenants over HTTP.
func TestDistributed(t *testing.T) {
	t.Parallel()
	busAddr := freeAddr(t)
	tenants := start(t, nil, "-data="+t.TempDir(), "-services=tenant", "-bus.listen="+busAddr)
	catalog := start(t, nil, "-data="+t.TempDir(), "-services=catalog", "-bus=nats://"+busAddr, "-urls=tenant="+tenants.URL)
	products := catalog.allProducts(nil)
	if len(products) < 40 {
		t.Fatalf("catalog process serves %d demo products, want 40+", len(products))
	}
	if r := catalog.call("GET", "/api/v1/products", nil, map[string]string{"Host": "nowhere.example.com"}); r.Status != 404 {
		t.Errorf("unknown tenant through the remote directory: %d", r.Status)
	}

	// A consumer elsewhere sees the catalog's events, in order, carrying the tenant.
	ctx := t.Context()
	b, err := natsbus.Connect(ctx, "nats://"+busAddr, natsbus.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connect to the shared bus: %v", err)
	}
	defer b.Close()
	got := make(chan outbox.Envelope, 100)
	c, err := b.Subscribe(ctx, bus.Subscription{Group: "e2e", Subjects: []string{"catalog.>"}}, func(_ context.Context, m bus.Message) error {
		e, err := outbox.Decode(m)
		if err != nil {
			return err
		}
		got <- e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	body := map[string]any{"title": "Event Mug", "variants": []any{map[string]any{"sku": "EV-1", "price": map[string]any{"amount": 900, "currency": "EUR"}}}}
	r := catalog.call("POST", "/api/v1/admin/products", body, catalog.admin())
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var pr product
	r.json(t, &pr)
	if r := catalog.call("DELETE", "/api/v1/admin/products/"+pr.ID, nil, catalog.admin()); r.Status >= 300 {
		t.Fatalf("archive: %d %s", r.Status, r.Body)
	}
	// The demo products' events may still be arriving: skip to this product's.
	var types []string
	deadline := time.After(10 * time.Second)
	for len(types) < 2 {
		select {
		case e := <-got:
			if !bytes.Contains(e.Data, []byte(pr.ID)) {
				continue
			}
			if e.Tenant != "default" || e.Source != "catalog" {
				t.Fatalf("event %s has tenant %q, source %q", e.Type, e.Tenant, e.Source)
			}
			types = append(types, e.Type)
		case <-deadline:
			t.Fatalf("events of the new product within 10s: %v", types)
		}
	}
	if types[0] != "catalog.product_created.v1" || types[1] != "catalog.product_archived.v1" {
		t.Fatalf("events = %v, want created then archived", types)
	}
	catalog.stop()
	tenants.stop()
}

// TestPostgresAndBrokers runs the whole system on PostgreSQL (a database of
// its own) with the external NATS server, and again with RabbitMQ, when
// those servers are configured.
func TestPostgresAndBrokers(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set")
	}
	buses := map[string]string{}
	if u := os.Getenv("MERCATO_TEST_NATS"); u != "" {
		buses["nats"] = u
	}
	if u := os.Getenv("MERCATO_TEST_RABBITMQ"); u != "" {
		buses["rabbitmq"] = u
	}
	if len(buses) == 0 {
		buses["embedded"] = "embedded"
	}
	for name, b := range buses {
		t.Run(name, func(t *testing.T) {
			if name != "embedded" {
				// The bus adapters' own tests restart these servers.
				bustest.LockBroker(t, name, false)
			}
			dbURL := scratchDatabase(t, pg)
			p := start(t, nil, "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b)
			if r := p.call("GET", "/api/v1/products", nil, nil); r.Status != 200 {
				t.Fatalf("list on postgres: %d %s", r.Status, r.Body)
			}
			p.stop()
			out, err := exec.Command(binary, "seed", "-demo", "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "seeded the default store") {
				t.Fatalf("seed -demo on postgres: %v\n%s", err, out)
			}
			p = start(t, nil, "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b)
			if got := len(p.allProducts(nil)); got < 40 {
				t.Fatalf("after seed on postgres: %d products", got)
			}
			p.stop()
		})
	}
}

// scratchDatabase creates a database for one test and drops it afterwards.
func scratchDatabase(t *testing.T, base string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "mercato_e2e_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create scratch database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop scratch database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
