package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseProxies parses addresses and CIDRs of trusted proxies ("10.0.0.0/8",
// "192.0.2.7").
func ParseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", p)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

// ClientAddr is the address of the client of r: the connection's peer,
// or, when the peer is one of the trusted proxies, the last address of
// X-Forwarded-For that no trusted proxy added. Entries a client wrote
// itself sit before those and are never taken.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !inPrefixes(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !inPrefixes(a, trusted) {
			return a
		}
	}
	return peer
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap()
}

func inPrefixes(a netip.Addr, list []netip.Prefix) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromProxy makes r.RemoteAddr the client's address (port 0) when the
// request came through a trusted proxy (-http.trusted-proxies: the
// gateway, a load balancer), so that what counts by address (the login
// throttle, the access log) counts clients, not the proxy.
func (s *Server) fromProxy(r *http.Request) *http.Request {
	if len(s.trusted) == 0 || r.Header.Get("X-Forwarded-For") == "" {
		return r
	}
	c := ClientAddr(r, s.trusted)
	if !c.IsValid() || c == peerAddr(r.RemoteAddr) {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.RemoteAddr = net.JoinHostPort(c.String(), "0")
	return r2
}
