package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// gatewayGoal is the least acceptable ratio of the product list's
// throughput through the gateway to the same list asked of the service
// directly.
const gatewayGoal = 0.5

// GatewayOptions are the settings of `mercato bench gateway`.
type GatewayOptions struct {
	Options
	// Gateway builds the gateway in front of base, a Mercato serving every
	// service there, whose processes share the service token. It is handed
	// in by the command: this package imports no service. run checks the
	// replicas' health until its context is done.
	Gateway func(base, serviceToken string) (h http.Handler, run func(context.Context) error, err error)
}

// Gateway is `mercato bench gateway`: it puts a gateway in front of a
// Mercato (booted in this process, or the running one at -url, whose
// -service-token this process is given), and hits o.Path through the
// gateway and directly, the same way, and prints the comparison against
// the goal.
func (r *Runner) Gateway(ctx context.Context, o GatewayOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench gateway:\n%w", err)
	}
	if o.URL != "" {
		if r.Config.Web.ServiceToken == "" {
			return errors.New("bench gateway: with -url, give the running Mercato's -service-token: the gateway resolves stores with it")
		}
		return r.gateway(ctx, strings.TrimSuffix(o.URL, "/"), r.Config.Web.ServiceToken, o, "")
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.gateway(ctx, base, sys.Platform.Config.Web.ServiceToken, o, note)
	})
}

func (r *Runner) gateway(ctx context.Context, base, token string, o GatewayOptions, note string) error {
	h, run, err := o.Gateway(base, token)
	if err != nil {
		return fmt.Errorf("bench gateway: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the gateway: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { _ = run(runCtx); close(ran) }()
	defer func() {
		stop()
		<-ran
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	gw := "http://" + ln.Addr().String()

	direct := Target{Name: "direct", URL: base + o.Path}
	ref, err := Record(ctx, direct, o.Load.Timeout)
	if err != nil {
		return err
	}
	items, err := checkProductList(ref)
	if err != nil {
		return fmt.Errorf("check the first answer of %s: %w (is it a Mercato serving the default store at this host?)", direct.URL, err)
	}
	through := Target{Name: "through the gateway", URL: gw + o.Path}
	// Both answer the default store: the gateway is asked with the
	// service's host, as a client that resolves the store's name to the
	// gateway would.
	through.Header = http.Header{"Host": {strings.TrimPrefix(base, "http://")}}
	if got, err := Record(ctx, through, o.Load.Timeout); err != nil {
		return err
	} else if _, err := checkProductList(got); err != nil {
		return fmt.Errorf("check the first answer through the gateway: %w", err)
	}
	direct.Check, through.Check = productListCheck(ref), productListCheck(ref)

	load := o.Load
	fmt.Fprintf(r.Stdout, "bench gateway: GET %s · %d products, %d bytes · the gateway's rate limits off\n", o.Path, items, len(ref.Body))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target\n\n", load.Mode(), load.Warmup, load.Duration)
	gr, err := r.measure(ctx, through, load, o.CPUProfile)
	if err != nil {
		return err
	}
	dr, err := r.measure(ctx, direct, load, "")
	if err != nil {
		return err
	}
	if err := WriteTable(r.Stdout, gr, dr); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	if err := (Comparison{Subject: gr, Baseline: dr, Goal: gatewayGoal}).Write(r.Stdout); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	fmt.Fprintln(r.Stdout, "req/s counts good responses only (status 200 with a product list).")
	fmt.Fprintf(r.Stdout, "The gateway, the service and the load generator share this machine's %d CPUs; read the ratio, not the absolute figures.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	return nil
}
