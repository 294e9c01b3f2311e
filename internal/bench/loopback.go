package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNotLoopback is returned for targets outside the loopback interface.
var ErrNotLoopback = errors.New("bench: only loopback targets are allowed (localhost, 127.0.0.0/8, [::1])")

// CheckLoopback returns nil if rawURL is an http(s) URL whose host is on the
// loopback interface: "localhost" (or a name under .localhost) or a
// loopback IP address. Anything else is ErrNotLoopback. Names are not
// resolved here; the harness's dialer checks the address it connects to.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse target URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target URL %q: the scheme must be http or https", rawURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target URL %q has no host", rawURL)
	}
	if !loopbackHost(host) {
		return fmt.Errorf("target URL %q: %w", u.Redacted(), ErrNotLoopback)
	}
	return nil
}

func loopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
