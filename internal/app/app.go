// Package app runs Mercato's services: it builds the platform (logger,
// databases, bus, HTTP server, metrics) from the configuration, constructs the
// services this process was asked to run, serves them, and stops them in
// reverse order on the first error or signal. The same code runs every
// service in one laptop process or one service per pod.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/kafkabus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/bus/rabbitbus"
	"github.com/mercato/mercato/internal/platform/cache"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/telemetry"
	"github.com/mercato/mercato/internal/platform/web"
)

// Service is one entry of the system's service list.
type Service struct {
	Name string
	// Validate checks the service's configuration before anything starts.
	Validate func() error
	// New constructs the service from the platform (its dependencies
	// through p.Deps) but starts nothing. What it returns takes part in
	// the process through the interfaces it implements, each optional:
	// Router, Starter, Runner, Warner, DemoSeeder, Checker and Front.
	New func(ctx context.Context, p *Platform) (any, error)
	// OnlyNamed keeps the service out of -services=all: it runs only in a
	// process that names it (the gateway, which fronts the others).
	OnlyNamed bool
}

// Selected reports whether a process of configuration cfg runs s.
func (s Service) Selected(cfg Config) bool {
	if s.OnlyNamed {
		return contains(cfg.Services, s.Name)
	}
	return cfg.Runs(s.Name)
}

// Router is a service with HTTP operations.
type Router interface {
	Routes(api *web.API)
}

// Starter is a service with work to finish before requests are served
// (creating the default store, say).
type Starter interface {
	Start(ctx context.Context) error
}

// Runner is a service that consumes events or does background work while
// the process serves: Run returns nil once ctx is done.
type Runner interface {
	Run(ctx context.Context) error
}

// Warner is a service whose configuration deserves an operator's attention
// (a test-only part enabled in production, say). Each warning is logged at
// start and shown on /readyz, without making the process unready.
type Warner interface {
	Warnings() []string
}

// Checker is a service whose own dependencies decide the process's
// readiness (/readyz) besides its databases: the gateway is ready once it
// can reach the services it needs to check requests.
type Checker interface {
	Ready(ctx context.Context) error
}

// Front is a service that takes the whole HTTP edge of its process: Front
// returns the handler that serves every request, given the platform's
// (which still answers /healthz and /readyz, and whatever the front hands
// it). The gateway is one: it forwards requests to the services that own
// them rather than serving them.
type Front interface {
	Front(platform http.Handler) http.Handler
}

// DemoSeeder is a service that can fill the context's tenant with demo
// data.
type DemoSeeder interface {
	SeedDemo(ctx context.Context) (int, error)
}

// Platform is the shared infrastructure handed to every service.
type Platform struct {
	Config   Config
	Bus      bus.Bus
	Registry *prometheus.Registry
	Version  string
	// Changes counts the write transactions each database of this
	// process commits, per tenant: caches of pages built from several
	// services' data watch it (the storefront's guest pages).
	Changes *cache.Changes

	log     *slog.Logger
	rawBus  bus.Bus // the adapter under Bus's metrics
	server  *natsbus.Server
	web     *web.Server
	tracing *telemetry.Tracing

	// conns are the shares of -db.max-conns of the databases this process
	// opens (ConnShares), set before the first opens.
	conns map[string]int

	mu       sync.Mutex
	dbs      []*sqldb.DB
	relays   []*outbox.Relay
	hub      *live.Hub
	checkers []Checker
}

// NewPlatform sets up tracing, connects the bus and prepares the metrics
// registry. Close releases what it opened.
func NewPlatform(ctx context.Context, cfg Config, log *slog.Logger, version string) (*Platform, error) {
	cfg.Web.ServiceToken = serviceToken(cfg.Web.ServiceToken)
	p := &Platform{Config: cfg, log: log, Version: version, Registry: prometheus.NewRegistry(), Changes: cache.NewChanges()}
	p.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.Registry.MustRegister(dbCollector{p})
	tr, err := telemetry.New(ctx, cfg.Telemetry, telemetry.Resource{Service: telemetry.ServiceName(cfg.Services), Version: version}, log.With("component", "telemetry"))
	if err != nil {
		return nil, fmt.Errorf("set up tracing: %w", err)
	}
	p.tracing = tr
	if err := p.connectBus(ctx); err != nil {
		_ = p.shutdownTracing()
		return nil, err
	}
	p.observeBus()
	return p, nil
}

// Tracer is the process's tracer provider, or nil when tracing is off (no
// -otel.endpoint): the web server, outbox relays and consumers take nil as
// "record no spans".
func (p *Platform) Tracer() trace.TracerProvider { return p.tracing.Provider() }

func (p *Platform) connectBus(ctx context.Context) error {
	blog := p.log.With("component", "bus")
	opts := natsbus.Options{Name: "mercato", RefuseOldServer: p.Config.BusRefuseOldNATS, DeadLetterMaxAge: p.Config.Retention.DeadLetters}
	switch {
	case p.Config.Bus == "embedded":
		opts.Dir = filepath.Join(p.Config.Data, "nats")
		opts.Listen = p.Config.BusListen
		srv, err := natsbus.StartEmbedded(opts, blog)
		if err != nil {
			return fmt.Errorf("start embedded bus: %w", err)
		}
		b, err := natsbus.ConnectEmbedded(ctx, srv, opts, blog)
		if err != nil {
			srv.Shutdown()
			return fmt.Errorf("connect embedded bus: %w", err)
		}
		p.server, p.Bus = srv, b
	case strings.HasPrefix(p.Config.Bus, "nats://"):
		b, err := natsbus.Connect(ctx, p.Config.Bus, opts, blog)
		if err != nil {
			return fmt.Errorf("connect bus: %w", err)
		}
		p.Bus = b
	case strings.HasPrefix(p.Config.Bus, "kafka://"):
		b, err := kafkabus.Connect(ctx, p.Config.Bus, kafkabus.Options{}, blog)
		if err != nil {
			return fmt.Errorf("connect bus: %w", err)
		}
		p.Bus = b
	default:
		b, err := rabbitbus.Dial(ctx, p.Config.Bus, rabbitbus.Options{DeadLetterMaxAge: p.Config.Retention.DeadLetters}, blog)
		if err != nil {
			return fmt.Errorf("connect bus: %w", err)
		}
		p.Bus = b
	}
	return nil
}

// Log returns the logger of a service.
func (p *Platform) Log(service string) *slog.Logger { return p.log.With("service", service) }

// Deps opens service name's database, migrated with sets (the service's
// Migrations, which include what it borrows from the platform, such as the
// outbox), and returns it with its outbox relay, the bus and the service's
// logger: what every service's constructor takes.
func (p *Platform) Deps(ctx context.Context, name string, sets ...sqldb.Migrations) (kit.Deps, error) {
	db, err := p.DB(ctx, name, sets...)
	if err != nil {
		return kit.Deps{}, err
	}
	d := kit.Deps{DB: db, Bus: p.Bus, Log: p.Log(name)}
	// Only a database with an outbox has a relay to publish it: the pages'
	// databases keep sessions and nothing else.
	if slices.ContainsFunc(sets, func(m sqldb.Migrations) bool { return m.Table == outbox.Migrations.Table }) {
		d.Relay = p.Outbox(db)
	}
	return d, nil
}

// DB opens the database called name and applies the migration sets, in
// order. The platform closes it at the end. On PostgreSQL its pool is
// bounded by its share of -db.max-conns (one connection for a database
// the process did not foresee).
func (p *Platform) DB(ctx context.Context, name string, sets ...sqldb.Migrations) (*sqldb.DB, error) {
	conns := max(1, p.conns[name])
	lanes := 0 // the default: the whole pool
	if !p.Config.DBGroupCommit {
		lanes = -1
	}
	db, err := sqldb.Open(ctx, sqldb.Options{URL: p.Config.DB, Dir: p.Config.Data, Name: name, Log: p.log.With("db", name), RowSecurity: p.Config.RowSecurity,
		MaxConns: conns, GroupCommitLanes: lanes, Committed: func(tenant string) { p.Changes.Committed(name, tenant) }})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, sets...); err != nil {
		db.Close()
		return nil, err
	}
	p.mu.Lock()
	p.dbs = append(p.dbs, db)
	p.mu.Unlock()
	return db, nil
}

// Outbox returns the relay that publishes db's outbox; it runs while the
// process serves.
func (p *Platform) Outbox(db *sqldb.DB) *outbox.Relay {
	r := outbox.NewRelay(db, p.Bus, p.log.With("component", "outbox", "db", db.Name()), outbox.RelayConfig{
		Tracer: p.Tracer(), Retention: p.Config.Retention.Outbox, InboxRetention: p.Config.Retention.Inbox,
	})
	p.mu.Lock()
	p.relays = append(p.relays, r)
	p.mu.Unlock()
	return r
}

// Relays returns every relay created so far.
func (p *Platform) Relays() []*outbox.Relay {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*outbox.Relay(nil), p.relays...)
}

// HTTPClient returns a client for calling service name's HTTP API and its base
// URL. When name runs in this process the client serves the request through
// this process's handler without a socket: the bytes are the same as over
// the network, so co-location changes nothing. Either way the request
// carries the caller's trace context (traceparent), with a client span when
// tracing is on.
//
// Requests carry the deployment's service token unless they set their own
// Authorization: services call each other's admin operations (reserve
// stock, authorize a payment) with it.
func (p *Platform) HTTPClient(name string) (*http.Client, string, error) {
	return p.httpClient(name, p.Config.Web.ServiceToken)
}

// PublicHTTPClient is HTTPClient without the deployment's service token:
// its requests carry only the credentials the caller sets (a signed-in
// person's token, apiclient.WithToken) or none. The web UI calls the APIs
// with it, so a guest's page is served with a guest's rights.
func (p *Platform) PublicHTTPClient(name string) (*http.Client, string, error) {
	return p.httpClient(name, "")
}

func (p *Platform) httpClient(name, token string) (*http.Client, string, error) {
	if p.Config.Runs(name) {
		return &http.Client{Transport: telemetry.Transport(serviceAuth{localTransport{p: p}, token}, p.Tracer())}, "http://" + name + ".local", nil
	}
	base, ok := p.Config.URLs[name]
	if !ok {
		return nil, "", fmt.Errorf("service %s does not run in this process and -urls gives no address for it", name)
	}
	var next http.RoundTripper = http.DefaultTransport
	if strings.Contains(base, ReplicaSeparator) {
		// Several replicas: the calls go to each in turn, through a base
		// URL that names the service.
		bases, err := Replicas(base)
		if err != nil {
			return nil, "", fmt.Errorf("-urls %s: %w", name, err)
		}
		next, base = &replicaTransport{next: next, bases: bases}, "http://"+name
	}
	return &http.Client{Transport: telemetry.Transport(serviceAuth{next, token}, p.Tracer()), Timeout: 30 * time.Second}, strings.TrimSuffix(base, "/"), nil
}

// serviceAuth adds the admin bearer token to requests without credentials.
type serviceAuth struct {
	next  http.RoundTripper
	token string
}

func (t serviceAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" || req.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// localTransport serves requests through this process's own HTTP handler.
type localTransport struct{ p *Platform }

func (t localTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.p.web == nil {
		return nil, errors.New("in-process transport: the HTTP server is not built yet")
	}
	// Serve on a context of its own: it keeps the caller's cancellation,
	// deadline and trace, but nothing else of the caller's request (its
	// principal, its tenant, a cross-tenant marker) reaches the request
	// served.
	ctx, cancel := context.WithCancel(trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(req.Context())))
	defer cancel()
	stop := context.AfterFunc(req.Context(), cancel)
	defer stop()
	if dl, ok := req.Context().Deadline(); ok {
		var cancelDL context.CancelFunc
		ctx, cancelDL = context.WithDeadline(ctx, dl)
		defer cancelDL()
	}
	inner := req.Clone(ctx)
	if inner.Body == nil {
		inner.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.p.web.Handler().ServeHTTP(rec, inner)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Live returns the process's live-update hub, listening to the event
// types patterns on the bus (besides those it already hears). There is one
// hub per process, made on first use, whatever services use it; the HTTP
// server's shutdown ends its streams before draining, and Close stops its
// listening before the bus closes.
func (p *Platform) Live(ctx context.Context, patterns ...string) (*live.Hub, error) {
	l, ok := p.Bus.(bus.Listener)
	if !ok {
		return nil, fmt.Errorf("live updates: the bus %T cannot listen", p.Bus)
	}
	if p.web == nil {
		return nil, errors.New("live updates: the HTTP server is not built yet")
	}
	p.mu.Lock()
	h := p.hub
	if h == nil {
		h = live.New(p.Config.Live, p.log.With("component", "live"))
		p.hub = h
		p.web.OnShutdown(h.Close)
		p.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mercato_live_streams", Help: "Live-update streams (Server-Sent Events) open in this process.",
		}, func() float64 { return float64(h.Connections()) }))
	}
	p.mu.Unlock()
	if err := h.Listen(ctx, l, patterns...); err != nil {
		return nil, err
	}
	return h, nil
}

// Ping checks every database and every Checker service, for readiness.
func (p *Platform) Ping(ctx context.Context) error {
	p.mu.Lock()
	dbs := append([]*sqldb.DB(nil), p.dbs...)
	checkers := append([]Checker(nil), p.checkers...)
	p.mu.Unlock()
	for _, db := range dbs {
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("database %s: %w", db.Name(), err)
		}
	}
	for _, c := range checkers {
		if err := c.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the bus, then the databases, in reverse order of opening,
// and last exports the spans still queued.
func (p *Platform) Close() error {
	var errs []error
	p.mu.Lock()
	hub := p.hub
	p.mu.Unlock()
	if hub != nil {
		hub.Close()
	}
	if p.Bus != nil {
		errs = append(errs, p.Bus.Close())
	}
	if p.server != nil {
		p.server.Shutdown()
	}
	p.mu.Lock()
	for i := len(p.dbs) - 1; i >= 0; i-- {
		errs = append(errs, p.dbs[i].Close())
	}
	p.dbs = nil
	p.mu.Unlock()
	errs = append(errs, p.shutdownTracing())
	return errors.Join(errs...)
}

// shutdownTracing flushes queued spans, giving an absent collector 5 s.
func (p *Platform) shutdownTracing() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.tracing.Shutdown(ctx)
}

// AdminToken returns the configured admin token or the one kept in the data
// directory, generating and saving it on first use; fresh reports whether it
// was just generated (and so must be shown once).
func AdminToken(cfg Config) (token string, fresh bool, err error) {
	if cfg.Web.AdminToken != "" {
		return cfg.Web.AdminToken, false, nil
	}
	return DataSecret(cfg.Data, "admin-token", "mct_")
}

// Secret returns the secret kept in the data directory as file name,
// generating and saving it on first use (see DataSecret): for secrets the
// operator may set but need not, such as the fake payment provider's
// webhook secret.
func (p *Platform) Secret(name, prefix string) (string, error) {
	s, _, err := DataSecret(p.Config.Data, name, prefix)
	return s, err
}

// DataSecret returns the secret kept in file name of the data directory
// data or, when there is none yet, generates one (prefix and 192 random
// bits in hex), saves it readable by the owner only and reports it fresh.
// So a laptop's secrets survive restarts without anyone choosing them.
func DataSecret(data, name, prefix string) (secret string, fresh bool, err error) {
	path := filepath.Join(data, name)
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", name, err)
	}
	var raw [24]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return "", false, fmt.Errorf("generate %s: %w", name, err)
	}
	secret = prefix + hex.EncodeToString(raw[:])
	if err := os.MkdirAll(data, 0o750); err != nil {
		return "", false, fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("save %s: %w", name, err)
	}
	return secret, true, nil
}
