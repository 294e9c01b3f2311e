// Command mercato is the whole Mercato platform in one binary. With no
// arguments it serves every service in one process on laptop defaults;
// flags (or MERCATO_* variables) choose the services, databases and bus of a
// production process. See `mercato --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Args[1:], os.Stdout, os.Stderr, os.Getenv).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mercato:", err)
		os.Exit(1)
	}
}

// cli holds what every subcommand shares: the parsed configuration and the
// service list with its flags.
type cli struct {
	cfg      app.Config
	services []app.Service
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
}

func newRoot(args []string, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:   "mercato",
		Short: "Mercato: an open-source commerce platform in one binary",
		Long: `Mercato runs every service of the platform in one process on laptop defaults
(SQLite under ./data, an embedded NATS JetStream bus, http://127.0.0.1:8080), or
any subset of them against PostgreSQL, a NATS cluster or RabbitMQ in production.

Every flag can also be set in the environment: -catalog.page-size is
MERCATO_CATALOG_PAGE_SIZE. Flags win over the environment. Flags take one dash
or two (-addr or --addr).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
		RunE:          c.serve,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	fs := root.PersistentFlags()
	c.cfg.RegisterFlags(fs)
	c.services = services(fs)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return c.configure(cmd) }
	root.SetArgs(normalizeArgs(args))

	root.AddCommand(
		&cobra.Command{Use: "serve", Short: "Serve the selected services (the default command)", Args: cobra.NoArgs, RunE: c.serve},
		&cobra.Command{Use: "migrate", Short: "Create or upgrade the databases of the selected services, then exit", Args: cobra.NoArgs, RunE: c.migrate},
		c.seedCommand(),
		c.benchCommand(),
		c.deadLettersCommand(),
		c.outboxCommand(),
		c.searchCommand(),
		c.importCommand(),
		c.exportCommand(),
		c.analyticsCommand(),
		&cobra.Command{Use: "openapi", Short: "Print the OpenAPI document of the selected services, then exit", Args: cobra.NoArgs, RunE: c.openapi},
		&cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(c.stdout, "mercato", buildVersion())
			return nil
		}},
	)
	return root
}

// normalizeArgs turns single-dash long flags (-addr=:8080, -db x) into the
// double-dash form pflag parses; the only one-letter flags are -h and -v.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && isLetter(a[1]) {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

// configure applies the environment, validates the whole configuration and
// sets up logging; it runs before every subcommand.
func (c *cli) configure(cmd *cobra.Command) error {
	fs := cmd.Flags()
	if err := app.ApplyEnv(fs, c.getenv); err != nil {
		return err
	}
	var errs []error
	if err := c.cfg.Validate(serviceNames(c.services)); err != nil {
		errs = append(errs, err)
	}
	for _, s := range c.services {
		if s.Validate != nil && s.Selected(c.cfg) {
			if err := s.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

func (c *cli) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// build constructs the selected services on the platform, with the admin
// token settled first (generated and printed once in laptop mode).
func (c *cli) build(cmd *cobra.Command, log *slog.Logger) (*app.System, error) {
	explicit := c.cfg.Web.AdminToken != ""
	token, fresh, err := app.AdminToken(c.cfg)
	if err != nil {
		return nil, err
	}
	c.cfg.Web.AdminToken = token
	c.cfg.Web.AdminTokenGenerated = !explicit
	if fresh {
		fmt.Fprintf(c.stdout, "\nadmin token (shown once; kept in %s/admin-token): %s\n\n", c.cfg.Data, token)
	}
	log.Info("configuration", app.Effective(cmd.Flags())...)
	return app.Build(cmd.Context(), c.cfg, log, buildVersion(), c.services, edges)
}

func (c *cli) serve(cmd *cobra.Command, _ []string) error {
	log := c.logger()
	ln, err := net.Listen("tcp", c.cfg.Web.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.cfg.Web.Addr, err)
	}
	// Metrics get a listener of their own, loopback by default: the public
	// one answers every store's visitors.
	var metrics net.Listener
	if c.cfg.Web.MetricsAddr != "" {
		if metrics, err = net.Listen("tcp", c.cfg.Web.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics on %s (set -metrics.addr, or empty to serve none): %w", c.cfg.Web.MetricsAddr, err)
		}
	}
	closeAll := func() {
		ln.Close()
		if metrics != nil {
			metrics.Close()
		}
	}
	sys, err := c.build(cmd, log)
	if err != nil {
		closeAll()
		return err
	}
	// Laptop mode: a new store starts with a believable catalog. On
	// PostgreSQL only when asked (-seed-demo or MERCATO_SEED_DEMO given):
	// a production store must not fill itself with demo products.
	if c.cfg.SeedDemo && (c.cfg.DB == "" || cmd.Flags().Changed("seed-demo")) {
		if err := sys.Start(cmd.Context()); err != nil {
			sys.Close()
			closeAll()
			return err
		}
		n, err := sys.SeedDemo(cmd.Context())
		if err != nil {
			sys.Close()
			closeAll()
			return err
		}
		if n > 0 {
			log.Info("demo data created", "records", n, "tenant", "default")
			// The shop is announced (and ready) once the services that
			// learn the catalog from its events know the demo products.
			if err := sys.Settle(cmd.Context(), 30*time.Second); err != nil {
				log.Warn("the demo data's events are not all handled yet; the shop may refuse some products for a moment", "err", err)
			}
		}
	}
	fmt.Fprintf(c.stdout, "Mercato is running: storefront API http://%s/api/v1/products · docs http://%s/docs\n", displayAddr(ln.Addr()), displayAddr(ln.Addr()))
	if names := sys.Names(); slices.Contains(names, "storefront") || slices.Contains(names, "admin") {
		fmt.Fprintf(c.stdout, "The shop: http://%s/ · its admin: http://%s/admin/\n", displayAddr(ln.Addr()), displayAddr(ln.Addr()))
	}
	if metrics != nil {
		fmt.Fprintf(c.stdout, "Prometheus metrics: http://%s/metrics\n", metrics.Addr())
	}
	return sys.Serve(cmd.Context(), ln, metrics)
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if host == "127.0.0.1" || host == "::" || host == "0.0.0.0" || host == "" || host == "::1" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func (c *cli) migrate(cmd *cobra.Command, _ []string) error {
	log := c.logger()
	sys, err := app.Build(cmd.Context(), c.cfg, log, buildVersion(), c.services, edges)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "databases of %s are up to date\n", strings.Join(sys.Names(), ", "))
	return sys.Close()
}

// openapi prints the OpenAPI document the selected services serve at
// /openapi.json, for client generators and linters, without serving.
func (c *cli) openapi(cmd *cobra.Command, _ []string) error {
	sys, err := app.Build(cmd.Context(), c.cfg, c.logger(), buildVersion(), c.services, edges)
	if err != nil {
		return err
	}
	doc, err := sys.Web.API().Document()
	if err != nil {
		sys.Close()
		return err
	}
	if _, err := fmt.Fprintf(c.stdout, "%s\n", doc); err != nil {
		sys.Close()
		return fmt.Errorf("write openapi: %w", err)
	}
	return sys.Close()
}

func (c *cli) seedCommand() *cobra.Command {
	var demo bool
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill the default store with data, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !demo {
				return errors.New("say what to seed: -demo")
			}
			log := c.logger()
			sys, err := c.build(cmd, log)
			if err != nil {
				return err
			}
			defer sys.Close()
			if err := sys.Start(cmd.Context()); err != nil {
				return err
			}
			n, err := sys.SeedDemo(cmd.Context())
			if err != nil {
				return err
			}
			if err := sys.Flush(cmd.Context()); err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(c.stdout, "the default store already has data; nothing seeded")
				return nil
			}
			fmt.Fprintf(c.stdout, "seeded the default store: %d records\n", n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "a demo shop: categories and products with variants and prices")
	return cmd
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}
