package cluster

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// RunOptions shape a run of load and faults.
type RunOptions struct {
	// Workers is how many checkouts are in flight at once.
	Workers int
	// Duration is how long the load runs; the fault sequence repeats
	// while it does, at least once.
	Duration time.Duration
	// Pause is how long a killed process stays down.
	Pause time.Duration
	// SKUs is how many products are sold, Scarce of them with 12 units.
	SKUs, Scarce int
	// Settle bounds the wait for sagas and outboxes after the load.
	Settle time.Duration
}

// Result is what a run measured and found.
type Result struct {
	Load       Figures
	Recoveries []Recovery
	Report     Report
	PeakConns  int
	Settled    time.Duration
	SettleErr  error
	// Served counts the 2xx answers of each replica of the replicated
	// services, through their balancers.
	Served map[string]map[string]int
	Took   time.Duration
}

// Failed reports whether a fault did not recover, the cluster did not
// settle or an invariant does not hold.
func (r Result) Failed() bool {
	for _, rc := range r.Recoveries {
		if rc.Err != nil {
			return true
		}
	}
	return r.SettleErr != nil || r.Report.Failed() > 0 || r.Load.Created == 0
}

// Run seeds stock, runs the load with the fault sequence on a cycle for
// o.Duration (the first cycle in full whatever the duration), lets the
// cluster settle and checks the invariants, printing its progress to w.
func (c *Cluster) Run(ctx context.Context, o RunOptions, w io.Writer) (Result, error) {
	t0 := time.Now()
	var res Result
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	peak := c.WatchConnections(watch)

	stock, err := c.Seed(ctx, strings.ToUpper(randomHex(3)), o.SKUs, o.Scarce)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(w, "seeded %d products (%d with 12 units); load: %d workers of guest checkouts through %s\n", len(stock.SKUs), o.Scarce, o.Workers, c.URL("order"))
	load := c.NewLoad(stock)
	lctx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() { load.Run(lctx, o.Workers); close(loaded) }()
	end := time.Now().Add(o.Duration)
	sleep(ctx, 3*time.Second)
	for cycle := 1; ctx.Err() == nil; cycle++ {
		fmt.Fprintf(w, "faults, cycle %d:\n", cycle)
		res.Recoveries = append(res.Recoveries, c.Faults(ctx, load, o.Pause, cycle, w)...)
		if time.Now().After(end) {
			break
		}
	}
	sleep(ctx, time.Until(end))
	stopLoad()
	<-loaded
	res.Load = load.Figures()
	fmt.Fprintf(w, "load stopped; waiting for sagas and outboxes to settle …\n")
	res.Settled, res.SettleErr = c.Settle(ctx, o.Settle)
	if res.Report, err = c.Check(ctx, load, stock); err != nil {
		return res, err
	}
	res.PeakConns = peak()
	res.Served = map[string]map[string]int{}
	for name, b := range c.Fronts {
		res.Served[name] = b.Served()
	}
	res.Took = time.Since(t0)
	return res, nil
}

// Write prints the figures of a run.
func (r Result) Write(w io.Writer, procs int) {
	f := r.Load
	fmt.Fprintf(w, "checkouts attempted %d · 201 %d · retried attempts %d\n", f.Attempted, f.Created, f.Retried)
	fmt.Fprintf(w, "orders stored %d: confirmed %d, cancelled %d; confirmed without a 201 to its client %d\n",
		r.Report.Orders, r.Report.Confirmed, r.Report.Cancelled, r.Report.Unanswered)
	fmt.Fprintf(w, "checkouts by final status: %s\n", byCode(f.Final))
	fmt.Fprintf(w, "attempts by status:        %s\n", byCode(f.Attempts))
	fmt.Fprintln(w, "recovery after each fault:")
	for _, rc := range r.Recoveries {
		fmt.Fprintln(w, "  "+rc.String())
	}
	var names []string
	for n := range r.Served {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		var reps []string
		for rep, k := range r.Served[n] {
			reps = append(reps, fmt.Sprintf("%s %d", rep, k))
		}
		sort.Strings(reps)
		parts = append(parts, strings.Join(reps, ", "))
	}
	fmt.Fprintf(w, "2xx answers per replica: %s\n", strings.Join(parts, " · "))
	if r.SettleErr != nil {
		fmt.Fprintf(w, "settle: FAILED: %v\n", r.SettleErr)
	} else {
		fmt.Fprintf(w, "settled %s after the load stopped\n", r.Settled.Round(10*time.Millisecond))
	}
	fmt.Fprintf(w, "peak PostgreSQL connections to the cluster's database: %d (%d processes)\n", r.PeakConns, procs)
	fmt.Fprintln(w, "invariants:")
	r.Report.Write(w)
	fmt.Fprintf(w, "run took %s\n", r.Took.Round(time.Second))
}

// Processes is how many processes the cluster runs (servers excluded).
func (c *Cluster) Processes() int { return c.procCount() }
