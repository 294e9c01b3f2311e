package web

import (
	"net/http/httptest"
	"testing"
)

// TestFromProxy: behind a trusted proxy the request's address is the
// client's, the last X-Forwarded-For entry no trusted proxy added; entries
// a client sent itself, and any header from an untrusted peer, change
// nothing.
func TestFromProxy(t *testing.T) {
	trusted, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{trusted: trusted}
	for _, c := range []struct {
		name, peer, xff, want string
	}{
		{"the gateway's client", "10.1.2.3:5555", "203.0.113.9", "203.0.113.9:0"},
		{"through two proxies", "10.1.2.3:5555", "198.51.100.1, 203.0.113.9, 192.0.2.7", "203.0.113.9:0"},
		{"a client's own entry is not taken", "10.1.2.3:5555", "6.6.6.6, 203.0.113.9", "203.0.113.9:0"},
		{"an untrusted peer", "203.0.113.50:4444", "6.6.6.6", "203.0.113.50:4444"},
		{"no header", "10.1.2.3:5555", "", "10.1.2.3:5555"},
		{"only proxies", "10.1.2.3:5555", "10.9.9.9", "10.1.2.3:5555"},
		{"garbage", "10.1.2.3:5555", "not-an-ip", "10.1.2.3:5555"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := s.fromProxy(r).RemoteAddr; got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies([]string{"nonsense"}); err == nil {
		t.Error("a malformed proxy address is accepted")
	}
}
