package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercato/mercato/internal/app"
)

// flowGoal is the least acceptable ratio of orders per second placed
// through the storefront's guest flow (a cart, its lines, the cart's
// checkout) to orders per second of the one-call checkout on the same
// engine.
const flowGoal = 0.6

// FlowOptions are the settings of `mercato bench flow` beyond the shared
// ones.
type FlowOptions struct {
	Options
	// SKUs is how many products the benchmark creates and buys (3 per
	// order).
	SKUs int
	// Stock is the units of stock each of those products gets.
	Stock int64
	// Rounds is how many times the flow and the one-call checkout are
	// measured, alternating; the median ratio is judged.
	Rounds int
}

// Flow is `mercato bench flow`: it measures the guest flow a storefront
// makes for one order (create a cart, add 3 lines one request each, check
// the cart out: 5 requests) against the one-call checkout of the same 3
// SKUs, alternating, then checks the invariants of what the run left
// behind, as bench checkout does.
func (r *Runner) Flow(ctx context.Context, o FlowOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench flow:\n%w", err)
	}
	if err := validateShop("flow", o.SKUs, o.Stock, o.Rounds, o.CPUProfile); err != nil {
		return err
	}
	if o.URL != "" {
		return r.flow(ctx, strings.TrimSuffix(o.URL, "/"), o, "", nil)
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.flow(ctx, base, o, note, sys)
	})
}

// The steps of the guest flow, in the order of FlowResult.Steps.
const (
	stepCreate = iota
	stepAdd
	stepCheckout
	flowSteps
)

var stepNames = [flowSteps]string{"· create cart", "· add line", "· check out cart"}

// FlowResult is the figures of one measured phase of the guest flow.
type FlowResult struct {
	// Flow counts flows: OK those that ended in a confirmed order; its
	// latencies are of whole flows, its errors named by the failed step.
	Flow Result
	// Steps has the figures of each kind of request (create cart, add
	// line, check out cart), each request counted.
	Steps [flowSteps]Result
}

// guestFlow places orders the way a storefront does, one flow per call.
type guestFlow struct {
	sh       *shop
	client   *http.Client
	checkout []byte        // the cart checkout's body, the cart ID as %s
	seq      atomic.Uint64 // numbers the flows of every round: each its own key
}

func (r *Runner) flow(ctx context.Context, base string, o FlowOptions, note string, sys *app.System) error {
	sh, err := r.openShop(ctx, base, sys, o.SKUs, o.Stock)
	if err != nil {
		return err
	}
	round := 0
	oneCall, err := sh.checkoutTarget(&round)
	if err != nil {
		return err
	}
	body, err := sh.orderBody(map[string]any{"cart_id": "%s"})
	if err != nil {
		return err
	}
	gf := &guestFlow{sh: sh, checkout: body}
	load := o.Load
	fmt.Fprintf(r.Stdout, "bench flow: POST /api/v1/carts, 3 × POST /api/v1/carts/{id}/items, POST /api/v1/checkout {cart_id} · "+
		"against POST /api/v1/checkout {items} · 3 lines per order over %d SKUs · fake provider\n", len(sh.skus))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target", flowMode(load), load.Warmup, load.Duration)
	if o.Rounds > 1 {
		fmt.Fprintf(r.Stdout, " · %d rounds, alternating", o.Rounds)
	}
	fmt.Fprint(r.Stdout, "\n\n")
	var rounds []Comparison
	for round = range o.Rounds {
		if o.Rounds > 1 {
			fmt.Fprintf(r.Stdout, "round %d of %d\n", round+1, o.Rounds)
		}
		fr, err := r.measureFlow(ctx, gf, load, o.CPUProfile)
		if err != nil {
			return err
		}
		cr, err := r.measure(ctx, oneCall, load, "")
		if err != nil {
			return err
		}
		if err := WriteTable(r.Stdout, append([]Result{fr.Flow}, append(fr.Steps[:], cr)...)...); err != nil {
			return err
		}
		fmt.Fprintln(r.Stdout)
		rounds = append(rounds, Comparison{Subject: fr.Flow, Baseline: cr, Goal: flowGoal, Rate: load.Rate})
	}
	if err := judge(r.Stdout, rounds, load.Rate).Write(r.Stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "\nreq/s of %s and %s counts confirmed orders only; the step rows count requests.\n", rounds[0].Subject.Target, rounds[0].Baseline.Target)
	if load.Rate > 0 {
		fmt.Fprintf(r.Stdout, "-rate paces flows (orders), not requests: %d flows/s are %d requests/s.\n", load.Rate, load.Rate*(2+len(sh.lines(0))))
	}
	fmt.Fprintf(r.Stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	return r.checkShop(ctx, sh, "flow")
}

// flowMode is Load.Mode for flows: a rate is of flows.
func flowMode(l Load) string {
	if l.Rate == 0 {
		return l.Mode()
	}
	return fmt.Sprintf("%d workers, %d orders/s", l.Workers, l.Rate)
}

// measureFlow runs the guest flow under load, telling the terminal, with
// a CPU profile of the measured phase written to cpuProfile when set.
func (r *Runner) measureFlow(ctx context.Context, gf *guestFlow, l Load, cpuProfile string) (FlowResult, error) {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return FlowResult{}, fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		l.CPUProfile = f
	}
	fmt.Fprintf(r.Stderr, "measuring the guest flow at %s …\n", gf.sh.bc.base)
	return gf.run(ctx, l)
}

// run drives flows with l: the warm-up, then the measured phase, whose
// figures it returns. Like Run, it fails only when it cannot run at all.
func (gf *guestFlow) run(ctx context.Context, l Load) (FlowResult, error) {
	if err := l.Validate(); err != nil {
		return FlowResult{}, fmt.Errorf("bench flow: %w", err)
	}
	if err := CheckLoopback(gf.sh.bc.base); err != nil {
		return FlowResult{}, fmt.Errorf("bench flow: %w", err)
	}
	gf.client = newClient(l.Workers, l.timeout())
	defer gf.client.CloseIdleConnections()
	if l.Warmup > 0 {
		drive(ctx, l, l.Warmup, func(ctx context.Context) { gf.one(ctx, nil) })
		if err := ctx.Err(); err != nil {
			return FlowResult{}, fmt.Errorf("warm up the guest flow: %w", err)
		}
	}
	if l.CPUProfile != nil {
		if err := pprof.StartCPUProfile(l.CPUProfile); err != nil {
			return FlowResult{}, fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var fc flowCollector
	fc.flow.res.Target = "guest flow"
	for i := range fc.steps {
		fc.steps[i].res.Target = stepNames[i]
	}
	drive(ctx, l, l.Duration, func(ctx context.Context) { gf.one(ctx, &fc) })
	if err := ctx.Err(); err != nil {
		return FlowResult{}, fmt.Errorf("bench flow: %w", err)
	}
	var out FlowResult
	out.Flow = fc.flow.close()
	for i := range fc.steps {
		out.Steps[i] = fc.steps[i].close()
	}
	return out, nil
}

// drive runs flow from l.Workers goroutines for d: as often as they can,
// or started l.Rate times a second (a flow that finds every worker busy
// waits, and the schedule catches up after, as vegeta's pacer does). It
// returns when the last flow started has ended.
func drive(ctx context.Context, l Load, d time.Duration, flow func(context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tickets := make(chan struct{})
	var wg sync.WaitGroup
	for range l.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tickets {
				flow(ctx)
			}
		}()
	}
	start := time.Now()
	end := start.Add(d)
	for n := 0; ; n++ {
		if l.Rate > 0 {
			next := start.Add(time.Duration(n) * time.Second / time.Duration(l.Rate))
			if wait := time.Until(next); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if ctx.Err() != nil || !time.Now().Before(end) {
			break
		}
		select {
		case tickets <- struct{}{}:
		case <-ctx.Done():
		case <-time.After(time.Until(end)):
		}
	}
	close(tickets)
	wg.Wait()
}

// flowCollector gathers the results of flows from many goroutines.
type flowCollector struct {
	mu    sync.Mutex
	flow  collector
	steps [flowSteps]collector
}

// step records one request of step i; err is what was wrong with its
// answer beyond its status, if anything.
func (fc *flowCollector) step(i int, r *vegeta.Result, err error) {
	if fc == nil {
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.steps[i].add(r, func(Response) error { return err })
}

// done records a whole flow from start: failed names the step and what
// went wrong with it, "" for a confirmed order.
func (fc *flowCollector) done(start time.Time, failed string) {
	if fc == nil {
		return
	}
	r := &vegeta.Result{Timestamp: start, Latency: time.Since(start)}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.flow.add(r, func(Response) error {
		if failed != "" {
			return errors.New(failed)
		}
		return nil
	})
}

// one runs one flow, recording it in fc (nil during the warm-up).
func (gf *guestFlow) one(ctx context.Context, fc *flowCollector) {
	start := time.Now()
	seq := gf.seq.Add(1) - 1
	base := gf.sh.bc.base
	var cart struct {
		ID string `json:"id"`
	}
	status, _, ok := gf.send(ctx, fc, stepCreate, http.MethodPost, base+"/api/v1/carts", []byte(`{}`), nil, func(status int, body []byte) error {
		if status != http.StatusCreated {
			return fmt.Errorf("status %d", status)
		}
		if err := json.Unmarshal(body, &cart); err != nil || !strings.HasPrefix(cart.ID, "cart_") {
			return errors.New("not a cart")
		}
		return nil
	})
	if !ok {
		fc.done(start, failure(stepCreate, status))
		return
	}
	items := base + "/api/v1/carts/" + cart.ID + "/items"
	for _, sku := range gf.sh.lines(seq) {
		status, _, ok = gf.send(ctx, fc, stepAdd, http.MethodPost, items, fmt.Appendf(nil, `{"sku":%q,"quantity":1}`, sku), nil,
			func(status int, _ []byte) error {
				if status != http.StatusCreated {
					return fmt.Errorf("status %d", status)
				}
				return nil
			})
		if !ok {
			fc.done(start, failure(stepAdd, status))
			return
		}
	}
	key := fmt.Sprintf("bench-flow-%s-%d", gf.sh.run, seq)
	status, _, ok = gf.send(ctx, fc, stepCheckout, http.MethodPost, base+"/api/v1/checkout", fmt.Appendf(nil, string(gf.checkout), cart.ID),
		[]string{"Idempotency-Key", key}, confirmedOrder)
	if !ok {
		fc.done(start, failure(stepCheckout, status))
		return
	}
	fc.done(start, "")
}

// failure names what failed in a flow: the step and its status (0: the
// request got no answer).
func failure(step, status int) string {
	name := strings.TrimPrefix(stepNames[step], "· ")
	if status == 0 {
		return name + ": no answer"
	}
	return fmt.Sprintf("%s: status %d", name, status)
}

// send makes one request of a flow and records it as step; ok is whether
// it got an answer that check accepts.
func (gf *guestFlow) send(ctx context.Context, fc *flowCollector, step int, method, url string, body []byte, header []string,
	check func(status int, body []byte) error) (status int, answer []byte, ok bool) {
	res := &vegeta.Result{Method: method, URL: url, Timestamp: time.Now()}
	var checkErr error
	defer func() {
		res.Latency = time.Since(res.Timestamp)
		fc.step(step, res, checkErr)
	}()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		res.Error = err.Error()
		return 0, nil, false
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := gf.client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return 0, nil, false
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	res.Code, res.BytesIn = uint16(resp.StatusCode), uint64(len(answer))
	switch {
	case err != nil:
		res.Error = "read answer: " + err.Error()
		return resp.StatusCode, nil, false
	case resp.StatusCode < 200 || resp.StatusCode >= 400:
		// As vegeta reports a failed status.
		res.Error = resp.Status
		return resp.StatusCode, answer, false
	}
	checkErr = check(resp.StatusCode, answer)
	return resp.StatusCode, answer, checkErr == nil
}
