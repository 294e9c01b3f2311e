package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// ReplicaSeparator separates the replicas of one service in a -urls value:
// -urls=order=http://order-1:8080|http://order-2:8080. pflag's
// StringToString reads "," between services and "=" after the name, so
// "|" is free inside a value.
const ReplicaSeparator = "|"

// Replicas parses a -urls value into its replicas' base URLs (absolute
// http or https URLs, trailing slash removed).
func Replicas(v string) ([]*url.URL, error) {
	var out []*url.URL
	for raw := range strings.SplitSeq(v, ReplicaSeparator) {
		raw = strings.TrimSuffix(strings.TrimSpace(raw), "/")
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%q is not an http:// or https:// base URL", raw)
		}
		out = append(out, u)
	}
	return out, nil
}

// replicaTransport spreads a service's calls over its replicas in turn,
// and sends a request whose connection could not be made at all to the
// next replica (nothing reached the first, so nothing happens twice). The
// gateway does more (health checks, ejection, breakers); a service
// calling another needs only this.
type replicaTransport struct {
	next  http.RoundTripper
	bases []*url.URL
	n     atomic.Uint64
}

func (t *replicaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.n.Add(1)
	var err error
	for i := range t.bases {
		b := t.bases[(start+uint64(i))%uint64(len(t.bases))]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host = b.Scheme, b.Host
		out.URL.Path = b.Path + req.URL.Path
		if req.URL.RawPath != "" {
			out.URL.RawPath = b.Path + req.URL.RawPath
		}
		out.Host = ""
		var resp *http.Response
		resp, err = t.next.RoundTrip(out)
		var op *net.OpError
		if err == nil || !errors.As(err, &op) || op.Op != "dial" || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
	return nil, err
}
