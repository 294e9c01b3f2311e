package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/bench"
)

// catalogGoal is the least acceptable ratio of Mercato's product-list
// throughput to a bare net/http server's serving the same bytes.
const catalogGoal = 0.6

// benchCommand is `mercato bench`, the parent of one subcommand per
// benchmark; each is built on internal/bench.
func (c *cli) benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the platform under load, on the loopback interface only",
		Long: `Measure the platform under load. Benchmarks run against a Mercato on the
loopback interface only: a running one given by -url, or one booted in this
process for the run. Each stops by itself.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.benchCatalogCommand(), c.benchCheckoutCommand(), c.benchLoginCommand(), c.benchCheckinCommand())
	return cmd
}

// benchOptions are the flags shared by the bench subcommands.
type benchOptions struct {
	url        string
	path       string
	duration   time.Duration
	warmup     time.Duration
	timeout    time.Duration
	workers    int
	rate       int
	yes        bool
	cpuProfile string
}

func (o *benchOptions) register(cmd *cobra.Command, path string) {
	fs := cmd.Flags()
	fs.StringVar(&o.url, "url", "", "base URL of a running Mercato on the loopback interface (default: boot one in this process)")
	fs.StringVar(&o.path, "path", path, "request path and query to hit")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per target (at most "+bench.MaxDuration.String()+")")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per target, on the same connections")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "time allowed for each request")
	fs.IntVar(&o.workers, "workers", 2*runtime.GOMAXPROCS(0), "concurrent workers, each with one request in flight")
	fs.IntVar(&o.rate, "rate", 0, "requests per second to send; 0: as fast as the workers go")
	fs.BoolVar(&o.yes, "yes", false, "without -url, accept that demo data is written to the -db database or -bus given")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the in-process run's measured phase (server and load generator) to this file")
}

func (o *benchOptions) load() bench.Load {
	return bench.Load{Workers: o.workers, Rate: o.rate, Duration: o.duration, Warmup: o.warmup, Timeout: o.timeout}
}

// validate checks the flags before anything is booted.
func (o *benchOptions) validate(cfg app.Config) error {
	var errs []error
	if err := o.load().Validate(); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(o.path, "/") {
		errs = append(errs, fmt.Errorf("-path must start with /, got %q", o.path))
	}
	if o.url != "" {
		if err := bench.CheckLoopback(o.url); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
		if o.cpuProfile != "" {
			errs = append(errs, errors.New("-cpuprofile profiles this process: it needs the in-process run (no -url)"))
		}
	} else if (cfg.DB != "" || cfg.Bus != "embedded") && !o.yes {
		errs = append(errs, errors.New("without -url the benchmark boots Mercato and seeds demo data into the -db database and -bus given; pass -yes to accept that, or leave them unset to use SQLite and the embedded bus in a temporary directory"))
	}
	return errors.Join(errs...)
}

func (c *cli) benchCatalogCommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Measure the public product list against a bare net/http server",
		Long: `Measure the public product list (GET /api/v1/products?limit=20 of the default
store) under load and compare it with a bare net/http server answering the
same bytes.

Without -url, Mercato is booted in this process on 127.0.0.1 with every
service (-services), SQLite and the embedded bus in a temporary directory
that is removed afterwards; it is seeded with the demo catalog and its logs
are limited to warnings. With -db or a -bus other than embedded it uses those
instead, and writes the demo data into them: that takes -yes. With -url, a
running Mercato is measured; it must be on the loopback interface
(localhost, 127.0.0.0/8 or [::1]) and serve the default store at that host.

The response of -path is recorded once (body and headers) and served by a
bare net/http server on 127.0.0.1. Both are then hit the same way: -workers
concurrent workers on kept-alive connections, as fast as they go (or at
-rate), for -warmup then -duration each. Every Mercato response must be a 200
with a product list, or it counts as an error.

The report gives requests, req/s (good responses only), latency percentiles
and errors per target, and the ratio of Mercato's req/s to the bare server's
against the goal of 0.6. Below the goal is reported, not an error.`,
		Example: `  mercato bench catalog
  mercato bench catalog -duration 30s -workers 8
  mercato bench catalog -url http://localhost:8080 -rate 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(c.cfg); err != nil {
				return fmt.Errorf("bench catalog:\n%w", err)
			}
			if o.url != "" {
				return c.benchCatalog(cmd.Context(), strings.TrimSuffix(o.url, "/"), o, "")
			}
			return c.withBenchInstance(cmd.Context(), o, func(ctx context.Context, base, note string, _ *app.System) error {
				return c.benchCatalog(ctx, base, o, note)
			})
		},
	}
	o.register(cmd, "/api/v1/products?limit=20")
	return cmd
}

// withBenchInstance boots Mercato in this process on a free loopback port,
// seeds the demo data, runs fn with its base URL and the system once it is
// ready, then stops it and removes its temporary directory.
func (c *cli) withBenchInstance(ctx context.Context, o benchOptions, fn func(ctx context.Context, base, note string, sys *app.System) error) error {
	dir, err := os.MkdirTemp("", "mercato-bench-*")
	if err != nil {
		return fmt.Errorf("create the benchmark's data directory: %w", err)
	}
	defer os.RemoveAll(dir)

	cfg := c.cfg
	cfg.Data = dir
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.BusListen = ""
	log := c.benchLogger()
	token, _, err := app.AdminToken(cfg)
	if err != nil {
		return err
	}
	cfg.Web.AdminToken = token

	started := time.Now()
	fmt.Fprintf(c.stderr, "booting Mercato in process (%s) …\n", benchShape(cfg))
	ln, err := net.Listen("tcp", cfg.Web.Addr)
	if err != nil {
		return fmt.Errorf("listen for the benchmarked instance: %w", err)
	}
	sys, err := app.Build(ctx, cfg, log, buildVersion(), c.services, edges)
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
		fmt.Fprintf(c.stderr, "ready at %s in %s (%d demo records)\n", base, time.Since(started).Round(10*time.Millisecond), n)
		note := fmt.Sprintf("in process: server and load generator share one Go runtime (%s)", benchShape(cfg))
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

// benchShape describes the in-process instance's infrastructure.
func benchShape(cfg app.Config) string {
	db, bus := "SQLite", "embedded bus"
	if cfg.DB != "" {
		db = "PostgreSQL"
	}
	if cfg.Bus != "embedded" {
		bus = "external bus"
	}
	return fmt.Sprintf("%s, %s, GOMAXPROCS=%d", db, bus, runtime.GOMAXPROCS(0))
}

// benchLogger logs the in-process instance at warning level at most, so its
// access log does not flood the terminal (or cost what a benchmark measures
// on a terminal).
func (c *cli) benchLogger() *slog.Logger {
	level := slog.LevelWarn
	var configured slog.Level
	if configured.UnmarshalText([]byte(c.cfg.LogLevel)) == nil && configured > level {
		level = configured
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
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

// benchCatalog records the product list at base, serves the same bytes from
// a bare net/http server, hits both the same way and prints the comparison.
func (c *cli) benchCatalog(ctx context.Context, base string, o benchOptions, note string) error {
	target := bench.Target{Name: "mercato", URL: base + o.path}
	ref, err := bench.Record(ctx, target, o.timeout)
	if err != nil {
		return err
	}
	items, err := checkProductList(ref)
	if err != nil {
		return fmt.Errorf("check the first answer of %s: %w (is it a Mercato serving the default store at this host?)", target.URL, err)
	}
	bare, err := bench.StartBare(ref)
	if err != nil {
		return err
	}
	defer bare.Close()
	check := productListCheck(ref)
	target.Check = check
	baseline := bench.Target{Name: "bare net/http", URL: bare.URL() + o.path, Check: check}

	load := o.load()
	fmt.Fprintf(c.stdout, "bench catalog: GET %s · %d products, %d bytes, %s\n", o.path, items, len(ref.Body), ref.Header.Get("Content-Type"))
	fmt.Fprintf(c.stdout, "load: %s · %s warm-up + %s measured per target\n\n", load.Mode(), o.warmup, o.duration)

	mr, err := c.measure(ctx, target, load, o.cpuProfile)
	if err != nil {
		return err
	}
	br, err := c.measure(ctx, baseline, load, "")
	if err != nil {
		return err
	}

	if err := bench.WriteTable(c.stdout, mr, br); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	if err := (bench.Comparison{Subject: mr, Baseline: br, Goal: catalogGoal}).Write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	fmt.Fprintln(c.stdout, "req/s counts good responses only (status 200 with a product list).")
	fmt.Fprintf(c.stdout, "The load generator runs on this machine (%d CPUs) and competes with the server\n", runtime.NumCPU())
	fmt.Fprintln(c.stdout, "for them; both targets are measured the same way, so read the ratio, not the absolute figures.")
	if note != "" {
		fmt.Fprintln(c.stdout, note+".")
	}
	if o.cpuProfile != "" {
		fmt.Fprintf(c.stdout, "CPU profile of the mercato run: %s (go tool pprof -top %s)\n", o.cpuProfile, o.cpuProfile)
	}
	return nil
}

// measure runs target under load, telling the terminal, with a CPU profile
// of the measured phase written to cpuProfile when it is set.
func (c *cli) measure(ctx context.Context, target bench.Target, load bench.Load, cpuProfile string) (bench.Result, error) {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return bench.Result{}, fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		load.CPUProfile = f
	}
	fmt.Fprintf(c.stderr, "measuring %s at %s …\n", target.Name, target.URL)
	return bench.Run(ctx, target, load)
}

// productListCheck accepts a 200 JSON response that is byte for byte ref
// (the common case, and cheap) or else a well-formed product list.
func productListCheck(ref bench.Response) func(bench.Response) error {
	return func(r bench.Response) error {
		if r.Status == ref.Status && bytes.Equal(r.Body, ref.Body) {
			return nil
		}
		_, err := checkProductList(r)
		return err
	}
}

// checkProductList checks that r is a 200 JSON page of products, at least
// one, and returns how many it holds.
func checkProductList(r bench.Response) (int, error) {
	if r.Status != http.StatusOK {
		return 0, fmt.Errorf("status %d", r.Status)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return 0, fmt.Errorf("content type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &page); err != nil {
		return 0, fmt.Errorf("decode product list: %w", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(page["items"], &items); err != nil || items == nil {
		return 0, errors.New("no items array in the product list")
	}
	if len(items) == 0 {
		return 0, errors.New("empty product list")
	}
	if c, ok := page["next_cursor"]; ok {
		var cursor string
		if err := json.Unmarshal(c, &cursor); err != nil || cursor == "" {
			return 0, errors.New("next_cursor is not a cursor")
		}
	}
	return len(items), nil
}
