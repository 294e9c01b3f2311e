package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Balancer is the address of a replicated service: it hands each request
// to the next replica in turn, and to the one after when a replica refuses
// the connection (it is down; nothing was sent to it). A request a replica
// dies in the middle of answers 502, as a Kubernetes Service's would.
type Balancer struct {
	Name string
	Addr string

	procs  []*Proc
	next   atomic.Uint64
	srv    *http.Server
	client *http.Client

	mu     sync.Mutex
	served map[string]int       // 2xx answers per replica
	lastOK map[string]time.Time // the latest 2xx answer per replica
}

// ReplicaHeader names the replica that answered, on every answer.
const ReplicaHeader = "X-Cluster-Replica"

func newBalancer(name string, procs []*Proc) (*Balancer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Balancer{Name: name, Addr: ln.Addr().String(), procs: procs,
		served: map[string]int{}, lastOK: map[string]time.Time{},
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
			// The callers' own timeouts bound a request.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Close stops the balancer.
func (b *Balancer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
}

func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "read request", http.StatusBadRequest)
		return
	}
	start := b.next.Add(1)
	var lastErr error
	for i := range b.procs {
		p := b.procs[(int(start)+i)%len(b.procs)]
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.Addr+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		out.Host = r.Host
		resp, err := b.client.Do(out)
		if err != nil {
			lastErr = err
			if refused(err) {
				continue
			}
			break
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Set(ReplicaHeader, p.Name)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			b.mu.Lock()
			b.served[p.Name]++
			b.lastOK[p.Name] = time.Now()
			b.mu.Unlock()
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, "cluster balancer: "+errString(lastErr))
}

func errString(err error) string {
	if err == nil {
		return "no replica"
	}
	return err.Error()
}

// refused reports whether nothing reached the replica: its port is
// closed, or the connection could not be made.
func refused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}

// Served returns the 2xx answers per replica so far.
func (b *Balancer) Served() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.served))
	for k, v := range b.served {
		out[k] = v
	}
	return out
}

// LastOK returns when replica last answered a 2xx.
func (b *Balancer) LastOK(replica string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastOK[replica]
}
