// Package web is Mercato's HTTP platform: the server and its timeouts, the
// middleware every request passes (request IDs, trace context and server
// spans, panic recovery, access logs, Prometheus metrics, body limits, tenant
// resolution, idempotency keys), and
// the huma API on which services register their operations under /api/v1,
// with problem+json errors, OpenAPI 3.1 at /openapi.json and docs at /docs.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"github.com/swaggest/swgui/v5emb"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Config is the HTTP server's configuration.
type Config struct {
	Addr              string
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// AdminToken guards admin operations until staff accounts exist.
	AdminToken string
	// AdminTokenGenerated says the admin token was generated (laptop
	// mode), not set by the operator: it then stops working in a store
	// once the store has an owner.
	AdminTokenGenerated bool
	// ServiceToken is what Mercato's processes present to each other. One
	// process generates its own; processes of one deployment share one.
	// It is the only credential /internal/ routes accept.
	ServiceToken string
	// MetricsAddr is where /metrics is served, apart from the public
	// listener; empty serves no metrics.
	MetricsAddr string
	// TrustedProxies are the addresses (CIDR) of proxies in front of the
	// process (the gateway) whose X-Forwarded-For names the client.
	TrustedProxies []string
	// AccessLog says which requests the access log records at which level.
	AccessLog AccessLogConfig
}

// RegisterFlags registers the server flags with defaults for a laptop.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.Addr, prefix+"addr", "127.0.0.1:8080", "address to serve HTTP on")
	fs.Int64Var(&c.MaxBodyBytes, prefix+"http.max-body", 1<<20, "largest request body accepted, in bytes")
	fs.DurationVar(&c.ReadHeaderTimeout, prefix+"http.read-header-timeout", 5*time.Second, "time allowed to read request headers")
	fs.DurationVar(&c.ReadTimeout, prefix+"http.read-timeout", 30*time.Second, "time allowed to read a whole request")
	fs.DurationVar(&c.WriteTimeout, prefix+"http.write-timeout", 60*time.Second, "time allowed to write a response")
	fs.DurationVar(&c.IdleTimeout, prefix+"http.idle-timeout", 120*time.Second, "how long idle keep-alive connections stay open")
	fs.DurationVar(&c.ShutdownTimeout, prefix+"http.shutdown-timeout", 20*time.Second, "how long shutdown waits for requests in flight")
	fs.StringVar(&c.AdminToken, prefix+"admin-token", "", "bearer token for admin endpoints (default: generated once and kept in the data directory; a generated one stops working in a store once the store has an owner)")
	fs.StringVar(&c.ServiceToken, prefix+"service-token", "", "token the processes of one deployment call each other with, the same on each; required with -urls (default: random, for this process alone)")
	fs.StringVar(&c.MetricsAddr, prefix+"metrics.addr", "127.0.0.1:9464", "address to serve Prometheus /metrics on, apart from the public -addr (empty: no metrics)")
	fs.StringSliceVar(&c.TrustedProxies, prefix+"http.trusted-proxies", nil, "addresses (CIDR) of proxies in front of this process, such as the gateway, whose X-Forwarded-For names the client (for the login throttle and the access log)")
	c.AccessLog.RegisterFlags(fs, prefix)
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("web: invalid address %q: %w", c.Addr, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("web: invalid metrics address %q: %w", c.MetricsAddr, err)
		}
	}
	if _, err := ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("web: -http.trusted-proxies: %w", err)
	}
	if err := c.AccessLog.Validate(); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("web: max body %d is below 1 KiB", c.MaxBodyBytes)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return errors.New("web: the admin token must have at least 16 characters")
	}
	if c.ServiceToken != "" && len(c.ServiceToken) < 32 {
		return errors.New("web: the service token must have at least 32 characters")
	}
	if c.ServiceToken != "" && c.ServiceToken == c.AdminToken {
		return errors.New("web: the service token must differ from the admin token")
	}
	return nil
}

// API is the huma API services register their operations on.
type API struct {
	huma.API
	// ownKeys holds "METHOD /path" of operations that handle
	// Idempotency-Key themselves.
	ownKeys *sync.Map
	// bodyLimits holds "METHOD /path" → int64 of operations that take
	// bodies larger than the server's limit (uploads).
	bodyLimits *sync.Map
	mux        *http.ServeMux
	// routes are the documented operations and the patterns handled
	// beside the API, in the order they were registered.
	routesMu sync.Mutex
	routes   []Route
}

// Route is one route registered on the API: a documented operation (its
// OpenAPI path template) or a pattern of Handle, whose Method is empty
// when it takes every method.
type Route struct {
	Method, Path string
}

// Routes lists the routes registered so far, in order. Internal
// operations, which are not documented, are not listed.
func (a *API) Routes() []Route {
	a.routesMu.Lock()
	defer a.routesMu.Unlock()
	return append([]Route(nil), a.routes...)
}

func (a *API) addRoute(method, path string) {
	a.routesMu.Lock()
	a.routes = append(a.routes, Route{Method: method, Path: path})
	a.routesMu.Unlock()
}

// Handle serves pattern (a net/http ServeMux pattern outside /api/) with h,
// beside the API rather than in it: no OpenAPI operation, no tenant and no
// credentials, only the platform's request IDs, logs, metrics and body
// limit. It is for files every store shares, such as the demo images.
func (a *API) Handle(pattern string, h http.Handler) {
	a.mux.Handle(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	a.addRoute(method, strings.TrimLeft(path, " \t"))
}

// OwnsIdempotency tells the platform that the operation at method and path
// (a fixed path, no wildcards) keeps its own Idempotency-Key outcomes, as
// the checkout does with its orders: the platform's layer then passes its
// requests through instead of storing their answers a second time.
func (a *API) OwnsIdempotency(method, path string) {
	a.ownKeys.Store(method+" "+path, true)
}

// LimitBody lets the operation at method and path (a fixed path, no
// wildcards) take bodies of up to max bytes in place of the server's
// -http.max-body, as an upload does. Its body is then also left to the
// operation by the Idempotency-Key layer, which would keep it whole: the
// operation must be idempotent by its own means (OwnsIdempotency).
func (a *API) LimitBody(method, path string, max int64) {
	a.bodyLimits.Store(method+" "+path, max)
	a.OwnsIdempotency(method, path)
}

// Admin marks op as an admin operation: it needs the admin bearer token,
// or a caller of its Roles. The document lists each credential it takes.
func Admin(op huma.Operation) huma.Operation {
	op.Security = []map[string][]string{{AdminToken: {}}}
	if len(op.Tags) == 0 {
		op.Tags = []string{"admin"}
	}
	return op
}

// Public marks op as public: anyone may call it within the tenant. Optional
// names the security schemes whose credentials change its answer (a
// signed-in customer's own orders): the document lists them beside
// anonymous access, so that clients send them. An operation under
// /internal/ is never public: mark it Internal.
func Public(op huma.Operation, optional ...string) huma.Operation {
	if IsInternalPath(op.Path) {
		panic("web: " + op.Path + " is an internal route: register it with web.Internal")
	}
	op.Security = []map[string][]string{}
	if len(optional) > 0 {
		op.Security = append(op.Security, map[string][]string{})
		for _, s := range optional {
			op.Security = append(op.Security, map[string][]string{s: {}})
		}
	}
	return op
}

// InternalPrefix starts the paths of operations that only the deployment's
// own processes may call: the platform answers 401 to any request under it
// without the service token, whatever is registered there.
const InternalPrefix = "/internal/"

// IsInternalPath reports whether path is under InternalPrefix.
func IsInternalPath(path string) bool {
	return path == strings.TrimSuffix(InternalPrefix, "/") || strings.HasPrefix(path, InternalPrefix)
}

// Internal marks op, whose path must be under /internal/, as a call between
// Mercato's processes: the service token is its only credential, and it
// stays out of the OpenAPI document.
func Internal(op huma.Operation) huma.Operation {
	if !IsInternalPath(op.Path) {
		panic("web: internal operation " + op.Path + " is not under " + InternalPrefix)
	}
	op.Security = []map[string][]string{}
	op.Hidden = true
	if len(op.Tags) == 0 {
		op.Tags = []string{"internal"}
	}
	return op
}

// TenantResolver maps a request's host name or explicit tenant ID to a tenant.
type TenantResolver interface {
	// ResolveTenant returns the tenant ID for id (from the X-Mercato-Tenant
	// header, may be empty) or else host. It returns ErrUnknownTenant when
	// neither names a tenant.
	ResolveTenant(ctx context.Context, host, id string) (string, error)
}

// ErrUnknownTenant is returned by resolvers for hosts and IDs of no tenant.
// It is tenancy.ErrUnknown, so a resolver need not import this package to
// return it.
var ErrUnknownTenant = tenancy.ErrUnknown

// OriginPolicy is implemented by a TenantResolver that knows the origins
// each store lets browsers call its API from (CORS). Without one the
// platform answers no cross-origin request.
type OriginPolicy interface {
	// AllowedOrigins returns the origins ("https://shop.example") tenant
	// allows; none means no cross-origin requests.
	AllowedOrigins(ctx context.Context, tenant string) ([]string, error)
}

// Deps are what the server needs besides its Config.
type Deps struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	Tenants  TenantResolver
	// Idempotency stores Idempotency-Key outcomes; nil disables the layer.
	Idempotency *IdempotencyStore
	// Version is shown in the OpenAPI document.
	Version string
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func(ctx context.Context) error
	// Tracer records a server span per request. Nil records none; an
	// incoming traceparent still reaches the events a request writes.
	Tracer trace.TracerProvider
	// Auth finds the principal of each /api/ request; nil accepts the
	// admin token only.
	Auth Authenticator
	// APIKeys, when set, lets an API key name the store of a request that
	// has no X-Mercato-Tenant header: the key's store, whatever the host.
	APIKeys APIKeyResolver
}

// Server is the HTTP edge of a Mercato process.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	api     *API
	handler http.Handler
	srv     *http.Server
	deps    Deps
	ready   chan struct{}
	closing chan struct{}
	// tracer is nil when tracing is off.
	tracer trace.Tracer
	// trusted are the proxies whose X-Forwarded-For is believed.
	trusted []netip.Prefix

	warnMu   sync.Mutex
	warnings []string
}

// New builds the server: platform routes, the API and the middleware chain.
func New(cfg Config, deps Deps) *Server {
	installProblemErrors()
	s := &Server{cfg: cfg, log: deps.Log, mux: http.NewServeMux(), deps: deps, ready: make(chan struct{}), closing: make(chan struct{})}
	s.trusted, _ = ParseProxies(cfg.TrustedProxies) // checked by Validate
	if deps.Tracer != nil {
		s.tracer = deps.Tracer.Tracer("github.com/mercato/mercato/internal/platform/web")
	}

	hc := huma.DefaultConfig("Mercato API", deps.Version)
	hc.Info.Description = "The Mercato commerce API. Every request belongs to a store (tenant), chosen by " +
		"the host name (the store's subdomain or custom domain) or by the X-Mercato-Tenant header with the " +
		"store's ID. Who is calling comes from the Authorization header (the admin token, a staff or customer " +
		"access token, or a store API key) or the X-Mercato-Api-Key header; each operation lists what it " +
		"accepts. Mutating requests accept an Idempotency-Key header. Errors are application/problem+json " +
		"(RFC 9457) with a stable code; every operation lists the codes it can answer."
	hc.Info.License = License
	hc.Info.Contact = &huma.Contact{Name: "Mercato", URL: "https://github.com/mercato/mercato"}
	// Relative: every store answers at its own host, so the document is
	// valid for whichever host serves it.
	hc.Servers = []*huma.Server{{URL: "/", Description: "The host this document was read from: the store's own host name."}}
	hc.OpenAPIPath = "" // served by serveDocument, which cleans what huma renders
	hc.DocsPath = ""    // the stock docs page loads scripts from a CDN; /docs below embeds Swagger UI
	hc.SchemasPath = "" // huma's answers 200 null for an unknown name; served below
	hc.Components.SecuritySchemes = securitySchemes()
	hc.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	hc.CreateHooks = nil // no $schema links in bodies: keep responses small
	hc.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", SchemaName)
	hc.OnAddOperation = append(hc.OnAddOperation, checkPaging, noBodyDeadline)
	api := humago.New(s.mux, hc)
	api.UseMiddleware(s.authorize(api))
	api.UseMiddleware(refuseBadText(api))
	s.api = &API{API: api, ownKeys: &sync.Map{}, bodyLimits: &sync.Map{}, mux: s.mux}
	api.OpenAPI().OnAddOperation = append(api.OpenAPI().OnAddOperation, s.api.document)
	s.serveDocument()

	s.mux.Handle("GET /docs/", v5emb.New("Mercato API", "/openapi.json", "/docs/"))
	s.mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /schemas/{schema}", s.schema)
	s.handler = s.chain(s.mux)
	s.srv = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(deps.Log.Handler(), slog.LevelWarn),
	}
	return s
}

// SchemaName names a Go type in the OpenAPI document. Every service
// registers on one API, so a type of a service contract package
// (internal/<svc>/<svc>api) is named after its service — inventoryapi.Audit
// is InventoryAudit, catalogapi.Product CatalogProduct — and two services'
// types of one name cannot collide. Other types keep huma's default name.
func SchemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	svc, ok := strings.CutSuffix(path.Base(t.PkgPath()), "api")
	if !ok || svc == "" || t.Name() == "" || strings.ContainsAny(t.Name(), "[]") {
		return name
	}
	prefix := strings.ToUpper(svc[:1]) + svc[1:]
	if strings.HasPrefix(name, prefix) {
		return name
	}
	return prefix + name
}

// API is where services register their operations.
func (s *Server) API() *API { return s.api }

// Mux is the router, for routes outside the API (web pages).
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Handler is the whole middleware chain around the router; an in-process
// transport serves requests through it without a socket.
func (s *Server) Handler() http.Handler { return s.handler }

// SetFront makes the server answer every request with front(Handler()):
// a process whose edge is not the platform's API (the gateway) serves
// through it. Call it before Serve.
func (s *Server) SetFront(front func(platform http.Handler) http.Handler) {
	s.srv.Handler = front(s.handler)
}

// MetricsHandler serves /metrics from the Prometheus registry (404 without
// one). It is mounted on the metrics listener (-metrics.addr), never on the
// public one: the figures of every store are not for the stores' visitors.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	if s.deps.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

// ServeMetrics serves MetricsHandler on ln until ctx is done.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.MetricsHandler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// Warn adds a line to /readyz's answer: something about this process an
// operator must know (a test-only part enabled, say) that does not make it
// unready.
func (s *Server) Warn(msg string) {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	s.warnings = append(s.warnings, msg)
}

// NotReadyError is a readiness failure whose Reason /readyz may show as it
// is (Deps.Ready returns it): words for an operator, free of addresses and
// secrets. Any other error shows as "a dependency is not answering".
type NotReadyError struct{ Reason string }

func (e *NotReadyError) Error() string { return e.Reason }

// MarkReady makes /readyz answer 200 (once the services have started).
func (s *Server) MarkReady() { close(s.ready) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.closing:
		WriteProblem(w, http.StatusServiceUnavailable, "shutting_down", "the process is shutting down")
		return
	case <-s.ready:
	default:
		WriteProblem(w, http.StatusServiceUnavailable, "starting", "the process is starting")
		return
	}
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			detail := "a dependency is not answering"
			var nr *NotReadyError
			if errors.As(err, &nr) {
				detail = nr.Reason
			}
			WriteProblem(w, http.StatusServiceUnavailable, "not_ready", detail)
			return
		}
	}
	// "ready" first, then one "warning: …" line per warning (see Warn).
	var b strings.Builder
	b.WriteString("ready\n")
	s.warnMu.Lock()
	for _, msg := range s.warnings {
		b.WriteString("warning: " + msg + "\n")
	}
	s.warnMu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(b.String()))
}

// schemaRef matches the references between schemas of the OpenAPI document.
var schemaRef = regexp.MustCompile(`"#/components/schemas/([^"]+)"`)

// schema serves one schema of the OpenAPI document at /schemas/{name}.json
// (editors fetch them), its references rewritten to those URLs, as huma
// would; an unknown name is a 404.
func (s *Server) schema(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("schema"), ".json")
	sch, ok := s.api.OpenAPI().Components.Schemas.Map()[name]
	if !ok {
		WriteProblem(w, http.StatusNotFound, "not_found", "no such schema")
		return
	}
	b, err := json.Marshal(sch)
	if err != nil {
		WriteProblem(w, http.StatusInternalServerError, "internal", "internal error; see the server log with this request's ID")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(schemaRef.ReplaceAll(b, []byte(`"/schemas/$1.json"`)))
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// OnShutdown registers f to be called when Shutdown starts, before the
// wait for requests in flight: for responses that never end by themselves
// (live-update streams), which f ends.
func (s *Server) OnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// Shutdown stops reporting ready, then drains requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("drain http: %w", err)
	}
	return nil
}

func needsAdmin(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req[AdminToken]; ok {
			return true
		}
	}
	return false
}

// noBodyDeadline stops huma from setting a read deadline of its own on the
// connection (its BodyReadTimeout, 5 s by default) when it reads a body.
// The platform has read the body by then (refuseBadText), so net/http is
// already reading ahead on the connection in the background: a deadline
// set then times that read out while the handler runs, and net/http takes
// the timeout for the client gone. It cancels the connection's context,
// so the request in flight fails with context.Canceled (499) after 5 s,
// and every later request on the same keep-alive connection, whose context
// derives from it, starts cancelled and fails at once (503
// tenant_directory_unavailable, 499). The whole request, body included,
// stays bounded by the server's -http.read-timeout.
func noBodyDeadline(_ *huma.OpenAPI, op *huma.Operation) {
	op.BodyReadTimeout = -1
}
