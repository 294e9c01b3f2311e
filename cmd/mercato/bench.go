package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/bench"
	"github.com/mercato/mercato/internal/gateway"
	"github.com/mercato/mercato/internal/invoice"
)

// benchCommand is `mercato bench`, the parent of one subcommand per
// benchmark; each parses its flags and runs one of internal/bench's.
func (c *cli) benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the platform under load, on the loopback interface only",
		Long: `Measure the platform under load. Benchmarks run against a Mercato on the
loopback interface only: a running one given by -url, or one booted in this
process for the run. Each stops by itself.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.benchCatalogCommand(), c.benchStorefrontCommand(), c.benchCheckoutCommand(), c.benchFlowCommand(), c.benchLoginCommand(), c.benchCheckinCommand(), c.benchSearchCommand(), c.benchLiveCommand(), c.benchAnalyticsCommand(), c.benchInvoiceCommand(), c.benchGatewayCommand(), c.benchSoakCommand(), c.benchDistributedCommand())
	return cmd
}

// benchRunner runs the benchmarks with the parsed configuration and the
// service list, reporting on the command's outputs.
func (c *cli) benchRunner() *bench.Runner {
	return &bench.Runner{Config: c.cfg, Services: c.services, Edges: edges, Version: buildVersion(), Stdout: c.stdout, Stderr: c.stderr}
}

// registerBenchFlags registers the flags every bench subcommand shares
// into o, with path as the default -path.
func registerBenchFlags(cmd *cobra.Command, o *bench.Options, path string) {
	fs := cmd.Flags()
	fs.StringVar(&o.URL, "url", "", "base URL of a running Mercato on the loopback interface (default: boot one in this process)")
	fs.StringVar(&o.Path, "path", path, "request path and query to hit")
	fs.DurationVar(&o.Load.Duration, "duration", 10*time.Second, "measured time per target (at most "+bench.MaxDuration.String()+")")
	fs.DurationVar(&o.Load.Warmup, "warmup", 2*time.Second, "unmeasured warm-up per target, on the same connections")
	fs.DurationVar(&o.Load.Timeout, "timeout", 5*time.Second, "time allowed for each request")
	fs.IntVar(&o.Load.Workers, "workers", 2*runtime.GOMAXPROCS(0), "concurrent workers, each with one request in flight")
	fs.IntVar(&o.Load.Rate, "rate", 0, "requests per second to send; 0: as fast as the workers go")
	fs.BoolVar(&o.Yes, "yes", false, "without -url, accept that demo data is written to the -db database or -bus given")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the in-process run's measured phase (server and load generator) to this file")
}

func (c *cli) benchCatalogCommand() *cobra.Command {
	var o bench.Options
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
			return c.benchRunner().Catalog(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o, "/api/v1/products?limit=20")
	return cmd
}

func (c *cli) benchStorefrontCommand() *cobra.Command {
	var o bench.StorefrontOptions
	cmd := &cobra.Command{
		Use:   "storefront",
		Short: "Measure a product's page (HTML) against the same product from the JSON API",
		Long: `Measure a product's storefront page (GET /p/{slug}, the HTML the storefront
renders from the catalog's and inventory's APIs) and the same product from
the JSON API
(GET /api/v1/products/{slug}) under load, one after the other, the same way:
-workers concurrent workers on kept-alive connections, as fast as they go (or
at -rate), for -warmup then -duration each. Both are asked of the default
store: the Host header is localhost (with the port) when the URL names an IP
address, else the URL's own host.

The product is -slug, or else the first one the store lists. Both answers
are checked once before the load: the JSON must be a 2xx product with that
slug, the page a 2xx HTML page naming the product's title. Anything else
(a 404 where no storefront runs) is an error, and no rate is reported; so is
a target that gave no good response while loaded. Under load a response
counts as good when it passes the same check.

The report gives requests, req/s (good responses only), latency percentiles
and errors per target, and the ratio of the page's req/s to the API's
against the goal of 0.5. Below the goal is reported, not an error. Without
-url, Mercato is booted in this process as for bench catalog.

The load sends no cookie, so it is served a guest's page: rendered once and
shared with every visitor without a session until a change or
-storefront.page-cache-ttl (docs/decisions/0020). Give the server
-storefront.page-cache-ttl=0 to measure a page rendered for each request,
as a visitor with a session (a cart, signed in) is served.`,
		Example: `  mercato bench storefront
  mercato bench storefront -duration 30s -workers 8
  mercato bench storefront -url http://localhost:8080 -slug espresso-beans-1kg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.benchRunner().Storefront(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/p/{slug}")
	cmd.Flags().StringVar(&o.Slug, "slug", "", "the product to load (default: the first product the store lists)")
	_ = cmd.Flags().MarkHidden("path")
	return cmd
}

func (c *cli) benchCheckoutCommand() *cobra.Command {
	var o bench.CheckoutOptions
	cmd := &cobra.Command{
		Use:   "checkout",
		Short: "Measure the one-call checkout against the raw checkout transaction, then check the invariants",
		Long: `Measure POST /api/v1/checkout of the default store under load, compare it with
the checkout's essential transaction run directly on a database of the same
engine, and check the invariants of what the run left behind.

Without -url, Mercato is booted in this process on 127.0.0.1 (SQLite and the
embedded bus in a temporary directory, or -db/-bus with -yes) and seeded with
the demo store. The benchmark then creates -skus products of its own with
-stock units each, so the run measures checkouts rather than sell-outs.

Every request is a guest checkout of three of those SKUs (one unit each),
shipped to Germany with the store's default method and paid with the fake
provider's tok_visa, under a unique Idempotency-Key. A response counts as
good when it is a 201 with a confirmed order. The booted instance runs the
fake provider also on -db/-bus; a Mercato measured with -url must have it
(it does in the laptop shape; elsewhere -payment.fake=true).

The raw transaction (three conditional stock updates, an order, three lines
and an outbox row, one commit) runs with the same workers for the same time
on a scratch database: a temporary SQLite file, or a schema of its own in the
PostgreSQL database of -db (or -raw-db), dropped afterwards.

With -rounds N the two are measured N times, alternating, and the round
with the median ratio is judged: on a shared machine the speed of both
drifts, and one round can be lucky or unlucky.

With -rate R both sides are paced alike: the raw transaction too is started
R times a second. Both then serve the rate (when they can), so no
throughput ratio is judged: the report says whether each kept up and
compares their latencies.

After the run the benchmark checks and prints: no negative stock; units sold
never above the stock given and equal to the units of confirmed orders; every
confirmed order has exactly one authorization, equal to its total; no expired
reservation still held; the outbox drained: every event written before the
check published within 30 s (in-process runs only; consumers still catching
up may write newer ones, which the report counts).`,
		Example: `  mercato bench checkout
  mercato bench checkout -workers 16 -duration 20s
  mercato bench checkout -workers 128 -rounds 3
  mercato bench checkout -db postgres://postgres@127.0.0.1:5432/mercato_bench -yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The checkouts pay with tok_visa: the booted instance runs the
			// fake provider in every shape, unless -payment.fake says not.
			if f := cmd.Flag("payment.fake"); o.URL == "" && f != nil && !f.Changed {
				if err := f.Value.Set("true"); err != nil {
					return err
				}
			}
			return c.benchRunner().Checkout(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/checkout")
	fs := cmd.Flags()
	fs.IntVar(&o.SKUs, "skus", 30, "products the benchmark creates and buys (3 per checkout)")
	fs.Int64Var(&o.Stock, "stock", 1_000_000, "units of stock each of those products gets")
	fs.StringVar(&o.RawDB, "raw-db", "", "PostgreSQL URL for the raw transaction's scratch schema (default: -db; SQLite in a temporary directory without either)")
	fs.IntVar(&o.Rounds, "rounds", 1, "measure Mercato and the raw transaction this many times, alternating, and judge the median ratio (1 to 10)")
	_ = fs.MarkHidden("path")
	return cmd
}

func (c *cli) benchFlowCommand() *cobra.Command {
	var o bench.FlowOptions
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Measure the storefront's guest flow (cart, lines, checkout of the cart) against the one-call checkout",
		Long: `Measure the requests a storefront makes for one guest order: POST /api/v1/carts
(an empty cart), three POST /api/v1/carts/{id}/items (one unit of an SKU
each), then POST /api/v1/checkout with the cart's ID. Each worker runs one
flow at a time, its requests one after the other. The one-call checkout of
the same three SKUs (POST /api/v1/checkout with the items, as bench checkout
sends it) is measured after it with the same workers for the same time, and
the ratio of their orders per second is judged against the goal of 0.6.

Without -url, Mercato is booted in this process as for bench checkout (SQLite
and the embedded bus in a temporary directory, or -db/-bus with -yes), and
the benchmark creates -skus products of its own with -stock units each. A
flow counts as good when every request of it is answered as it should be
and the checkout is a 201 with a confirmed order; a flow stops at its first
failed request. The report has a row for the flow (orders/s, latency of the
whole flow), one per step (requests/s and latency of each kind of request)
and one for the one-call checkout.

With -rounds N the two are measured N times, alternating, and the round with
the median ratio is judged. With -rate R, flows (orders, not requests) are
started R times a second, and the one-call checkout is sent R times a
second: no ratio is judged, the report compares latencies.

After the run the benchmark checks what bench checkout checks, over the
orders of both: no negative stock; units sold never above the stock given
and equal to the units of confirmed orders; every confirmed order has
exactly one authorization, equal to its total; no expired reservation still
held; the outbox drained: every event written before the check published
within 30 s (in-process runs only).`,
		Example: `  mercato bench flow
  mercato bench flow -workers 8 -duration 20s -rounds 3
  mercato bench flow -workers 8 -rate 200
  mercato bench flow -db postgres://postgres@127.0.0.1:5432/mercato_bench -yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// As bench checkout: the orders pay with tok_visa.
			if f := cmd.Flag("payment.fake"); o.URL == "" && f != nil && !f.Changed {
				if err := f.Value.Set("true"); err != nil {
					return err
				}
			}
			return c.benchRunner().Flow(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/carts")
	cmd.Flags().Lookup("rate").Usage = "orders (flows) per second to start, and one-call checkouts per second to send; 0: as fast as the workers go"
	fs := cmd.Flags()
	fs.IntVar(&o.SKUs, "skus", 30, "products the benchmark creates and buys (3 per order)")
	fs.Int64Var(&o.Stock, "stock", 1_000_000, "units of stock each of those products gets")
	fs.IntVar(&o.Rounds, "rounds", 1, "measure the flow and the one-call checkout this many times, alternating, and judge the median ratio (1 to 10)")
	_ = fs.MarkHidden("path")
	return cmd
}

func (c *cli) benchLoginCommand() *cobra.Command {
	var o bench.LoginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Measure customer logins (argon2id verification) per second and per core",
		Long: `Measure POST /api/v1/auth/login of the default store: -accounts customers are
registered, then logged in with the right password, rotating through them, by
-workers concurrent workers. A response counts as good when it is a 200 with
an access token.

A login is dominated by argon2id: the report gives logins/s, latencies, and
logins/s per core (÷ GOMAXPROCS of this process, which in the in-process run
serves the requests and generates the load), with the argon2id parameters of
-identity.argon2.* and the rate at which this process computes bare argon2id
hashes with the same parameters and workers, the ceiling of the login rate.

The login throttle counts failed logins only and every login here succeeds,
so no limit is raised and none refuses a request. Without -url, Mercato is
booted in this process as for bench catalog.`,
		Example: `  mercato bench login
  mercato bench login -workers 4 -duration 20s
  mercato bench login -identity.argon2.memory 19456 -identity.argon2.time 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params, err := argon2Flags(cmd)
			if err != nil {
				return fmt.Errorf("bench login: %w", err)
			}
			o.Argon2 = params
			return c.benchRunner().Login(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/auth/login")
	cmd.Flags().IntVar(&o.Accounts, "accounts", 20, "customer accounts to register and log in, in turn")
	_ = cmd.Flags().MarkHidden("path")
	return cmd
}

// argon2Flags reads the -identity.argon2.* flags (the in-process instance
// uses them; with -url they are what the operator says the server uses).
func argon2Flags(cmd *cobra.Command) (bench.Argon2, error) {
	fs := cmd.Flags()
	m, err1 := fs.GetUint32("identity.argon2.memory")
	t, err2 := fs.GetUint32("identity.argon2.time")
	p, err3 := fs.GetUint8("identity.argon2.threads")
	if err := errors.Join(err1, err2, err3); err != nil {
		return bench.Argon2{}, fmt.Errorf("read the argon2 flags: %w", err)
	}
	return bench.Argon2{Memory: m, Time: t, Threads: p}, nil
}

func (c *cli) benchCheckinCommand() *cobra.Command {
	var o bench.CheckinOptions
	cmd := &cobra.Command{
		Use:   "checkin",
		Short: "Measure staff check-ins and check-outs, then check the attendance they left",
		Long: `Measure POST /api/v1/staff/check-ins and /api/v1/staff/check-outs of the default
store. The benchmark invites -employees staff members (identity), accepts the
invitations (which gives each an access token) and adds an employee linked to
each account (staff), all with the admin token; then -workers workers check
them in and out, each employee with their own token.

Each worker owns its employees (employee i belongs to worker i mod -workers)
and takes them in turn, checking one in, then the next, and checking each
out on its next turn: one employee's requests never overlap, so no check-in
can meet an open one. Good responses are a 201 check-in and a 200 check-out.

After the run every employee still in is checked out, then once more, which
must answer 409 not_checked_in (no second open check-in); the attendance
report of the run's period must count, per employee, the check-ins made and
the seconds of the check-outs answered, and nobody checked in.

The admin token must be valid in the default store: it is, in the in-process
run (no owner yet); with -url give the running instance's (-admin-token).`,
		Example: `  mercato bench checkin
  mercato bench checkin -employees 64 -workers 8 -duration 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.benchRunner().Checkin(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/staff/check-ins")
	cmd.Flags().IntVar(&o.Employees, "employees", 32, "employees with staff accounts to check in and out (at least -workers)")
	_ = cmd.Flags().MarkHidden("path")
	_ = cmd.Flags().MarkHidden("rate")
	// Its workers are its own (one request at a time per employee), not
	// bench.Run's: no CPU profile of them.
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func (c *cli) benchSearchCommand() *cobra.Command {
	var o bench.SearchOptions
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Measure search on the demo catalog and on generated products against bleve queried directly",
		Long: `Measure the search API and bleve queried directly, in one run.

Mercato is booted in this process as for bench catalog (it needs the search
service's index in this process, so there is no -url). Once the search index
holds the whole demo catalog (learnt from the catalog's events after the
seed), GET -path is hit under load, then the same words are asked of the
store's bleve index directly: first with the search service's own query
(fuzzy and prefix terms, facets, highlights), then with a plain bleve match
query. The report gives requests, req/s, latency percentiles and errors of
each, and how long the index took to catch up and its size.

Then, unless -products is 0, a store is signed up and that many generated
products (a product event and a stock event each) are handed to the search
service's consumer path, as the bus would deliver them: the report gives the
build's time and rate, the index size, the freshness of 200 changes made one
at a time (from the event to the change found), the time to rebuild every
index from the search projection (mercato search reindex), and the same three
targets on the generated store with a few queries in turn.`,
		Example: `  mercato bench search -products 2000 -duration 5s
  mercato bench search -path '/api/v1/search?q=espresso' -products 0
  mercato bench search -products 100000 -duration 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.benchRunner().Search(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/search?q=coffee")
	cmd.Flags().IntVar(&o.Products, "products", 100_000, "generated products to index and search after the demo catalog; 0 skips them")
	_ = cmd.Flags().MarkHidden("url")
	return cmd
}

func (c *cli) benchLiveCommand() *cobra.Command {
	var o bench.LiveOptions
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Hold open live-update streams (SSE) and time events from the order service to them",
		Long: `Hold -connections order-page streams (GET /orders/{id}/events, Server-Sent
Events) of the default store open, spread over -orders orders placed for the
run, and report what each costs: heap and memory from the OS, and goroutines.
Then ship the orders through the admin API at -rate per second and time every
event from its transaction in the order or payment service to the line read
by the stream's reader: outbox, relay, bus, the live hub's fan-out and HTTP.
The goal is p99 < 200ms at 1,000 streams.

Without -url, Mercato is booted in this process: the memory figures are then
this process's, server and client together, and the client's own share is
measured apart (the same sockets and readers against a listener that only
holds them) and subtracted. With -url, give the server's -metrics.addr as
-metrics to read its own figures; with the storefront in a process of its
own (the production shape), -stream-url is its address and -metrics its
/metrics. The soft limit of open files is raised to
the hard limit when the streams need it.`,
		Example: `  mercato bench live
  mercato bench live -connections 2000 -orders 200 -rate 50
  mercato bench live -url http://localhost:8080 -metrics http://127.0.0.1:9464/metrics
  mercato bench live -url http://localhost:8080 -stream-url http://localhost:8081 -metrics http://127.0.0.1:9465/metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.benchRunner().Live(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.URL, "url", "", "base URL of a running Mercato on the loopback interface (default: boot one in this process)")
	fs.StringVar(&o.StreamURL, "stream-url", "", "with -url: base URL of the process serving the storefront, when it runs apart (default: -url)")
	fs.StringVar(&o.Metrics, "metrics", "", "with -url: the /metrics URL of the process serving the streams, for its own memory figures")
	fs.IntVar(&o.Connections, "connections", 1000, "streams held open")
	fs.IntVar(&o.Orders, "orders", 100, "orders the streams watch, round robin; each is shipped once")
	fs.Float64Var(&o.Rate, "rate", 20, "orders shipped per second")
	fs.BoolVar(&o.Yes, "yes", false, "without -url, accept that orders are written to the -db database or -bus given")
	return cmd
}

func (c *cli) benchAnalyticsCommand() *cobra.Command {
	var o bench.AnalyticsOptions
	cmd := &cobra.Command{
		Use:   "analytics",
		Short: "Time orders from their confirmation to the analytics summary",
		Long: `Place -orders orders of the default store one after another and time each
from its confirmation (the time in the order's timeline, set in the order
service's transaction) to the first GET /api/v1/admin/analytics/summary that
counts it, read every -poll: the commit, the outbox relay, the bus, the
analytics consumer's log and fold, and the report's query. The goal is
p99 < 1s.

Without -url, Mercato is booted in this process with every service, SQLite
and the embedded bus in a temporary directory that is removed afterwards.
With -db or a -bus other than embedded it uses those instead and writes the
orders into them: that takes -yes. With -url, a running Mercato on the
loopback interface is measured: give its admin token (-admin-token).`,
		Example: `  mercato bench analytics
  mercato bench analytics -orders 500 -poll 2ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.benchRunner().Analytics(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.URL, "url", "", "base URL of a running Mercato on the loopback interface (default: boot one in this process)")
	fs.IntVar(&o.Orders, "orders", 200, "orders to place and time, one after another")
	fs.DurationVar(&o.Poll, "poll", 5*time.Millisecond, "how often the summary is read while an order is awaited")
	fs.BoolVar(&o.Yes, "yes", false, "without -url, accept that orders are written to the -db database or -bus given")
	return cmd
}

func (c *cli) benchInvoiceCommand() *cobra.Command {
	var o bench.InvoiceOptions
	cmd := &cobra.Command{
		Use:   "invoice",
		Short: "Measure how many invoices (PDF and UBL XML) are rendered per second per core",
		Long: `Render one invoice, its PDF (with the embedded font) and its EN 16931 UBL XML
together as issuing one does, over and over in this process: first on one
goroutine, which is the rate of one core, then on -workers goroutines. Each
run warms up for -warmup, then counts for -duration. Nothing is stored and no
server is started: the figure is the rendering's cost, most of an issue's.

The report gives the documents rendered per second, and per core.`,
		Example: `  mercato bench invoice
  mercato bench invoice -lines 50 -duration 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Render = invoice.Render
			return c.benchRunner().Invoice(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "measured time of each run (at most "+bench.MaxDuration.String()+")")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "unmeasured warm-up of each run")
	fs.IntVar(&o.Workers, "workers", runtime.GOMAXPROCS(0), "goroutines rendering at once in the second run")
	fs.IntVar(&o.Lines, "lines", 10, "lines of the invoice rendered")
	return cmd
}

func (c *cli) benchGatewayCommand() *cobra.Command {
	var o bench.GatewayOptions
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Measure the product list through the gateway against the same list asked directly",
		Long: `Measure GET /api/v1/products?limit=20 of the default store through a gateway
(the production shape's entry, -services=gateway) and directly from the
service, one after the other, the same way: -workers concurrent workers on
kept-alive connections, as fast as they go (or at -rate), for -warmup then
-duration each.

The gateway runs in this process on 127.0.0.1 with its default settings but
no rate limits, every service's upstream being the Mercato measured: booted
in this process as for bench catalog, or the running one at -url, whose
-service-token must then be given (the gateway resolves stores with it).
Every answer must be a 200 product list, or it counts as an error.

The report gives requests, req/s (good responses only), latency percentiles
and errors per target, and the ratio of the gateway's req/s to the direct
one's against the goal of 0.5. Below the goal is reported, not an error.`,
		Example: `  mercato bench gateway
  mercato bench gateway -duration 30s -workers 8
  mercato bench gateway -url http://localhost:8080 -service-token "$MERCATO_SERVICE_TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Gateway = c.benchGateway
			return c.benchRunner().Gateway(cmd.Context(), o)
		},
	}
	registerBenchFlags(cmd, &o.Options, "/api/v1/products?limit=20")
	return cmd
}

// benchGateway builds a gateway whose every service is at base, with its
// flags' defaults and no rate limits.
func (c *cli) benchGateway(base, token string) (http.Handler, func(context.Context) error, error) {
	var cfg gateway.Config
	cfg.RegisterFlags(pflag.NewFlagSet("gateway", pflag.ContinueOnError), "")
	cfg.RateIP, cfg.RateStore = 0, 0
	u, err := url.Parse(base)
	if err != nil {
		return nil, nil, err
	}
	d := gateway.Deps{Upstreams: map[string][]*url.URL{}, ServiceToken: token, Registry: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, s := range c.services {
		if !s.OnlyNamed {
			d.Upstreams[s.Name] = []*url.URL{u}
		}
	}
	g, err := gateway.New(context.Background(), cfg, d)
	if err != nil {
		return nil, nil, err
	}
	return g, g.Run, nil
}
