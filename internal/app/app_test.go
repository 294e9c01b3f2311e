package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/web"
)

const token = "app-test-admin-token-0123456789"

// probe is a service that consumes probe.> and rejects every event for good,
// so its events end up in the dead-letter store.
type probe struct {
	b       bus.Bus
	started chan struct{}
}

func (p *probe) Run(ctx context.Context) error {
	c, err := p.b.Subscribe(ctx, bus.Subscription{Group: "probe", Subjects: []string{"probe.>"}}, func(context.Context, bus.Message) error {
		return bus.Permanent(errors.New("probe rejects everything"))
	})
	if err != nil {
		return err
	}
	close(p.started)
	<-ctx.Done()
	c.Stop()
	return nil
}

// directory stands in for the tenant service: a service that only runs
// until the process stops, and the edge's resolver of the default store on
// localhost.
type directory struct{}

func (directory) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (directory) ResolveTenant(_ context.Context, host, id string) (string, error) {
	if id == "default" || (id == "" && (host == "localhost" || host == "127.0.0.1")) {
		return "default", nil
	}
	return "", web.ErrUnknownTenant
}

func edges(*app.Platform) (app.Edges, error) { return app.Edges{Tenants: directory{}}, nil }

// metricsURLs holds the metrics listener's URL of each system serveWith
// started.
var metricsURLs sync.Map

func serve(t *testing.T, extra ...app.Service) (*app.System, string) {
	t.Helper()
	return serveWith(t, nil, extra...)
}

// serveWith is serve with a change to the configuration first.
func serveWith(t *testing.T, configure func(*app.Config), extra ...app.Service) (*app.System, string) {
	t.Helper()
	cfg := app.Config{Data: t.TempDir(), Bus: "embedded", Services: []string{"all"}}
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.Web.MaxBodyBytes = 1 << 20
	cfg.Web.ShutdownTimeout = 5 * time.Second
	cfg.Web.AdminToken = token
	cfg.Telemetry.SampleRatio = 1
	if configure != nil {
		configure(&cfg)
	}
	services := append([]app.Service{{Name: "tenant", New: func(context.Context, *app.Platform) (any, error) {
		return directory{}, nil
	}}}, extra...)
	log := slog.New(slog.DiscardHandler)
	sys, err := app.Build(t.Context(), cfg, log, "test", services, edges)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	metrics, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsURLs.Store(sys, "http://"+metrics.Addr().String())
	go func() { done <- sys.Serve(ctx, ln, metrics) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not return within 20s of cancellation")
		}
	})
	url := "http://" + ln.Addr().String()
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sys, url
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDeadLettersAdminAPI(t *testing.T) {
	pr := &probe{started: make(chan struct{})}
	sys, url := serve(t, app.Service{Name: "probe", New: func(_ context.Context, p *app.Platform) (any, error) {
		pr.b = p.Bus
		return pr, nil
	}})
	<-pr.started
	ctx := t.Context()
	for _, m := range []bus.Message{
		{ID: "ev-default", Subject: "probe.thing.v1", Data: []byte(`{"id":"ev-default","tenant":"default"}`), Header: map[string]string{"tenant": "default"}},
		{ID: "ev-acme", Subject: "probe.thing.v1", Data: []byte(`{"id":"ev-acme","tenant":"acme"}`), Header: map[string]string{"tenant": "acme"}},
	} {
		if err := sys.Platform.Bus.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var list struct {
		Items []app.DeadLetter `json:"items"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		dls, err := sys.Platform.Bus.DeadLetters(ctx, "probe", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %d, want 2", len(dls))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The default store's admin sees its own dead letter only.
	status, body := call(t, "GET", url+"/api/v1/admin/dead-letters?group=probe", "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].ID != "ev-default" || list.Items[0].Error == "" || list.Items[0].Attempts != 1 {
		t.Fatalf("list = %s, want ev-default only", body)
	}
	// A limit above the maximum is capped, as on every list, not refused.
	if status, body := call(t, "GET", url+"/api/v1/admin/dead-letters?group=probe&limit=100000", ""); status != 200 || !strings.Contains(body, `"ev-default"`) {
		t.Errorf("limit above the maximum: %d %s, want 200 with the page", status, body)
	}
	if status, body := call(t, "POST", url+"/api/v1/admin/dead-letters/replay", `{"group":"probe","ids":["ev-acme"]}`); status != 404 {
		t.Errorf("replaying another store's letter: %d %s, want 404", status, body)
	}
	if status, body := call(t, "GET", url+"/api/v1/admin/dead-letters?group=bad.group", ""); status != 422 {
		t.Errorf("invalid group: %d %s, want 422", status, body)
	}
	status, body = call(t, "POST", url+"/api/v1/admin/dead-letters/replay", `{"group":"probe"}`)
	if status != 200 || !strings.Contains(body, `"replayed":1`) {
		t.Fatalf("replay: %d %s, want 1 replayed", status, body)
	}
	// The probe rejects it again: it comes back, still one per store.
	for deadline := time.Now().Add(10 * time.Second); ; {
		dls, _ := sys.Platform.Bus.DeadLetters(ctx, "probe", 10)
		if len(dls) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed letter did not come back: %d", len(dls))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadyAndMetrics(t *testing.T) {
	sys, url := serve(t)
	mu, _ := metricsURLs.Load(sys)
	status, body := call(t, "GET", mu.(string)+"/metrics", "")
	if status != 200 || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, `mercato_http_requests_total{code="200",method="GET",route="GET /readyz"}`) {
		t.Fatalf("metrics: %d\n%s", status, body)
	}
	// The public listener, which every store's visitors reach, has none.
	if status, body := call(t, "GET", url+"/metrics", ""); status == 200 || strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics on the public listener: %d", status)
	}
}

// TestTracesExportedOnStop: with -otel.endpoint the process exports the
// server spans of its requests, over OTLP/HTTP, by the time it has stopped.
func TestTracesExportedOnStop(t *testing.T) {
	var mu sync.Mutex
	var names []string
	var services []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := new(collectortrace.ExportTraceServiceRequest)
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			t.Errorf("collector: %s %s, %d bytes", r.Method, r.URL.Path, len(body))
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					services = append(services, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
	}))
	t.Cleanup(collector.Close)
	// Cleanups run last-in first-out: this one runs after serve's, once the
	// process has stopped.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(names, "GET /healthz") {
			t.Errorf("exported spans %q, want GET /healthz among them", names)
		}
		if len(services) == 0 || services[0] != "mercato" {
			t.Errorf("service.name = %q, want mercato", services)
		}
	})
	_, url := serveWith(t, func(c *app.Config) { c.Telemetry.Endpoint = collector.URL })
	if status, _ := call(t, "GET", url+"/healthz", ""); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
}
