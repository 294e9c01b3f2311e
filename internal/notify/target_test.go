package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestForbiddenAddr(t *testing.T) {
	for addr, forbidden := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "0.0.0.0": true, "::": true,
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "100.64.0.1": true, "fd12::1": true,
		"169.254.169.254": true, "fe80::1": true, "::ffff:127.0.0.1": true, "::ffff:169.254.169.254": true,
		"fd00:ec2::254": true, "224.0.0.1": true,
		"93.184.216.34": false, "8.8.8.8": false, "2606:4700::1111": false, "172.32.0.1": false,
	} {
		if got := forbiddenAddr(netip.MustParseAddr(addr)) != ""; got != forbidden {
			t.Errorf("forbiddenAddr(%s) = %v, want %v", addr, got, forbidden)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]error{
		"https://hooks.example.com/mercato":  nil,
		"http://93.184.216.34:8080/x":        nil,
		"http://127.0.0.1:9000/":             ErrForbiddenTarget,
		"http://169.254.169.254/latest/meta": ErrForbiddenTarget,
		"http://[::1]/":                      ErrForbiddenTarget,
		"http://localhost:8080/":             ErrForbiddenTarget,
		"http://LOCALHOST./":                 ErrForbiddenTarget,
		"http://shop.localhost/":             ErrForbiddenTarget,
		"http://10.0.0.5/":                   ErrForbiddenTarget,
	} {
		if err := checkURL(raw, false); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("checkURL(%s) = %v, want %v", raw, err, want)
		}
	}
	for _, raw := range []string{"ftp://example.com/", "example.com/x", "https://user:pw@example.com/", "https:///x", "https://example.com/#frag"} {
		if err := checkURL(raw, false); err == nil || errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("checkURL(%s) = %v, want a plain refusal", raw, err)
		}
	}
	if err := checkURL("http://127.0.0.1:9000/", true); err != nil {
		t.Errorf("allowed private: %v", err)
	}
	// The metadata services stay refused: they hand out credentials.
	for _, raw := range []string{"http://169.254.169.254/latest/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"} {
		if err := checkURL(raw, true); !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("checkURL(%s, allowed private) = %v", raw, err)
		}
	}
}

// TestClientRefusesAtConnectTime: a name resolving to a forbidden address
// passes checkURL but not the dialer, and no request reaches the server;
// the metadata address is refused before any packet is sent.
func TestClientRefusesAtConnectTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	c := newClient(Config{}.withDefaults())
	for _, u := range []string{byName, srv.URL, "http://169.254.169.254/latest/meta-data/"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, nil)
		_, err := c.Do(req)
		if !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("POST %s: %v, want ErrForbiddenTarget", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	allowed := newClient(Config{AllowPrivate: true}.withDefaults())
	if _, err := allowed.Post("http://169.254.169.254/latest/meta-data/", "application/json", nil); !errors.Is(err, ErrForbiddenTarget) {
		t.Errorf("metadata with AllowPrivate: %v, want ErrForbiddenTarget", err)
	}
	res, err := allowed.Post(byName, "application/json", nil)
	if err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	res.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Errorf("with AllowPrivate: %d requests reached the server, want 1", n)
	}
}
