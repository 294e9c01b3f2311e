package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// Runner runs the benchmarks of `mercato bench`: each hits a running
// Mercato on the loopback interface, or one the runner boots in this
// process for the run from Config and Services.
type Runner struct {
	// Config is the program's configuration; an in-process instance starts
	// from a copy of it, with its own data directory and a loopback port.
	Config app.Config
	// Services are the services an in-process instance is built from.
	Services []app.Service
	// Edges wires an in-process instance's HTTP edge to the services that
	// resolve stores and callers.
	Edges func(*app.Platform) (app.Edges, error)
	// Version is the version an in-process instance reports.
	Version string
	// Stdout receives the report; Stderr the progress and the in-process
	// instance's warnings.
	Stdout, Stderr io.Writer
}

// Options are the settings every benchmark shares, one flag each.
type Options struct {
	// URL is the base URL of a running Mercato on the loopback interface;
	// empty boots one in this process.
	URL string
	// Path is the request path and query to hit.
	Path string
	// Load is how hard and how long each target is hit.
	Load Load
	// Yes accepts that an in-process run writes demo data to the -db
	// database or -bus configured.
	Yes bool
	// CPUProfile, when set, names the file that receives a CPU profile of
	// the in-process run's measured phase.
	CPUProfile string
}

// validate checks the options before anything is booted.
func (o Options) validate(cfg app.Config) error {
	var errs []error
	if err := o.Load.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(o.Path, "/") {
		errs = append(errs, fmt.Errorf("-path must start with /, got %q", o.Path))
	}
	if o.URL != "" {
		if err := CheckLoopback(o.URL); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
		if o.CPUProfile != "" {
			errs = append(errs, errors.New("-cpuprofile profiles this process: it needs the in-process run (no -url)"))
		}
	} else if (cfg.DB != "" || cfg.Bus != "embedded") && !o.Yes {
		errs = append(errs, errors.New("without -url the benchmark boots Mercato and seeds demo data into the -db database and -bus given; pass -yes to accept that, or leave them unset to use SQLite and the embedded bus in a temporary directory"))
	}
	return errors.Join(errs...)
}

// withInstance boots Mercato in this process on a free loopback port,
// seeds the demo data, runs fn with its base URL and the system once it is
// ready, then stops it and removes its temporary directory.
func (r *Runner) withInstance(ctx context.Context, fn func(ctx context.Context, base, note string, sys *app.System) error) error {
	return r.withLoggedInstance(ctx, r.logger(), fn)
}

// withLoggedInstance is withInstance with the instance logging to log.
func (r *Runner) withLoggedInstance(ctx context.Context, log *slog.Logger, fn func(ctx context.Context, base, note string, sys *app.System) error) error {
	dir, err := os.MkdirTemp("", "mercato-bench-*")
	if err != nil {
		return fmt.Errorf("create the benchmark's data directory: %w", err)
	}
	defer os.RemoveAll(dir)

	cfg := r.Config
	cfg.Data = dir
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.BusListen = ""
	token, _, err := app.AdminToken(cfg)
	if err != nil {
		return err
	}
	cfg.Web.AdminToken = token

	started := time.Now()
	fmt.Fprintf(r.Stderr, "booting Mercato in process (%s) …\n", shape(cfg))
	ln, err := net.Listen("tcp", cfg.Web.Addr)
	if err != nil {
		return fmt.Errorf("listen for the benchmarked instance: %w", err)
	}
	sys, err := app.Build(ctx, cfg, log, r.Version, r.Services, r.Edges)
	if err != nil {
		ln.Close()
		return fmt.Errorf("build the benchmarked instance: %w", err)
	}
	if err := sys.Start(ctx); err != nil {
		sys.Close()
		ln.Close()
		return fmt.Errorf("start the benchmarked instance: %w", err)
	}
	n, err := sys.SeedDemo(ctx)
	if err != nil {
		sys.Close()
		ln.Close()
		return fmt.Errorf("seed the benchmarked instance: %w", err)
	}

	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- sys.Serve(serveCtx, ln, nil) }()
	base := "http://" + ln.Addr().String()
	err = waitReady(ctx, base+"/readyz", 60*time.Second, served)
	if err == nil {
		fmt.Fprintf(r.Stderr, "ready at %s in %s (%d demo records)\n", base, time.Since(started).Round(10*time.Millisecond), n)
		note := fmt.Sprintf("in process: server and load generator share one Go runtime (%s)", shape(cfg))
		err = fn(ctx, base, note, sys)
	}
	stop()
	select {
	case serr := <-served:
		if serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the benchmarked instance: %w", serr))
		}
	case <-time.After(time.Minute):
		err = errors.Join(err, errors.New("stop the benchmarked instance: still stopping after a minute"))
	}
	return err
}

// shape describes the in-process instance's infrastructure.
func shape(cfg app.Config) string {
	db, bus := "SQLite", "embedded bus"
	if cfg.DB != "" {
		db = "PostgreSQL"
	}
	if cfg.Bus != "embedded" {
		bus = "external bus"
	}
	return fmt.Sprintf("%s, %s, GOMAXPROCS=%d", db, bus, runtime.GOMAXPROCS(0))
}

// logger logs the in-process instance at warning level at most, so its
// access log does not flood the terminal (or cost what a benchmark measures
// on a terminal).
func (r *Runner) logger() *slog.Logger {
	level := slog.LevelWarn
	var configured slog.Level
	if configured.UnmarshalText([]byte(r.Config.LogLevel)) == nil && configured > level {
		level = configured
	}
	opts := &slog.HandlerOptions{Level: level}
	if r.Config.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(r.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(r.Stderr, opts))
}

// waitReady polls url until it answers 200, the instance stops serving, ctx
// is done or limit passes.
func waitReady(ctx context.Context, url string, limit time.Duration, served <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("wait for readiness: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-served:
			if err == nil {
				err = errors.New("it stopped serving")
			}
			return fmt.Errorf("wait for readiness: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("wait for readiness of %s: %w", url, ctx.Err())
		case <-tick.C:
		}
	}
}

// measure runs target under load, telling the terminal, with a CPU profile
// of the measured phase written to cpuProfile when it is set.
func (r *Runner) measure(ctx context.Context, target Target, load Load, cpuProfile string) (Result, error) {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return Result{}, fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		load.CPUProfile = f
	}
	fmt.Fprintf(r.Stderr, "measuring %s at %s …\n", target.Name, target.URL)
	return Run(ctx, target, load)
}

// adminToken is the admin token to call a target with: token (the booted
// instance's) when set, else the configured one, else the one kept in the
// data directory.
func (r *Runner) adminToken(token string) (string, error) {
	if token != "" {
		return token, nil
	}
	t, _, err := app.AdminToken(r.Config)
	return t, err
}
