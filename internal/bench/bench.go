// Package bench is Mercato's load harness: it hits one HTTP target on the
// loopback interface with a fixed number of workers, either as fast as they
// go or at a set rate, for a bounded time after a warm-up, and reduces the
// responses to a few figures (requests, req/s, latency percentiles, errors
// by kind) that a printer lays out as a table.
//
// The load generator is vegeta, used as a library. Targets must be on the
// loopback interface: the harness refuses other URLs before it starts and
// its dialer refuses any other address while it runs, so a benchmark can
// never be pointed at someone else's server.
//
// StartBare serves a recorded response from a bare net/http server, the
// baseline that shows what the platform costs over the network stack alone.
//
// Runner holds the benchmarks of `mercato bench` built on the harness
// (catalog, storefront, checkout, login, checkin): each hits a running Mercato, or
// boots one in this process with the demo data, and prints its report.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Limits that keep every run bounded in time and size.
const (
	// MaxDuration is the longest measured phase a Load may ask for.
	MaxDuration = 5 * time.Minute
	// MaxWarmup is the longest warm-up a Load may ask for.
	MaxWarmup = time.Minute
	// MaxWorkers is the most concurrent workers a Load may ask for.
	MaxWorkers = 1024
	// DefaultTimeout bounds each request when Load.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// maxErrorKinds is how many distinct error kinds a Result keeps; the
	// rest are counted under "other".
	maxErrorKinds = 8
)

// Target is what a benchmark hits: one request, repeated.
type Target struct {
	// Name labels the target in reports ("mercato", "bare net/http").
	Name string
	// Method is the HTTP method; empty means GET.
	Method string
	// URL is absolute and its host must be on the loopback interface.
	URL string
	// Header is sent with every request. No Accept-Encoding is added: a
	// target that wants compressed responses says so here.
	Header http.Header
	// Body is sent with every request.
	Body []byte
	// Vary, when set, makes every request its own: it is called with the
	// request's sequence number (0, 1, …, unique across the warm-up and
	// the measured phase) and the target's header (a fresh copy) and body,
	// and returns the body to send, e.g. with a unique Idempotency-Key set
	// in the header. It is called from many goroutines at once.
	Vary func(seq uint64, h http.Header, body []byte) []byte
	// Check, when set, inspects every response that arrived with a status
	// below 400; an error counts the response as failed, under its text.
	Check func(Response) error
}

// Response is one response as received: status, headers, and the body's
// bytes exactly as they came over the wire.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Load says how hard and how long a target is hit.
type Load struct {
	// Workers is the fixed number of concurrent workers, each with at most
	// one request in flight on a kept-alive connection.
	Workers int
	// Rate is the requests per second to send; zero means as fast as the
	// workers go (the max-throughput mode). A rate the workers cannot keep
	// up with is not reached: Result.Rate says what was.
	Rate int
	// Duration is the measured phase, at most MaxDuration.
	Duration time.Duration
	// Warmup is hit with the same load before measuring, on the same
	// connections, and not counted; at most MaxWarmup.
	Warmup time.Duration
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// CPUProfile, when set, receives a CPU profile of this whole process
	// during the measured phase: useful when the target is served in
	// process, though it also shows the load generator (and costs a few
	// percent of throughput).
	CPUProfile io.Writer
}

// Validate checks that the load is bounded and makes sense.
func (l Load) Validate() error {
	var errs []error
	if l.Workers < 1 || l.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers must be between 1 and %d, got %d", MaxWorkers, l.Workers))
	}
	if l.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate must not be negative, got %d", l.Rate))
	}
	if l.Duration <= 0 || l.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration must be above 0 and at most %s, got %s", MaxDuration, l.Duration))
	}
	if l.Warmup < 0 || l.Warmup > MaxWarmup {
		errs = append(errs, fmt.Errorf("warm-up must be between 0 and %s, got %s", MaxWarmup, l.Warmup))
	}
	if l.Timeout < 0 || l.Timeout > time.Minute {
		errs = append(errs, fmt.Errorf("request timeout must be between 0 (default) and 1m, got %s", l.Timeout))
	}
	return errors.Join(errs...)
}

func (l Load) timeout() time.Duration {
	if l.Timeout == 0 {
		return DefaultTimeout
	}
	return l.Timeout
}

// Mode describes the load in words: "4 workers, max throughput".
func (l Load) Mode() string {
	if l.Rate == 0 {
		return fmt.Sprintf("%d workers, max throughput", l.Workers)
	}
	return fmt.Sprintf("%d workers, %d req/s", l.Workers, l.Rate)
}

// Result is the figures of one measured phase.
type Result struct {
	// Target is the target's name.
	Target string
	// Requests counts responses and transport errors alike; OK those that
	// passed (status below 400 and the target's Check); Errors the rest.
	Requests uint64
	OK       uint64
	Errors   uint64
	// ErrorKinds counts errors by kind ("500 Internal Server Error", a
	// transport error, a Check's message), in order of first appearance.
	ErrorKinds []ErrorKind
	// Elapsed runs from the first request sent to the last answer.
	Elapsed time.Duration
	// Rate is Requests per second of Elapsed; Throughput is OK per second:
	// the figure to compare targets by.
	Rate       float64
	Throughput float64
	// Latency percentiles over every request, failed ones included.
	Mean, P50, P95, P99, Max time.Duration
	// BytesIn is the total of response bodies received.
	BytesIn uint64
}

// ErrorKind is a kind of error and how often it happened.
type ErrorKind struct {
	Kind  string
	Count uint64
}

// Run hits t with load l: the warm-up, then the measured phase, whose
// figures it returns. It stops by itself after l.Warmup+l.Duration plus at
// most one request timeout, or soon after ctx is done (returning ctx's
// error). Failed requests are figures, not errors: Run fails only when it
// cannot run at all.
func Run(ctx context.Context, t Target, l Load) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", t.Name, err)
	}
	if err := CheckLoopback(t.URL); err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", t.Name, err)
	}
	method := t.Method
	if method == "" {
		method = http.MethodGet
	}
	vt := vegeta.Target{Method: method, URL: t.URL, Header: t.Header.Clone(), Body: t.Body}
	if vt.Header == nil {
		vt.Header = http.Header{}
	}
	targeter := vegeta.NewStaticTargeter(vt)
	if t.Vary != nil {
		targeter = varyingTargeter(vt, t.Vary)
	}
	client := newClient(l.Workers, l.timeout())
	defer client.CloseIdleConnections()

	if l.Warmup > 0 {
		attack(ctx, client, targeter, l, l.Warmup, func(*vegeta.Result) {})
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("warm up %s: %w", t.Name, err)
		}
	}
	if l.CPUProfile != nil {
		if err := pprof.StartCPUProfile(l.CPUProfile); err != nil {
			return Result{}, fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var c collector
	c.res.Target = t.Name
	attack(ctx, client, targeter, l, l.Duration, func(r *vegeta.Result) { c.add(r, t.Check) })
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", t.Name, err)
	}
	return c.close(), nil
}

// varyingTargeter hands out vt with header and body made by vary for
// each request.
func varyingTargeter(vt vegeta.Target, vary func(uint64, http.Header, []byte) []byte) vegeta.Targeter {
	var seq atomic.Uint64
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		h := vt.Header.Clone()
		body := vary(seq.Add(1)-1, h, vt.Body)
		*t = vegeta.Target{Method: vt.Method, URL: vt.URL, Header: h, Body: body}
		return nil
	}
}

// attack runs one vegeta attack of duration d and hands every result to
// add, in the calling goroutine. It returns when the attack is over.
func attack(ctx context.Context, client *http.Client, tr vegeta.Targeter, l Load, d time.Duration, add func(*vegeta.Result)) {
	n := uint64(l.Workers)
	// An Attacker stops for good after one attack, so each phase gets its
	// own; they share the client and so the kept-alive connections.
	a := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Workers(n),
		vegeta.MaxWorkers(n),
		vegeta.KeepAlive(true),
	)
	pacer := vegeta.ConstantPacer{} // zero: as fast as the workers go
	if l.Rate > 0 {
		pacer = vegeta.ConstantPacer{Freq: l.Rate, Per: time.Second}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	}()
	for r := range a.Attack(tr, pacer, d, "") {
		add(r)
	}
}

// newClient returns the HTTP client of one run: kept-alive connections to
// loopback addresses only, no proxy, no redirects followed, and no
// transparent decompression, so bodies are the bytes on the wire.
func newClient(workers int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: loopbackOnly}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: workers,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// loopbackOnly is a dialer's Control hook refusing every address that is not
// on the loopback interface, whatever a host name resolved to.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("dial %s %s: %w", network, address, ErrNotLoopback)
	}
	return nil
}

// collector reduces results to a Result as they arrive.
type collector struct {
	res       Result
	latencies vegeta.LatencyMetrics
	kinds     map[string]int // index into res.ErrorKinds
	first     time.Time
	last      time.Time
}

func (c *collector) add(r *vegeta.Result, check func(Response) error) {
	c.res.Requests++
	c.res.BytesIn += r.BytesIn
	c.latencies.Add(r.Latency)
	if c.first.IsZero() || r.Timestamp.Before(c.first) {
		c.first = r.Timestamp
	}
	if end := r.End(); end.After(c.last) {
		c.last = end
	}
	kind := errorKind(r)
	if kind == "" && check != nil {
		if err := check(Response{Status: int(r.Code), Header: r.Headers, Body: r.Body}); err != nil {
			kind = "check: " + err.Error()
		}
	}
	if kind == "" {
		c.res.OK++
		return
	}
	c.res.Errors++
	if c.kinds == nil {
		c.kinds = map[string]int{}
	}
	i, ok := c.kinds[kind]
	if !ok {
		if len(c.res.ErrorKinds) == maxErrorKinds-1 {
			kind = "other"
			i, ok = c.kinds[kind]
		}
		if !ok {
			i = len(c.res.ErrorKinds)
			c.kinds[kind] = i
			c.res.ErrorKinds = append(c.res.ErrorKinds, ErrorKind{Kind: kind})
		}
	}
	c.res.ErrorKinds[i].Count++
}

// errorKind names what went wrong with r, or "" if nothing did: the status
// line for statuses of 400 and above, else the transport error without the
// request's method and URL.
func errorKind(r *vegeta.Result) string {
	if r.Error == "" {
		return ""
	}
	if r.Code != 0 {
		return "HTTP " + r.Error
	}
	// net/http client errors read `Get "http://…": cause`.
	if _, cause, ok := strings.Cut(r.Error, `"`+r.URL+`": `); ok {
		return cause
	}
	return r.Error
}

func (c *collector) close() Result {
	res := c.res
	if res.Requests == 0 {
		return res
	}
	res.Elapsed = c.last.Sub(c.first)
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Rate = float64(res.Requests) / s
		res.Throughput = float64(res.OK) / s
	}
	res.Mean = c.latencies.Total / time.Duration(res.Requests)
	res.P50 = c.latencies.Quantile(0.50)
	res.P95 = c.latencies.Quantile(0.95)
	res.P99 = c.latencies.Quantile(0.99)
	res.Max = c.latencies.Max
	return res
}
