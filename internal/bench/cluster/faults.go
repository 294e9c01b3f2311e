package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Recovery is what one fault cost: from the kill (or stop) to the process
// being back (/readyz 200, or the server accepting connections), and to
// the first success through it again.
type Recovery struct {
	Fault string
	// Ready is kill → ready; Serving kill → the first 2xx through the
	// restarted replica (for a server: the first checkout, or, for the
	// bus, the first event delivered, after it is back).
	Ready, Serving time.Duration
	Err            error
}

// Faults is the fault sequence: kill -9 a replica of order, inventory and
// payment (and the gateway when there is one), restarting each after
// pause; then restart the NATS server (SIGTERM, same store directory) and
// Redis (kill -9, nothing kept), each once. replica picks which replica of
// a service (from 1), so that a cycle can take turns.
func (c *Cluster) Faults(ctx context.Context, load *Load, pause time.Duration, replica int, w io.Writer) []Recovery {
	var out []Recovery
	add := func(r Recovery) {
		out = append(out, r)
		if w != nil {
			fmt.Fprintln(w, "  "+r.String())
		}
		// Some steady load between faults.
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	for _, svc := range []string{"order", "inventory", "payment"} {
		if ctx.Err() != nil {
			return out
		}
		p := c.Replica(svc, 1+(replica-1)%len(c.Procs[svc]))
		served := func(since time.Time) bool { return c.Fronts[svc].LastOK(p.Name).After(since) }
		if svc == "order" && len(c.Procs["gateway"]) > 0 {
			// The gateway reaches the order replicas itself: a 2xx in
			// the replica's access log since its restart is the sign.
			served = p.servedSince(p.logSize())
		}
		add(c.killReplica(ctx, p, pause, served))
	}
	if gw := c.Procs["gateway"]; len(gw) > 0 && ctx.Err() == nil {
		add(c.killReplica(ctx, gw[0], pause, func(since time.Time) bool { return load.LastCreated().After(since) }))
	}
	if c.NATS != nil && ctx.Err() == nil {
		add(c.restartServer(ctx, c.NATS, pause, false, func(ctx context.Context) (time.Time, error) { return c.EventProbe(ctx, 90*time.Second) }))
	}
	if ctx.Err() == nil {
		add(c.restartServer(ctx, c.Redis, pause, true, func(ctx context.Context) (time.Time, error) {
			t0 := time.Now()
			err := waitFor(ctx, 60*time.Second, func() bool { return load.LastCreated().After(t0) })
			return time.Now(), err
		}))
	}
	return out
}

func (r Recovery) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%-22s FAILED: %v", r.Fault, r.Err)
	}
	return fmt.Sprintf("%-22s ready after %-8s serving after %s", r.Fault, r.Ready.Round(10*time.Millisecond), r.Serving.Round(10*time.Millisecond))
}

func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// killReplica kills p with SIGKILL, restarts it after pause and waits
// until it is ready and serving (served reports a 2xx through it since
// a time).
func (c *Cluster) killReplica(ctx context.Context, p *Proc, pause time.Duration, served func(since time.Time) bool) Recovery {
	r := Recovery{Fault: "kill -9 " + p.Name}
	t0 := time.Now()
	p.Kill()
	sleep(ctx, pause)
	if r.Err = p.Restart(); r.Err != nil {
		return r
	}
	ready, err := p.WaitReady(ctx, 90*time.Second)
	if err != nil {
		r.Err = err
		return r
	}
	r.Ready = ready.Sub(t0)
	if err := waitFor(ctx, 60*time.Second, func() bool { return served(ready) }); err != nil {
		r.Err = fmt.Errorf("ready after %s, but no success through it: %w", r.Ready.Round(10*time.Millisecond), err)
		return r
	}
	r.Serving = time.Since(t0)
	return r
}

// restartServer stops s (SIGKILL when kill, else SIGTERM), starts it again
// after pause, and waits until it accepts connections and probe succeeds.
func (c *Cluster) restartServer(ctx context.Context, s *Server, pause time.Duration, kill bool, probe func(context.Context) (time.Time, error)) Recovery {
	r := Recovery{Fault: "restart " + s.Name}
	if kill {
		r.Fault = "kill -9 " + s.Name
	}
	t0 := time.Now()
	if kill {
		s.Kill()
	} else {
		s.Stop()
	}
	sleep(ctx, pause)
	if r.Err = s.Restart(); r.Err != nil {
		return r
	}
	if r.Err = waitTCP(ctx, s.Addr, 30*time.Second); r.Err != nil {
		return r
	}
	r.Ready = time.Since(t0)
	at, err := probe(ctx)
	if err != nil {
		r.Err = fmt.Errorf("back after %s, but: %w", r.Ready.Round(10*time.Millisecond), err)
		return r
	}
	r.Serving = at.Sub(t0)
	return r
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// logSize is the length of p's log now.
func (p *Proc) logSize() int64 {
	fi, err := os.Stat(p.log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// servedSince returns a check that p's log, past offset, records a 2xx
// answer to an API request.
func (p *Proc) servedSince(offset int64) func(time.Time) bool {
	return func(time.Time) bool {
		b, err := os.ReadFile(p.log)
		if err != nil || int64(len(b)) <= offset {
			return false
		}
		return bytes.Contains(b[offset:], []byte(`"path":"/api/v1/checkout","route":"POST /api/v1/checkout","status":201`))
	}
}
