// Package gateway is the single entry of the production shape
// (`mercato -services=gateway`): it owns no data, finds the store of each
// request from its host, verifies access tokens with the identity
// service's published keys, limits request rates per store and per client
// address, and forwards each request to a replica of the service that
// owns its path, over net/http/httputil.ReverseProxy. Replicas are
// balanced by fewest requests in flight, checked on /readyz, ejected on a
// failed connection, guarded by a circuit breaker each; a request that
// could not reach a replica at all is tried on another when repeating it
// is safe. See docs/gateway.md and decision 0033.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Config is the gateway's configuration (-gateway.*).
type Config struct {
	// RateStore and RateStoreBurst bound each store's requests: a token
	// bucket of RateStoreBurst tokens refilled at RateStore a second. 0
	// turns the limit off. RateIP and RateIPBurst do the same per client
	// address.
	RateStore      int
	RateStoreBurst int
	RateIP         int
	RateIPBurst    int
	// Timeout is how long a replica may take to answer a request's
	// headers (streams then run as long as they run); Timeouts overrides
	// it per service ("search=5s").
	Timeout  time.Duration
	Timeouts map[string]string
	// HealthInterval and HealthTimeout pace the active checks of every
	// replica's /readyz.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// Retries is how many other replicas a request that could not reach
	// one is tried on, when repeating it is safe.
	Retries int
	// BreakerFailures consecutive failures open a replica's circuit
	// breaker for BreakerCooldown.
	BreakerFailures int
	BreakerCooldown time.Duration
	// TrustedProxies are the addresses (CIDR) of proxies in front of the
	// gateway whose X-Forwarded-For is believed.
	TrustedProxies []string
	// Docs names the service whose /docs and /openapi.json are forwarded
	// (every process documents the operations it serves).
	Docs string

	timeouts map[string]time.Duration
	trusted  []netip.Prefix
}

// RegisterFlags registers the gateway's flags under prefix ("gateway.").
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.IntVar(&c.RateStore, prefix+"rate.store", 500, "requests a second each store may make through the gateway (token bucket refill; 0: no limit)")
	fs.IntVar(&c.RateStoreBurst, prefix+"rate.store-burst", 1000, "burst of requests a store may make at once (token bucket size)")
	fs.IntVar(&c.RateIP, prefix+"rate.ip", 50, "requests a second each client address may make through the gateway (0: no limit)")
	fs.IntVar(&c.RateIPBurst, prefix+"rate.ip-burst", 100, "burst of requests a client address may make at once")
	fs.DurationVar(&c.Timeout, prefix+"timeout", 30*time.Second, "how long a service may take to answer a request's headers")
	fs.StringToStringVar(&c.Timeouts, prefix+"timeouts", nil, "per-service overrides of -gateway.timeout, e.g. search=5s,invoice=60s")
	fs.DurationVar(&c.HealthInterval, prefix+"health.interval", 2*time.Second, "how often every replica's /readyz is checked")
	fs.DurationVar(&c.HealthTimeout, prefix+"health.timeout", time.Second, "how long a replica's /readyz may take")
	fs.IntVar(&c.Retries, prefix+"retries", 2, "other replicas a request that reached none is tried on, when repeating it is safe (GET, HEAD, or an Idempotency-Key)")
	fs.IntVar(&c.BreakerFailures, prefix+"breaker.failures", 5, "consecutive failures (no connection, 502-504) that open a replica's circuit breaker")
	fs.DurationVar(&c.BreakerCooldown, prefix+"breaker.cooldown", 10*time.Second, "how long an open breaker refuses requests before letting one through")
	fs.StringSliceVar(&c.TrustedProxies, prefix+"trusted-proxies", nil, "addresses (CIDR) of proxies in front of the gateway whose X-Forwarded-For names the client")
	fs.StringVar(&c.Docs, prefix+"docs", "", "service whose /docs and /openapi.json the gateway forwards (default: the first of storefront, catalog, tenant given in -urls)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	for name, v := range map[string]int{"rate.store": c.RateStore, "rate.store-burst": c.RateStoreBurst, "rate.ip": c.RateIP, "rate.ip-burst": c.RateIPBurst, "retries": c.Retries} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("-gateway.%s must not be negative", name))
		}
	}
	if c.RateStore > 0 && c.RateStoreBurst < 1 || c.RateIP > 0 && c.RateIPBurst < 1 {
		errs = append(errs, errors.New("-gateway.rate.*-burst must be at least 1 with a rate"))
	}
	if c.Timeout <= 0 || c.HealthInterval <= 0 || c.HealthTimeout <= 0 || c.BreakerCooldown <= 0 {
		errs = append(errs, errors.New("-gateway.timeout, -gateway.health.* and -gateway.breaker.cooldown must be positive"))
	}
	if c.BreakerFailures < 1 {
		errs = append(errs, errors.New("-gateway.breaker.failures must be at least 1"))
	}
	c.timeouts = map[string]time.Duration{}
	for svc, v := range c.Timeouts {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("-gateway.timeouts %s: %q is not a positive duration", svc, v))
			continue
		}
		c.timeouts[svc] = d
	}
	trusted, err := web.ParseProxies(c.TrustedProxies)
	if err != nil {
		errs = append(errs, fmt.Errorf("-gateway.trusted-proxies: %w", err))
	}
	c.trusted = trusted
	return errors.Join(errs...)
}

func (c *Config) timeout(service string) time.Duration {
	if d, ok := c.timeouts[service]; ok {
		return d
	}
	return c.Timeout
}

// Deps are what the gateway needs besides its Config.
type Deps struct {
	// Upstreams are the base URLs of each service's replicas (-urls).
	Upstreams map[string][]*url.URL
	// ServiceToken is the deployment's token: the gateway resolves stores
	// with it, and never forwards /internal/ routes.
	ServiceToken string
	// Redis, when set, keeps the rate limits' buckets, shared by every
	// gateway replica; nil keeps them in this process's memory.
	Redis    *redis.Client
	Registry *prometheus.Registry
	Log      *slog.Logger
	// AccessLog says which requests get an access log line at which
	// level: the platform's -log.access… (the zero value logs every one).
	AccessLog web.AccessLogConfig
	// now is time.Now outside tests.
	now func() time.Time
}

// Service forwards requests to the services that own them. It is safe for
// concurrent use.
type Service struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	pools    map[string]*pool
	proxies  map[string]*httputil.ReverseProxy
	routes   *table
	tenants  *tenantapi.Client
	verifier *auth.Verifier
	limits   limiter
	m        *metrics
	docs     string
}

// Required are the services the gateway cannot work without: the store
// directory (tenant) and the access tokens' keys (identity).
var Required = []string{"tenant", "identity"}

// New builds the gateway; it fetches nothing (ctx is unused): Run starts
// the health checks.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	d := deps
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var missing []string
	for _, s := range Required {
		if len(d.Upstreams[s]) == 0 {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("gateway: -urls must name %s", strings.Join(missing, " and "))
	}
	g := &Service{cfg: cfg, deps: d, log: d.Log, pools: map[string]*pool{}, routes: newTable(), m: newMetrics(d.Registry)}
	names := make([]string, 0, len(d.Upstreams))
	for s := range d.Upstreams {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		g.pools[s] = newPool(s, d.Upstreams[s], cfg, g.m, d.Log)
	}
	g.proxies = map[string]*httputil.ReverseProxy{}
	for s := range g.pools {
		g.proxies[s] = g.proxy(s)
	}
	g.docs = cfg.Docs
	if g.docs == "" {
		for _, s := range []string{"storefront", "catalog", "tenant"} {
			if g.pools[s] != nil {
				g.docs = s
				break
			}
		}
	}
	if g.pools[g.docs] == nil {
		return nil, fmt.Errorf("gateway: -gateway.docs names %q, which -urls does not", g.docs)
	}
	// The gateway's own calls (resolving stores, reading the keys) go
	// through the same pools as the traffic, with the service token.
	g.tenants = tenantapi.NewClient("http://tenant", g.client("tenant"))
	g.verifier = auth.NewVerifier(auth.NewRemoteKeys("http://identity"+auth.JWKSPath, g.client("identity")), d.now)
	if d.Redis != nil {
		g.limits = newRedisLimiter(d.Redis)
	} else {
		g.limits = newMemoryLimiter(d.now)
	}
	return g, nil
}

// client is an HTTP client whose requests to http://<service>/… reach a
// replica of service, with the deployment's service token.
func (g *Service) client(service string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: tokenTransport{next: &forwarder{g: g}, token: g.deps.ServiceToken}}
}

type tokenTransport struct {
	next  http.RoundTripper
	token string
}

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// Run checks the replicas' health until ctx is done.
func (g *Service) Run(ctx context.Context) error {
	done := make(chan struct{})
	n := 0
	for _, p := range g.pools {
		n++
		go func() {
			p.watch(ctx, g.cfg.HealthInterval, g.cfg.HealthTimeout)
			done <- struct{}{}
		}()
	}
	go g.limits.run(ctx)
	for range n {
		<-done
	}
	return nil
}

// Ready reports whether the gateway can check requests: a replica of the
// store directory and one of identity pass their checks.
func (g *Service) Ready(context.Context) error {
	for _, s := range Required {
		if !g.pools[s].healthy() {
			return fmt.Errorf("gateway: no healthy replica of %s", s)
		}
	}
	return nil
}

// Services lists the services the gateway forwards to.
func (g *Service) Services() []string {
	out := make([]string, 0, len(g.pools))
	for s := range g.pools {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
