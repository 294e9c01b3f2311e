package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/bus/kafkabus"
	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/telemetry"
	"github.com/mercato/mercato/internal/platform/web"
)

// Config is the platform's configuration: what every process needs whatever
// services it runs. Services register their own flags beside it.
type Config struct {
	Web web.Config
	// Telemetry configures tracing (-otel.*).
	Telemetry telemetry.Config
	// Live configures the live-update streams the pages serve (-live.*).
	Live live.Config
	// Data is the directory of laptop-mode state: SQLite files, the embedded
	// bus, the generated admin token.
	Data string
	// DB is a PostgreSQL URL; empty means one SQLite file per service.
	DB string
	// DBMaxConns is the most PostgreSQL connections this process opens,
	// split among the pools of its databases (ConnShares).
	DBMaxConns int
	// DBGroupCommit lets each service's write transactions that arrive
	// together share one PostgreSQL transaction (group commit, decision
	// 0039); SQLite always does.
	DBGroupCommit bool
	// RowSecurity makes PostgreSQL enforce tenant isolation again with
	// row-level security policies (sqldb.Options.RowSecurity).
	RowSecurity bool
	// Bus is "embedded", a list of nats:// URLs, an amqp:// URL, or a
	// kafka:// URL listing brokers.
	Bus string
	// BusListen makes the embedded NATS server listen on host:port, so that
	// other processes can share it; empty means in-process only.
	BusListen string
	// Services are the services this process runs; "all" means every one.
	Services []string
	// URLs of services this process does not run, for sync calls
	// (name=http://host:port).
	URLs map[string]string
	// LogFormat is "text" or "json"; LogLevel "debug", "info", "warn", "error".
	LogFormat string
	LogLevel  string
	// SeedDemo fills a new default store with demo products on first start:
	// on SQLite by default, on PostgreSQL only when set explicitly.
	SeedDemo bool
	// BusRefuseOldNATS makes start-up fail on a NATS server older than 2.10
	// instead of warning (natsbus.Options.RefuseOldServer).
	BusRefuseOldNATS bool
	// OutboxReadyMaxAge is how long outbox rows may wait unpublished, or
	// publishing fail, before /readyz answers 503; zero never.
	OutboxReadyMaxAge time.Duration
	// Redis is a redis:// URL for web sessions and login throttling; empty
	// keeps sessions in the database and counts logins in memory.
	Redis string
	// Retention is how long outbox, inbox, idempotency and dead-letter
	// records are kept (-retention.*).
	Retention Retention
}

// RegisterFlags registers the platform flags.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	c.Web.RegisterFlags(fs, "")
	c.Telemetry.RegisterFlags(fs, "")
	c.Live.RegisterFlags(fs, "live.")
	fs.StringVar(&c.Data, "data", "./data", "directory for laptop-mode state (SQLite files, embedded bus, admin token)")
	fs.StringVar(&c.DB, "db", "", "PostgreSQL URL (postgres://…); each service uses its own schema. Empty: SQLite files under -data")
	fs.IntVar(&c.DBMaxConns, "db.max-conns", 0, "on PostgreSQL, the most connections this process opens, split among its services (checkout services weigh more); the server must have room for them at start. 0: 20, plus 2 for each service beyond five, at most 40")
	fs.BoolVar(&c.DBGroupCommit, "db.group-commit", false, "on PostgreSQL, let a service's write transactions that arrive together share one transaction and its commit, each in a savepoint (group commit; SQLite always does; off by default: it made the checkout slower, decision 0039)")
	fs.BoolVar(&c.RowSecurity, "db.row-security", true, "on PostgreSQL, enforce tenant isolation a second time with row-level security policies")
	fs.StringVar(&c.Bus, "bus", "embedded", "event bus: embedded, nats://host:4222[,nats://…], amqp://user:pass@host:5672/, or kafka://host:9092[,host2:9092]")
	fs.StringVar(&c.BusListen, "bus.listen", "", "with -bus=embedded, also accept NATS clients on this host:port")
	fs.BoolVar(&c.BusRefuseOldNATS, "bus.refuse-old-nats", false, "refuse to start on a NATS server older than 2.10 (default: warn, log and show it on /readyz)")
	fs.DurationVar(&c.OutboxReadyMaxAge, "outbox.ready-max-age", 30*time.Second, "make /readyz answer 503 while an outbox row waits unpublished, or publishing to the bus fails, for longer than this; 0: never")
	fs.StringSliceVar(&c.Services, "services", []string{"all"}, "services to run in this process (comma-separated), or all")
	fs.StringToStringVar(&c.URLs, "urls", nil, "base URLs of services run elsewhere, e.g. tenant=http://tenant:8080,order=http://order-1:8080|http://order-2:8080 (replicas separated by |)")
	fs.StringVar(&c.LogFormat, "log.format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log.level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&c.SeedDemo, "seed-demo", true, "fill the default store with demo products when it has none: by default with SQLite only; on PostgreSQL when given explicitly (or see mercato seed -demo)")
	c.Retention.RegisterFlags(fs)
	fs.StringVar(&c.Redis, "redis", "", "Redis URL for sessions and login throttling, e.g. redis://127.0.0.1:6379/0 (default: in the database / in memory)")
}

// Validate checks the platform configuration against the known services.
func (c *Config) Validate(known []string) error {
	var errs []error
	if err := c.Web.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Telemetry.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Live.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Retention.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Data == "" {
		errs = append(errs, errors.New("-data must not be empty"))
	}
	if c.DB != "" && !sqldb.IsPostgresURL(c.DB) {
		errs = append(errs, fmt.Errorf("-db must be a postgres:// URL, got %q", sqldb.Redact(c.DB)))
	}
	if c.DB != "" && c.DBMaxConns != 0 && c.DBMaxConns < MinConns(1) {
		errs = append(errs, fmt.Errorf("-db.max-conns must be at least %d (one service), got %d", MinConns(1), c.DBMaxConns))
	}
	if c.Bus != "embedded" && !strings.HasPrefix(c.Bus, "nats://") && !strings.HasPrefix(c.Bus, "amqp://") && !strings.HasPrefix(c.Bus, "amqps://") && !strings.HasPrefix(c.Bus, "kafka://") {
		errs = append(errs, fmt.Errorf("-bus must be embedded, nats://…, amqp://… or kafka://…, got %q", sqldb.Redact(c.Bus)))
	} else if strings.HasPrefix(c.Bus, "kafka://") {
		if _, err := kafkabus.ParseURL(c.Bus); err != nil {
			errs = append(errs, fmt.Errorf("-bus: %w", err))
		}
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		errs = append(errs, fmt.Errorf("-redis must be a redis:// or rediss:// URL, got %q", sqldb.Redact(c.Redis)))
	}
	if c.OutboxReadyMaxAge < 0 {
		errs = append(errs, errors.New("-outbox.ready-max-age must not be negative"))
	}
	if c.BusListen != "" && c.Bus != "embedded" {
		errs = append(errs, errors.New("-bus.listen only applies with -bus=embedded"))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("-log.format must be text or json, got %q", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log.level must be debug, info, warn or error, got %q", c.LogLevel))
	}
	if c.Web.ServiceToken == "" && len(c.URLs) > 0 {
		errs = append(errs, errors.New("-service-token must be set when this process calls others (-urls): give every process of the deployment the same one (at least 32 characters)"))
	}
	for name, v := range c.URLs {
		if _, err := Replicas(v); err != nil {
			errs = append(errs, fmt.Errorf("-urls %s: %w", name, err))
		}
	}
	for _, s := range c.Services {
		if s != "all" && !contains(known, s) {
			errs = append(errs, fmt.Errorf("-services: unknown service %q (known: %s)", s, strings.Join(known, ", ")))
		}
	}
	return errors.Join(errs...)
}

// ConnBudget is the connection budget of a process running n services:
// -db.max-conns, or by default 20 for up to five services and 2 more for
// each beyond, at most 40 (40 for a process running all of them).
func (c *Config) ConnBudget(n int) int {
	if c.DBMaxConns > 0 {
		return c.DBMaxConns
	}
	return min(40, 20+2*max(0, n-5))
}

// Laptop reports whether this is the laptop shape: SQLite files under
// -data (no -db) and the embedded bus. Test-only parts, such as the fake
// payment provider, run by default only there.
func (c *Config) Laptop() bool {
	return c.DB == "" && c.Bus == "embedded"
}

// Runs reports whether this process runs service name.
func (c *Config) Runs(name string) bool {
	return contains(c.Services, "all") || contains(c.Services, name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EnvName is the environment variable that overrides flag name:
// "catalog.page-size" → MERCATO_CATALOG_PAGE_SIZE.
func EnvName(flag string) string {
	return "MERCATO_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(flag))
}

// ApplyEnv sets every flag not given on the command line from its
// environment variable, if set. Flags win over the environment.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		v := getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			// A slice flag set from the environment replaces its default.
			if err := sv.Replace(strings.Split(v, ",")); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
		}
	})
	return errors.Join(errs...)
}

// secretFlag reports whether a flag's value must never be logged in full.
func secretFlag(name string) bool {
	for _, s := range []string{"token", "password", "secret", "key"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// Effective lists every flag's value for the start-up log, secrets masked
// and passwords removed from URLs.
func Effective(fs *pflag.FlagSet) []any {
	var attrs []any
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		v := f.Value.String()
		switch {
		case secretFlag(f.Name) && v != "":
			v = "****"
		case strings.Contains(v, "://"):
			parts := strings.Split(v, ",")
			for i, p := range parts {
				parts[i] = sqldb.Redact(p)
			}
			v = strings.Join(parts, ",")
		}
		attrs = append(attrs, f.Name, v)
	})
	return attrs
}
