package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// liveGoal is the p99 the issue asks of event → browser at 1,000 streams.
const liveGoal = 200 * time.Millisecond

// LiveOptions are the settings of `mercato bench live`.
type LiveOptions struct {
	// URL is a running Mercato on the loopback interface; empty boots one
	// in this process.
	URL string
	// StreamURL is where the streams are opened, when the storefront runs
	// in a process of its own (the production shape); default URL. Only
	// with URL.
	StreamURL string
	// Metrics is the /metrics URL (its -metrics.addr) of the process
	// serving the streams, read for its own memory; only with URL.
	Metrics string
	// Connections is how many order-page streams are held open.
	Connections int
	// Orders is how many orders they watch (round robin); each is shipped
	// once while they are open.
	Orders int
	// Rate is how many orders are shipped per second.
	Rate float64
	// Yes accepts that an in-process run writes to the -db or -bus given.
	Yes bool
}

func (o LiveOptions) validate(cfg app.Config) error {
	var errs []error
	if o.Connections < 1 || o.Connections > 20000 {
		errs = append(errs, fmt.Errorf("-connections must be between 1 and 20000, got %d", o.Connections))
	}
	if o.Orders < 1 || o.Orders > 1000 || o.Orders > o.Connections {
		errs = append(errs, fmt.Errorf("-orders must be between 1 and min(1000, -connections), got %d", o.Orders))
	}
	if o.Rate <= 0 || o.Rate > 1000 {
		errs = append(errs, fmt.Errorf("-rate must be above 0 and at most 1000, got %g", o.Rate))
	}
	if o.URL != "" {
		if err := CheckLoopback(o.URL); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
		for flag, u := range map[string]string{"-metrics": o.Metrics, "-stream-url": o.StreamURL} {
			if u == "" {
				continue
			}
			if err := CheckLoopback(u); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", flag, err))
			}
		}
	} else {
		if o.StreamURL != "" {
			errs = append(errs, errors.New("-stream-url names a running storefront: it needs -url"))
		}
		if o.Metrics != "" {
			errs = append(errs, errors.New("-metrics reads a running Mercato's figures: it needs -url"))
		}
		if (cfg.DB != "" || cfg.Bus != "embedded") && !o.Yes {
			errs = append(errs, errors.New("without -url the benchmark boots Mercato and writes orders to the -db database and -bus given; pass -yes to accept that"))
		}
	}
	return errors.Join(errs...)
}

// Live is `mercato bench live`: it holds Connections order-page streams
// (GET /orders/{id}/events, Server-Sent Events) open, measures what they
// cost in memory and goroutines, then ships the orders through the API
// and measures each event's way from the order service's transaction to
// the stream's reader: outbox, relay, bus, the live hub, HTTP.
func (r *Runner) Live(ctx context.Context, o LiveOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench live:\n%w", err)
	}
	if o.URL != "" {
		return r.live(ctx, strings.TrimSuffix(o.URL, "/"), o, "", nil)
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.live(ctx, base, o, note, sys)
	})
}

// liveOrder is an order the streams watch.
type liveOrder struct{ id, token string }

func (r *Runner) live(ctx context.Context, base string, o LiveOptions, note string, sys *app.System) error {
	// Each stream is a socket here, and one more in the server when it
	// runs in this process.
	want := uint64(o.Connections + 256)
	if sys != nil {
		want += uint64(o.Connections)
	}
	limit, err := raiseFileLimit(want)
	if err != nil {
		fmt.Fprintf(r.Stderr, "could not raise the open-files limit: %v\n", err)
	} else if limit < want {
		return fmt.Errorf("bench live: %d streams need about %d open files; the hard limit is %d (raise it with ulimit -Hn, or ask for fewer -connections)", o.Connections, want, limit)
	}
	var token string
	if sys != nil {
		token = sys.Platform.Config.Web.AdminToken
	}
	if token, err = r.adminToken(token); err != nil {
		return err
	}
	streams := base
	if o.StreamURL != "" {
		streams = strings.TrimSuffix(o.StreamURL, "/")
	}
	host := storeHost(streams)
	bc := apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	run := strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()))
	fmt.Fprintf(r.Stderr, "placing %d orders …\n", o.Orders)
	orders, err := placeOrders(ctx, bc, run, o.Orders)
	if err != nil {
		return fmt.Errorf("bench live: %w", err)
	}

	// The client's own cost, measured apart: the same sockets and readers
	// against a listener that only holds the connections.
	client, err := clientBaseline(ctx, o.Connections)
	if err != nil {
		return fmt.Errorf("bench live: measure the client alone: %w", err)
	}

	before := r.sample(ctx, sys, o.Metrics)
	fmt.Fprintf(r.Stderr, "opening %d streams …\n", o.Connections)
	lat := &latencies{}
	conns, err := openStreams(ctx, streams, host, orders, o.Connections, lat)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("bench live: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // let the server's side settle
	after := r.sample(ctx, sys, o.Metrics)

	fmt.Fprintf(r.Stderr, "shipping %d orders at %g/s …\n", len(orders), o.Rate)
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
	defer tick.Stop()
	shipStart := time.Now()
	for i, ord := range orders {
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/orders/"+url.PathEscape(ord.id)+"/shipments",
			map[string]any{"carrier": "Bench", "tracking_number": fmt.Sprintf("LIVE-%s-%d", run, i)}, nil); err != nil {
			return fmt.Errorf("bench live: ship: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	// Every stream gets its order's shipment; wait for them, a bounded time.
	deadline := time.Now().Add(30 * time.Second)
	for lat.shipped.Load() < int64(o.Connections) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the payment events that follow
	shipped := lat.shipped.Load()
	samples := lat.sorted()

	fmt.Fprintf(r.Stdout, "bench live: %d streams of GET /orders/{id}/events over %d orders, Host %s; %d orders shipped at %g/s\n",
		o.Connections, len(orders), host, len(orders), o.Rate)
	if streams != base {
		fmt.Fprintf(r.Stdout, "streams served by %s, orders placed and shipped at %s\n", streams, base)
	}
	fmt.Fprintln(r.Stdout)
	n := float64(o.Connections)
	fmt.Fprintf(r.Stdout, "streams held        %d (open-files soft limit %d)\n", o.Connections, limit)
	if before.ok && after.ok {
		fmt.Fprintf(r.Stdout, "memory per stream   heap in use %s + goroutine stacks %s (%s)\n",
			bytesOf((float64(after.heap)-float64(before.heap))/n), bytesOf((float64(after.stack)-float64(before.stack))/n), before.source)
		fmt.Fprintf(r.Stdout, "goroutines/stream   %.2f\n", float64(after.goroutines-before.goroutines)/n)
		if sys != nil {
			fmt.Fprintf(r.Stdout, "  of which the client: heap %s + stacks %s, goroutines %.2f (its sockets and readers alone, measured apart)\n",
				bytesOf(client.heap/n), bytesOf(client.stack/n), client.goroutines/n)
			fmt.Fprintf(r.Stdout, "  so the server:      heap %s + stacks %s, goroutines %.2f per stream\n",
				bytesOf((float64(after.heap)-float64(before.heap)-client.heap)/n), bytesOf((float64(after.stack)-float64(before.stack)-client.stack)/n),
				(float64(after.goroutines-before.goroutines)-client.goroutines)/n)
		}
	} else {
		fmt.Fprintln(r.Stdout, "memory per stream   not measured (give -metrics with -url)")
	}
	fmt.Fprintf(r.Stdout, "events received     %d (%d order.shipped of %d expected) in %s\n", len(samples), shipped, o.Connections, time.Since(shipStart).Round(time.Millisecond))
	if len(samples) > 0 {
		p99 := pctl(samples, 0.99)
		verdict := "meets"
		if p99 >= liveGoal {
			verdict = "misses"
		}
		fmt.Fprintf(r.Stdout, "event → stream      p50 %s · p95 %s · p99 %s · max %s (%s the goal p99 < %s)\n",
			pctl(samples, 0.50).Round(100*time.Microsecond), pctl(samples, 0.95).Round(100*time.Microsecond),
			p99.Round(100*time.Microsecond), samples[len(samples)-1].Round(100*time.Microsecond), verdict, liveGoal)
	}
	fmt.Fprintln(r.Stdout, "\nLatency runs from the event's time (set in the order or payment service's transaction) to the line read by the stream's")
	fmt.Fprintln(r.Stdout, "reader: commit, outbox relay, bus, the live hub's fan-out and HTTP.")
	fmt.Fprintf(r.Stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	if shipped < int64(o.Connections) {
		return fmt.Errorf("bench live: %d of %d streams never got their order's shipment", int64(o.Connections)-shipped, o.Connections)
	}
	return nil
}

// placeOrders creates three products and places n orders of them as a
// guest, returning their IDs and tokens.
func placeOrders(ctx context.Context, bc apiClient, run string, n int) ([]liveOrder, error) {
	skus, err := createSKUs(ctx, bc, run, 3, int64(n)+10)
	if err != nil {
		return nil, fmt.Errorf("prepare products: %w", err)
	}
	orders := make([]liveOrder, n)
	guest := apiClient{base: bc.base, http: bc.http}
	for i := range orders {
		var out struct {
			ID     string `json:"id"`
			Token  string `json:"token"`
			Status string `json:"status"`
		}
		body := map[string]any{
			"items": []map[string]any{{"sku": skus[i%len(skus)], "quantity": 1}},
			"email": "bench-live-" + run + "@example.com",
			"shipping_address": map[string]string{
				"name": "Bench Buyer", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
			},
			"payment": map[string]string{"provider": "fake", "token": "tok_visa"},
		}
		if _, err := guest.callWith(ctx, http.MethodPost, "/api/v1/checkout", body, &out, "Idempotency-Key", fmt.Sprintf("bench-live-%s-%d", run, i)); err != nil {
			return nil, fmt.Errorf("place order %d: %w", i, err)
		}
		if out.Status != "confirmed" {
			return nil, fmt.Errorf("place order %d: status %q, want confirmed", i, out.Status)
		}
		orders[i] = liveOrder{id: out.ID, token: out.Token}
	}
	return orders, nil
}

// latencies collects the event → reader times of every stream.
type latencies struct {
	mu      sync.Mutex
	samples []time.Duration
	shipped atomic.Int64
}

func (l *latencies) add(d time.Duration, shipped bool) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
	if shipped {
		l.shipped.Add(1)
	}
}

func (l *latencies) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := slices.Clone(l.samples)
	slices.Sort(s)
	return s
}

// openStreams opens n streams, 32 at a time, stream i on order i mod
// len(orders); each reads its events on a goroutine of its own until
// closed. It returns once every stream has its response's headers (the
// server has registered it).
func openStreams(ctx context.Context, base, host string, orders []liveOrder, n int, lat *latencies) ([]net.Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conns := make([]net.Conn, n)
	sem := make(chan struct{}, 32)
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	d := net.Dialer{Timeout: 10 * time.Second, Control: loopbackOnly}
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ord := orders[i%len(orders)]
			c, err := openStream(ctx, &d, u.Host, host, "/orders/"+url.PathEscape(ord.id)+"/events?token="+url.QueryEscape(ord.token), lat)
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = fmt.Errorf("open stream %d: %w", i, err)
				}
				errMu.Unlock()
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	open := conns[:0]
	for _, c := range conns {
		if c != nil {
			open = append(open, c)
		}
	}
	return open, first
}

// openStream sends one stream's request on a socket of its own and, once
// its headers are in, reads its events on a goroutine.
func openStream(ctx context.Context, d *net.Dialer, addr, host, path string, lat *latencies) (net.Conn, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	_ = c.SetDeadline(time.Time{})
	go readEvents(resp.Body, lat)
	return c, nil
}

// readEvents reads a stream's lines until it ends, timing each data line
// by the "at" it carries.
func readEvents(body io.ReadCloser, lat *latencies) {
	defer body.Close()
	br := bufio.NewReaderSize(body, 512)
	var name string
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			name = string(line[7:])
		case bytes.HasPrefix(line, []byte("data: ")):
			now := time.Now()
			var d struct {
				At time.Time `json:"at"`
			}
			if json.Unmarshal(line[6:], &d) == nil && !d.At.IsZero() {
				lat.add(now.Sub(d.At), name == "order.shipped.v1")
			}
		}
	}
}

// footprint is a process's memory and goroutines at one moment.
type footprint struct {
	ok          bool
	heap, stack uint64
	goroutines  int
	source      string
}

// sample reads the server's footprint: this process's after a collection
// when it runs here, else the running server's /metrics when given.
func (r *Runner) sample(ctx context.Context, sys *app.System, metrics string) footprint {
	if sys != nil {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return footprint{ok: true, heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine(), source: "this process: server and client"}
	}
	if metrics == "" {
		return footprint{}
	}
	f, err := scrape(ctx, metrics)
	if err != nil {
		fmt.Fprintf(r.Stderr, "read %s: %v\n", metrics, err)
		return footprint{}
	}
	return f
}

// scrape reads the Go runtime's figures from a Prometheus /metrics page.
func scrape(ctx context.Context, u string) (footprint, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return footprint{}, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return footprint{}, err
	}
	defer resp.Body.Close()
	f := footprint{source: "the server's /metrics, without a collection first"}
	sc := bufio.NewScanner(resp.Body)
	found := 0
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(val, &v); err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			f.heap, found = uint64(v), found+1
		case "go_memstats_stack_inuse_bytes":
			f.stack, found = uint64(v), found+1
		case "go_goroutines":
			f.goroutines, found = int(v), found+1
		}
	}
	f.ok = found == 3
	if !f.ok {
		return f, errors.New("no Go runtime figures on the page")
	}
	return f, sc.Err()
}

// clientCost is what the client's side of n streams costs alone.
type clientCost struct{ heap, stack, goroutines float64 }

// clientBaseline opens n sockets to a listener that only holds them, each
// with the reader a stream has, and measures the difference.
func clientBaseline(ctx context.Context, n int) (clientCost, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return clientCost{}, err
	}
	defer ln.Close()
	var (
		mu       sync.Mutex
		accepted []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	measure := func() (uint64, uint64, int) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
	}
	h0, s0, g0 := measure()
	d := net.Dialer{Timeout: 10 * time.Second, Control: loopbackOnly}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		mu.Lock()
		for _, c := range accepted {
			c.Close()
		}
		mu.Unlock()
	}()
	lat := &latencies{}
	for range n {
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return clientCost{}, err
		}
		conns = append(conns, c)
		br := bufio.NewReaderSize(c, 1024)
		go readEvents(io.NopCloser(br), lat)
	}
	time.Sleep(200 * time.Millisecond)
	h1, s1, g1 := measure()
	// The figure includes the accepted sockets (a few hundred bytes each,
	// no goroutine), which are the server side's: the server's share below
	// is that much too low.
	return clientCost{heap: float64(h1) - float64(h0), stack: float64(s1) - float64(s0), goroutines: float64(g1 - g0)}, nil
}

// bytesOf formats a byte count.
func bytesOf(b float64) string {
	switch {
	case b >= 1<<20 || b <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10 || b <= -(1<<10):
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
