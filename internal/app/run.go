package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// System is a process's platform and its constructed services.
type System struct {
	Platform *Platform
	Web      *web.Server
	runners  []named
	routes   []Route
	idem     *web.IdempotencyStore
	log      *slog.Logger
	started  bool
}

type named struct {
	name string
	svc  any
}

// Build constructs the platform and, in list order, every service the
// configuration selects, and mounts their routes behind the edges that
// edges returns for the platform (nil: none, so only the default store and
// the admin and service tokens). Nothing runs yet.
func Build(ctx context.Context, cfg Config, log *slog.Logger, version string, services []Service, edges func(p *Platform) (Edges, error)) (*System, error) {
	p, err := NewPlatform(ctx, cfg, log, version)
	if err != nil {
		return nil, err
	}
	s := &System{Platform: p, log: log}
	if err := s.build(ctx, services, edges); err != nil {
		p.Close()
		return nil, err
	}
	return s, nil
}

func (s *System) build(ctx context.Context, services []Service, edges func(p *Platform) (Edges, error)) error {
	p := s.Platform
	if p.Config.DB != "" {
		// Each database's pool gets its share of the process's budget,
		// which the server must have room for.
		var names []string
		for _, svc := range services {
			if p.Config.Runs(svc.Name) {
				names = append(names, svc.Name)
			}
		}
		if len(names) == 0 {
			return errors.New("no service selected: see -services")
		}
		budget := p.Config.ConnBudget(len(names))
		conns, err := ConnShares(budget, names)
		if err != nil {
			return err
		}
		p.conns = conns
		// Behind a pooler, the pooler's limits count, which the server
		// does not know.
		if !sqldb.BehindPooler(p.Config.DB) {
			if err := CheckServerRoom(ctx, p.Config.DB, budget, p.log); err != nil {
				return err
			}
		}
	}
	// The idempotency layer keeps its outcomes in a database of its own,
	// shared by every service of the process (and by replicas on PostgreSQL).
	db, err := p.DB(ctx, WebDB, web.IdempotencyMigrations)
	if err != nil {
		return err
	}
	s.idem = web.NewIdempotencyStore(db)
	if t := p.Config.Retention.Idempotency; t > 0 {
		s.idem.TTL = t
	}

	var e Edges
	if edges != nil {
		if e, err = edges(p); err != nil {
			return err
		}
	}
	p.web = web.New(p.Config.Web, web.Deps{
		Log:         p.log.With("component", "http"),
		Registry:    p.Registry,
		Tenants:     e.Tenants,
		Auth:        p.newAuthenticator(e),
		APIKeys:     e.APIKeys,
		Idempotency: s.idem,
		Version:     p.Version,
		Ready:       p.Ready,
		Tracer:      p.Tracer(),
	})
	s.Web = p.web
	for _, msg := range p.busWarnings() {
		s.Web.Warn("bus: " + msg)
	}
	for _, svc := range services {
		if !svc.Selected(p.Config) {
			continue
		}
		r, err := svc.New(ctx, p)
		if err != nil {
			return fmt.Errorf("construct %s: %w", svc.Name, err)
		}
		if r == nil {
			return fmt.Errorf("construct %s: New returned no service", svc.Name)
		}
		if rt, ok := r.(Router); ok {
			before := s.Web.API().Routes()
			rt.Routes(s.Web.API())
			for _, rt := range s.Web.API().Routes()[len(before):] {
				s.routes = append(s.routes, Route{Service: svc.Name, Method: rt.Method, Path: rt.Path})
			}
		}
		if c, ok := r.(Checker); ok {
			p.mu.Lock()
			p.checkers = append(p.checkers, c)
			p.mu.Unlock()
		}
		if f, ok := r.(Front); ok {
			s.Web.SetFront(f.Front)
		}
		if w, ok := r.(Warner); ok {
			for _, msg := range w.Warnings() {
				s.log.Warn("configuration warning", "service", svc.Name, "warning", msg)
				s.Web.Warn(svc.Name + ": " + msg)
			}
		}
		s.runners = append(s.runners, named{svc.Name, r})
	}
	if len(s.runners) == 0 {
		return errors.New("no service selected: see -services")
	}
	registerDeadLetters(s.Web.API(), p.Bus)
	return nil
}

// Route is one route a service registered: an operation of the API
// (its OpenAPI path template) or a pattern outside it (a page).
type Route struct {
	Service string
	// Method is empty for a pattern that takes every method.
	Method string
	Path   string
}

// Routes lists the routes each service of the system registered, in
// order: the gateway's table of who owns what is tested against them.
func (s *System) Routes() []Route { return append([]Route(nil), s.routes...) }

// Names lists the services constructed, in order.
func (s *System) Names() []string {
	var out []string
	for _, n := range s.runners {
		out = append(out, n.name)
	}
	return out
}

// Service returns what service name's New returned, or nil when this
// system does not run it: for tools that work on one service in process
// (benchmarks).
func (s *System) Service(name string) any {
	for _, n := range s.runners {
		if n.name == name {
			return n.svc
		}
	}
	return nil
}

// Start runs the services' start-up work (Starter) in order, once.
func (s *System) Start(ctx context.Context) error {
	if s.started {
		return nil
	}
	s.started = true
	// Consumers subscribed here record spans like those subscribed in Run.
	ctx = outbox.WithTracing(ctx, s.Platform.Tracer())
	for _, n := range s.runners {
		if st, ok := n.svc.(Starter); ok {
			if err := st.Start(ctx); err != nil {
				return fmt.Errorf("start %s: %w", n.name, err)
			}
		}
	}
	return nil
}

// SeedDemo fills the default store with every service's demo data and returns
// how many records were created. Services seed idempotently.
func (s *System) SeedDemo(ctx context.Context) (int, error) {
	ctx = tenancy.WithID(ctx, tenancy.DefaultID)
	total := 0
	for _, n := range s.runners {
		if sd, ok := n.svc.(DemoSeeder); ok {
			c, err := sd.SeedDemo(ctx)
			if err != nil {
				return total, fmt.Errorf("seed %s: %w", n.name, err)
			}
			total += c
		}
	}
	return total, nil
}

// Settle publishes what the outboxes hold and waits until the bus's
// subscriptions have handled it, again as long as handling publishes more,
// for at most bound: after seeding the demo store, so that the services
// that learn the catalog from its events (pricing, cart) know it before
// the first visitor does. It returns at once on a bus that cannot count
// its backlog (bus.Backlogger), and gives up quietly at the bound (a
// consumer retrying a failing event keeps a backlog), reporting it.
func (s *System) Settle(ctx context.Context, bound time.Duration) error {
	bl, ok := s.Platform.Bus.(bus.Backlogger)
	if !ok {
		return nil
	}
	deadline := time.Now().Add(bound)
	// Settled once two looks in a row, a moment apart, find nothing to
	// publish and nothing waiting: the server counts a consumer's pending
	// messages a moment after its stream took them.
	quiet := 0
	for {
		published := 0
		for _, r := range s.Platform.Relays() {
			n, err := r.Flush(ctx)
			if err != nil {
				return err
			}
			published += n
		}
		backlog, err := bl.Backlog(ctx)
		if err != nil {
			return err
		}
		if published == 0 && backlog == 0 {
			if quiet++; quiet == 2 {
				return nil
			}
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("events still being handled after %s: %d waiting", bound, backlog)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Flush publishes every pending outbox row now (before a command exits).
func (s *System) Flush(ctx context.Context) error {
	for _, r := range s.Platform.Relays() {
		if _, err := r.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Serve runs the system on ln, and /metrics on metrics unless it is nil,
// until ctx is done or a part fails, then stops it in order: not ready →
// drain HTTP → stop services and relays → close the bus → close the
// databases. It returns the first failure.
func (s *System) Serve(ctx context.Context, ln, metrics net.Listener) error {
	defer s.Platform.Close()
	if err := s.Start(ctx); err != nil {
		return err
	}
	// Services and relays run on a context of their own, cancelled only once
	// HTTP has drained, so requests in flight can still publish.
	runCtx, stopRunners := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRunners()
	// Consumers built on outbox.Consume record a span per event.
	runCtx = outbox.WithTracing(runCtx, s.Platform.Tracer())
	g, gctx := errgroup.WithContext(ctx)
	var runners errgroup.Group
	for _, r := range s.Platform.Relays() {
		runners.Go(func() error { return r.Run(runCtx) })
	}
	runners.Go(func() error { return s.idem.Run(runCtx, s.log.With("component", "http")) })
	for _, n := range s.runners {
		r, ok := n.svc.(Runner)
		if !ok {
			continue
		}
		runners.Go(func() error {
			if err := r.Run(runCtx); err != nil {
				return fmt.Errorf("%s: %w", n.name, err)
			}
			return nil
		})
	}
	// runErr is set before runDone closes, and read only after.
	runDone := make(chan struct{})
	var runErr error
	go func() { runErr = runners.Wait(); close(runDone) }()
	// Ready from the first request served: everything a request needs
	// was started above, and a /readyz that answered 503 in between would
	// only be noise for whoever waits on it.
	s.Web.MarkReady()
	g.Go(func() error { return s.Web.Serve(ln) })
	if metrics != nil {
		g.Go(func() error { return s.Web.ServeMetrics(gctx, metrics) })
	}
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-runDone:
			// A service ending before shutdown stops the process.
			if runErr == nil {
				return errors.New("services stopped unexpectedly")
			}
			return runErr
		}
	})
	s.log.Info("serving", "addr", ln.Addr().String(), "services", s.Names())

	g.Go(func() error {
		<-gctx.Done()
		s.log.Info("stopping")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return s.Web.Shutdown(sctx)
	})
	err := g.Wait()
	stopRunners()
	<-runDone
	if err == nil {
		err = runErr
	}
	// Publish what the last requests wrote while the bus is still open; what
	// does not make it stays in the outbox for the next start.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if ferr := s.Flush(fctx); ferr != nil {
		s.log.Warn("final outbox flush", "err", ferr)
	}
	cancel()
	s.log.Info("stopped")
	return err
}

// Close releases the platform without serving (after Build for a command).
func (s *System) Close() error { return s.Platform.Close() }
