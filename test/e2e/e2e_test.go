// Package e2e tests the assembled system as a user meets it: the real
// mercato binary, started on a loopback port with a fresh data directory,
// driven over HTTP, stopped with SIGTERM and started again.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/test/harness"
)

var binary string

func TestMain(m *testing.M) { harness.Main(m, &binary) }

type product struct {
	ID     string `json:"id"`
	Slug   string `json:"slug"`
	Title  string `json:"title"`
	Status string `json:"status"`
	Images []struct {
		URL string `json:"url"`
	} `json:"images"`
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
func allProducts(t *testing.T, p *harness.Proc, hdr map[string]string) []product {
	t.Helper()
	var all []product
	path := "/api/v1/products?limit=7"
	for range 100 {
		r := p.Call("GET", path, nil, hdr)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var pg page
		r.JSON(t, &pg)
		all = append(all, pg.Items...)
		if pg.NextCursor == nil || *pg.NextCursor == "" {
			return all
		}
		path = "/api/v1/products?limit=7&cursor=" + url.QueryEscape(*pg.NextCursor)
	}
	t.Fatal("pagination did not end")
	return nil
}

func TestLaptopJourney(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := harness.Start(t, binary, nil, "-data="+data)
	if p.Token == "" {
		t.Fatal("first start did not print the admin token")
	}

	// A fresh store has a believable demo catalog.
	products := allProducts(t, p, nil)
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
		if len(pr.Images) == 0 {
			t.Errorf("demo product %s has no image", pr.Slug)
		}
		for _, im := range pr.Images {
			if r := p.Call("GET", im.URL, nil, nil); r.Status != 200 || r.Header.Get("Content-Type") != "image/png" || len(r.Body) == 0 {
				t.Errorf("demo image %s: %d %q, want 200 image/png", im.URL, r.Status, r.Header.Get("Content-Type"))
			}
		}
	}
	var cats struct {
		Items []json.RawMessage `json:"items"`
	}
	if r := p.Call("GET", "/api/v1/categories", nil, nil); r.Status != 200 {
		t.Fatalf("categories: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &cats)
	}
	if len(cats.Items) < 3 {
		t.Fatalf("demo store has %d top-level categories, want 3+", len(cats.Items))
	}

	// An admin creates a product with the minimal body, retrying with the
	// same Idempotency-Key: one product, the same answer twice.
	body := map[string]any{"title": "Enamel Mug", "status": "active", "variants": []any{
		map[string]any{"sku": "E2E-MUG-1", "price": map[string]any{"amount": 1200, "currency": "EUR"}},
	}}
	first := p.Call("POST", "/api/v1/admin/products", body, p.Admin("Idempotency-Key", "e2e-1"))
	if first.Status != 201 {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	again := p.Call("POST", "/api/v1/admin/products", body, p.Admin("Idempotency-Key", "e2e-1"))
	if again.Status != 201 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: %d %s", again.Status, again.Body)
	}
	var created product
	first.JSON(t, &created)
	if created.Slug != "enamel-mug" {
		t.Errorf("slug = %q, want enamel-mug", created.Slug)
	}
	if r := p.Call("GET", "/api/v1/products/enamel-mug", nil, nil); r.Status != 200 {
		t.Fatalf("get by slug: %d %s", r.Status, r.Body)
	}
	if got := len(allProducts(t, p, nil)); got != len(products)+1 {
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
		{"malformed json", "POST", "/api/v1/admin/products", `{"title":`, p.Admin(), 400, "malformed_request"},
		{"negative price", "POST", "/api/v1/admin/products", map[string]any{"title": "X", "variants": []any{map[string]any{"sku": "NEG", "price": map[string]any{"amount": -1, "currency": "EUR"}}}}, p.Admin(), 422, ""},
		{"oversized body", "POST", "/api/v1/admin/products", `{"title":"` + strings.Repeat("x", 2<<20) + `"}`, p.Admin(), 413, "body_too_large"},
	} {
		r := p.Call(tt.method, tt.path, tt.body, tt.hdr)
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
	} {
		if r := p.Call("GET", path, nil, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(want)) {
			t.Errorf("GET %s: %d, want 200 containing %q", path, r.Status, want)
		}
	}
	// Metrics are on their own listener, not on the one every store's
	// visitors reach, under any host.
	if r := p.Call("GET", "/metrics", nil, nil); r.Status == 200 || bytes.Contains(r.Body, []byte("mercato_http_requests_total")) {
		t.Errorf("GET /metrics on the public listener: %d", r.Status)
	}
	if resp, err := http.Get(p.MetricsURL + "/metrics"); err != nil {
		t.Errorf("GET /metrics on the metrics listener: %v", err)
	} else {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(raw, []byte("mercato_http_requests_total")) {
			t.Errorf("GET /metrics on the metrics listener: %d", resp.StatusCode)
		}
	}

	// SIGTERM drains and exits 0; a restart keeps everything, seeds nothing
	// twice and does not show the token again.
	p.Stop()
	p2 := harness.Start(t, binary, nil, "-data="+data)
	if p2.Token != "" {
		t.Error("restart printed the admin token again")
	}
	p2.Token = p.Token
	if got := len(allProducts(t, p2, nil)); got != len(products)+1 {
		t.Fatalf("after restart: %d products, want %d", got, len(products)+1)
	}
	if r := p2.Call("POST", "/api/v1/admin/products", body, p2.Admin("Idempotency-Key", "e2e-1")); r.Status != 201 || !bytes.Equal(r.Body, first.Body) {
		t.Errorf("idempotency key forgotten across restart: %d %s", r.Status, r.Body)
	}
	p2.Stop()
}

func TestEnvironmentAndValidation(t *testing.T) {
	t.Parallel()
	// A bad flag value stops the start with a clear message and exit 1.
	out, err := exec.Command(binary, "-services=catalog,nope", "-data="+t.TempDir()).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), `unknown service "nope"`) {
		t.Fatalf("unknown service: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "-data="+t.TempDir())
	cmd.Env = append(os.Environ(), "MERCATO_BUS=mqtt://x")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-bus must be") {
		t.Fatalf("MERCATO_BUS is not applied: %v\n%s", err, out)
	}
	// MERCATO_ADMIN_TOKEN sets the token; it is never printed.
	p := harness.Start(t, binary, []string{"MERCATO_ADMIN_TOKEN=env-token-0123456789abcdef"}, "-data="+t.TempDir())
	if p.Token != "" || strings.Contains(p.Stdout.String()+p.Stderr.String(), "env-token-0123456789abcdef") {
		t.Error("a configured admin token was printed or logged")
	}
	p.Token = "env-token-0123456789abcdef"
	body := map[string]any{"title": "Tea", "variants": []any{map[string]any{"sku": "TEA-1", "price": map[string]any{"amount": 500, "currency": "EUR"}}}}
	if r := p.Call("POST", "/api/v1/admin/products", body, p.Admin()); r.Status != 201 {
		t.Fatalf("create with the env token: %d %s", r.Status, r.Body)
	}
	p.Stop()
}

// TestDistributed runs the services as two processes sharing one bus, as in
// production: the first runs the tenant directory and the embedded bus with
// a TCP listener, the second runs the catalog, resolving tenants over HTTP.
func TestDistributed(t *testing.T) {
	t.Parallel()
	busAddr := freeAddr(t)
	// The processes of one deployment share a service token.
	service := "-service-token=mcs_" + strings.Repeat("e2e-", 10)
	tenants := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=tenant", "-bus.listen="+busAddr, service)
	catalog := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=catalog", "-bus=nats://"+busAddr, "-urls=tenant="+tenants.URL, service)
	products := allProducts(t, catalog, nil)
	if len(products) < 40 {
		t.Fatalf("catalog process serves %d demo products, want 40+", len(products))
	}
	if r := catalog.Call("GET", "/api/v1/products", nil, map[string]string{"Host": "nowhere.example.com"}); r.Status != 404 {
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
	r := catalog.Call("POST", "/api/v1/admin/products", body, catalog.Admin())
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var pr product
	r.JSON(t, &pr)
	if r := catalog.Call("DELETE", "/api/v1/admin/products/"+pr.ID, nil, catalog.Admin()); r.Status >= 300 {
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
	catalog.Stop()
	tenants.Stop()
}

// TestPostgresAndBrokers runs the whole system on PostgreSQL (a database of
// its own) with the external NATS server, and again with RabbitMQ, when
// those servers are configured, and on Kafka: franz-go's in-process kfake
// cluster, which the test starts (no Kafka server is installed for tests).
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
	buses["kafka"] = "" // the address of the cluster started below
	for name, b := range buses {
		t.Run(name, func(t *testing.T) {
			if name == "kafka" {
				c, err := kfake.NewCluster(kfake.NumBrokers(1))
				if err != nil {
					t.Fatalf("start kfake: %v", err)
				}
				t.Cleanup(c.Close)
				b = "kafka://" + c.ListenAddrs()[0]
			} else if name != "embedded" {
				// The bus adapters' own tests restart these servers.
				bustest.LockBroker(t, name, false)
			}
			harness.HoldPostgres(t)
			dbURL := scratchDatabase(t, pg)
			p := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b)
			if r := p.Call("GET", "/api/v1/products", nil, nil); r.Status != 200 {
				t.Fatalf("list on postgres: %d %s", r.Status, r.Body)
			}
			p.Stop()
			out, err := exec.Command(binary, "seed", "-demo", "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "seeded the default store") {
				t.Fatalf("seed -demo on postgres: %v\n%s", err, out)
			}
			p = harness.Start(t, binary, nil, "-data="+t.TempDir(), "-db="+dbURL, "-bus="+b)
			if got := len(allProducts(t, p, nil)); got < 40 {
				t.Fatalf("after seed on postgres: %d products", got)
			}
			p.Stop()
		})
	}
}

// busSetups are the flags of a process on each bus the environment has:
// embedded NATS on SQLite always, and on PostgreSQL the external NATS
// server and RabbitMQ when configured. A process on an external broker
// holds it exclusively while its test runs: every Mercato uses the same
// stream and consumer groups, so two at once would share each other's
// events as replicas of one deployment do.
func busSetups() map[string]func(t *testing.T) []string {
	setups := map[string]func(t *testing.T) []string{"embedded+sqlite": func(*testing.T) []string { return nil }}
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		return setups
	}
	for name, env := range map[string]string{"nats": "MERCATO_TEST_NATS", "rabbitmq": "MERCATO_TEST_RABBITMQ"} {
		if u := os.Getenv(env); u != "" {
			setups[name+"+postgres"] = func(t *testing.T) []string {
				bustest.LockBroker(t, name, true)
				return []string{"-db=" + scratchDatabase(t, pg), "-bus=" + u, "-payment.fake=true"}
			}
		}
	}
	return setups
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

// TestServeSeedsDemoOnPostgresWhenAsked: on PostgreSQL, serve fills the demo
// store only when -seed-demo is given explicitly (its default is for the
// laptop shape).
func TestServeSeedsDemoOnPostgresWhenAsked(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set")
	}
	harness.HoldPostgres(t)
	dbURL := scratchDatabase(t, pg)
	p := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-db="+dbURL)
	if got := len(allProducts(t, p, nil)); got != 0 {
		t.Fatalf("serve on postgres without -seed-demo: %d products, want none", got)
	}
	p.Stop()
	p = harness.Start(t, binary, nil, "-data="+t.TempDir(), "-db="+dbURL, "-seed-demo")
	if got := len(allProducts(t, p, nil)); got < 40 {
		t.Fatalf("serve on postgres with -seed-demo: %d products", got)
	}
	p.Stop()
}
