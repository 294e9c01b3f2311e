package notify

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Outbound safety. A webhook URL is chosen by a merchant and fetched by the
// platform, so without care it would let any store make the platform call
// its own internals (the admin port, a database, the cloud's metadata
// service). Literal addresses are refused when the subscription is saved;
// every connection is checked again on the address it is about to connect
// to, after DNS resolution, so a name that resolves to a forbidden address
// (at once, or only later: DNS rebinding) is refused too. No proxy from the
// environment is used: it would connect on our behalf, past the check.

// maxResponseBody is how much of an answer is read; the rest is dropped.
// maxResponseExcerpt is how much of it the delivery log keeps.
const (
	maxResponseBody    = 64 << 10
	maxResponseExcerpt = 2 << 10
)

// cgnat is the shared address space (RFC 6598), which carriers and some
// clouds use inside their networks.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// metadataAddrs are the clouds' instance metadata services, which hand
// out credentials: refused even with AllowPrivate.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack…
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// metadataAddr reports whether addr is a cloud metadata service's.
func metadataAddr(addr netip.Addr) bool {
	return slices.Contains(metadataAddrs, addr.Unmap())
}

// forbiddenAddr reports why addr may not be a webhook target, or "".
func forbiddenAddr(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case metadataAddr(addr):
		return "cloud metadata"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		// 169.254.0.0/16 holds the cloud metadata services (169.254.169.254).
		return "link-local (cloud metadata)"
	case addr.IsPrivate(), cgnat.Contains(addr):
		return "private"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}

// checkURL checks a webhook URL when it is saved: http or https, a host,
// no credentials, and, when the host is a literal address or localhost,
// one that may be reached.
func checkURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if allowPrivate {
		if addr, err := netip.ParseAddr(host); err == nil && metadataAddr(addr) {
			return fmt.Errorf("%w: %s is cloud metadata", ErrForbiddenTarget, addr)
		}
		return nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: %s is loopback", ErrForbiddenTarget, host)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := forbiddenAddr(addr); why != "" {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenTarget, addr, why)
		}
	}
	return nil
}

// dialControl refuses, at connect time, an address a webhook may not
// reach: with allowPrivate, only the cloud metadata services.
func dialControl(allowPrivate bool) func(_, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse %s", ErrForbiddenTarget, address)
		}
		if allowPrivate && !metadataAddr(ap.Addr()) {
			return nil
		}
		if why := forbiddenAddr(ap.Addr()); why != "" {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenTarget, ap.Addr(), why)
		}
		return nil
	}
}

// newClient returns the HTTP client of webhook deliveries: no redirects
// followed (a 3xx is a failed attempt), no proxy, cfg.Timeout per attempt,
// and every connection checked (cfg.AllowPrivate lets private ones through).
func newClient(cfg Config) *http.Client {
	d := &net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: dialControl(cfg.AllowPrivate)}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(cfg.Timeout, 10*time.Second),
		ResponseHeaderTimeout: cfg.Timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// readExcerpt reads at most maxResponseBody of r and returns the first
// maxResponseExcerpt bytes of it as text.
func readExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxResponseBody))
	if len(b) > maxResponseExcerpt {
		b = b[:maxResponseExcerpt]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
