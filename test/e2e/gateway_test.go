package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// TestGateway runs the production shape's entry: `mercato -services=gateway`
// in front of separate tenant, identity and catalog processes, the catalog
// listed with a second replica that is down. A visitor's and a customer's
// requests go through it by host name alone.
func TestGateway(t *testing.T) {
	t.Parallel()
	busAddr := freeAddr(t)
	service := "-service-token=mcs_" + strings.Repeat("gw2e", 10)
	tenants := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=tenant", "-bus.listen="+busAddr, service)
	bus := "-bus=nats://" + busAddr
	identity := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=identity", bus, "-urls=tenant="+tenants.URL, service)
	catalog := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=catalog", bus, "-urls=tenant="+tenants.URL, service)
	dead := "http://" + freeAddr(t) // nothing listens there
	gw := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=gateway", service, "-gateway.health.interval=200ms",
		"-urls=tenant="+tenants.URL+",identity="+identity.URL+",catalog="+catalog.URL+"|"+dead)

	// The default store answers at 127.0.0.1: the catalog through the
	// gateway, every time, although one of its replicas is down.
	for range 6 {
		r := gw.Call("GET", "/api/v1/products?limit=5", nil, map[string]string{"X-Request-Id": "e2e-gw-1"})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"items"`) || r.Header.Get("X-Request-Id") != "e2e-gw-1" {
			t.Fatalf("products through the gateway: %d %s (request ID %q)", r.Status, r.Body, r.Header.Get("X-Request-Id"))
		}
	}
	if r := gw.Call("GET", "/api/v1/products", nil, map[string]string{"Host": "nowhere.example.com"}); r.Status != 404 || !strings.Contains(string(r.Body), "unknown_tenant") {
		t.Errorf("an unknown host: %d %s", r.Status, r.Body)
	}
	// Internal routes are not reachable from outside, whatever is sent.
	if r := gw.Call("GET", "/internal/v1/tenants/resolve?host=127.0.0.1", nil, map[string]string{"Authorization": "Bearer " + strings.TrimPrefix(service, "-service-token=")}); r.Status != 404 || strings.Contains(string(r.Body), "tenant_id") {
		t.Errorf("the resolve endpoint through the gateway: %d %s", r.Status, r.Body)
	}
	// A customer signs up and in through the gateway; the access token is
	// checked there, a forged one never reaches identity.
	email := "gw-" + strings.ToLower(randomHex(4)) + "@example.com"
	if r := gw.Call("POST", "/api/v1/auth/register", map[string]any{"email": email, "password": "correct horse battery staple", "name": "Gate Way"}, nil); r.Status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	r := gw.Call("POST", "/api/v1/auth/login", map[string]any{"email": email, "password": "correct horse battery staple"}, nil)
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tokens)
	if r.Status != 200 || tokens.AccessToken == "" {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	if r := gw.Call("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + tokens.AccessToken}); r.Status != 200 || !strings.Contains(string(r.Body), email) {
		t.Errorf("me: %d %s", r.Status, r.Body)
	}
	forged := tokens.AccessToken[:len(tokens.AccessToken)-4] + "AAAA"
	if r := gw.Call("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + forged}); r.Status != 401 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("a forged token: %d %s", r.Status, r.Body)
	}
	// The dead replica is out; the gateway's metrics say so.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(gw.MetricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := string(body)
		if strings.Contains(m, `mercato_gateway_upstream_healthy{service="catalog",upstream="`+strings.TrimPrefix(dead, "http://")+`"} 0`) &&
			strings.Contains(m, `mercato_gateway_requests_total{code="200",service="catalog"} 6`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway metrics:\n%s", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
