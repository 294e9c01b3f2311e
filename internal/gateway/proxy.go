package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mercato/mercato/internal/platform/web"
)

// errUpstreamStatus is what a 502, 503 or 504 from a replica counts as for
// its circuit breaker.
var errUpstreamStatus = errors.New("gateway: the replica answered 502-504")

// forwarder is the proxies' transport: the request's URL host names the
// service (http://catalog/…); forwarder picks a replica of it, sends the
// request there, and when no connection could be made, or an idempotent
// request got no answer, tries another replica.
type forwarder struct{ g *Gateway }

func (f *forwarder) RoundTrip(req *http.Request) (*http.Response, error) {
	p := f.g.pools[req.URL.Host]
	if p == nil {
		return nil, errNoReplica
	}
	body := &trackedBody{rc: req.Body}
	if req.Body == nil || req.Body == http.NoBody {
		body = nil
	}
	safe := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions || req.Header.Get("Idempotency-Key") != ""
	tried := map[*replica]bool{}
	var lastErr error = errNoReplica
	for attempt := 0; attempt <= f.g.cfg.Retries; attempt++ {
		r := p.pick(tried)
		if r == nil {
			break
		}
		tried[r] = true
		done, err := r.breaker.Allow()
		if err != nil {
			lastErr = errNoReplica
			continue
		}
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host = r.base.Scheme, r.base.Host
		if r.base.Path != "" {
			out.URL.Path = r.base.Path + req.URL.Path
			if req.URL.RawPath != "" {
				out.URL.RawPath = r.base.Path + req.URL.RawPath
			}
		}
		if body != nil {
			out.Body = body
		}
		start := time.Now()
		r.inflight.Add(1)
		resp, err := p.transport.RoundTrip(out)
		if err != nil {
			r.inflight.Add(-1)
			done(err)
			lastErr = err
			var op *net.OpError
			dial := errors.As(err, &op) && op.Op == "dial"
			if dial {
				// Passive ejection: a replica that refuses connections
				// takes no more requests until a check finds it back.
				p.setHealthy(r, false, "connect: "+err.Error())
			}
			if req.Context().Err() != nil {
				return nil, err
			}
			// Nothing reached the replica (no connection), or the
			// request is safe to repeat and none of its body was sent.
			if dial && (body == nil || !body.touched()) || safe && (body == nil || !body.touched()) {
				continue
			}
			return nil, err
		}
		f.g.m.upstreamDuration.WithLabelValues(p.service).Observe(time.Since(start).Seconds())
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			done(errUpstreamStatus)
		default:
			done(nil)
		}
		resp.Body = &countedBody{ReadCloser: resp.Body, r: r}
		return resp, nil
	}
	return nil, lastErr
}

// trackedBody lets a request body be offered to a second replica when the
// first never read it. The server closes the real body at the end of the
// request, so Close here does nothing.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error  { return nil }
func (b *trackedBody) touched() bool { return b.read.Load() }

// countedBody keeps its replica's in-flight count until the response has
// been read (a stream counts as long as it lasts).
type countedBody struct {
	io.ReadCloser
	r    *replica
	once atomic.Bool
}

func (b *countedBody) Close() error {
	if b.once.CompareAndSwap(false, true) {
		b.r.inflight.Add(-1)
	}
	return b.ReadCloser.Close()
}

// proxy returns the reverse proxy of service.
func (g *Gateway) proxy(service string) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The forwarder turns the service's name into a replica.
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", service
			// The store is its host name: the service sees the host the
			// client asked for.
			pr.Out.Host = pr.In.Host
			g.setForwarded(pr)
		},
		Transport: &forwarder{g: g},
		ErrorLog:  nil,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if info := infoFrom(r.Context()); info != nil {
				info.err = err
			}
			var nerr net.Error
			switch {
			case errors.Is(err, context.Canceled):
				// The client went away; nobody reads the answer.
				w.WriteHeader(499)
			case errors.Is(err, errNoReplica):
				web.WriteProblem(w, http.StatusServiceUnavailable, "upstream_unavailable", "the service for this request is not available; retry shortly")
			case errors.As(err, &nerr) && nerr.Timeout():
				web.WriteProblem(w, http.StatusGatewayTimeout, "upstream_timeout", "the service did not answer in time")
			default:
				web.WriteProblem(w, http.StatusBadGateway, "upstream_error", "the service could not be reached; retry shortly")
			}
		},
	}
}

// setForwarded sets X-Forwarded-For, -Host and -Proto on the request to
// the service. Incoming values are kept only from a trusted proxy (the
// request's peer is in -gateway.trusted-proxies); anyone else's are
// replaced, so a client cannot choose the address it is limited by.
func (g *Gateway) setForwarded(pr *httputil.ProxyRequest) {
	peer := peerAddr(pr.In.RemoteAddr)
	trusted := g.trusted(peer)
	xff := peer.String()
	if prior := pr.In.Header.Values("X-Forwarded-For"); trusted && len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + xff
	}
	pr.Out.Header.Set("X-Forwarded-For", xff)
	pr.Out.Header.Set("X-Forwarded-Host", pr.In.Host)
	proto := "http"
	if pr.In.TLS != nil {
		proto = "https"
	}
	if p := pr.In.Header.Get("X-Forwarded-Proto"); trusted && (p == "http" || p == "https") {
		proto = p
	}
	pr.Out.Header.Set("X-Forwarded-Proto", proto)
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap()
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request is limited by: its peer, or behind
// trusted proxies the last address of X-Forwarded-For they did not add.
func (g *Gateway) clientAddr(r *http.Request) string {
	peer := peerAddr(r.RemoteAddr)
	if !g.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}
