package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TenantHeader is tenancy.Header, the header that selects a tenant by ID
// for API clients that do not use the store's host name.
const TenantHeader = tenancy.Header

// reqInfo is what the outer middleware learns about a request from the inner
// layers: the matched route and the cause of a 5xx.
type reqInfo struct {
	id     string
	mu     sync.Mutex
	route  string
	tenant string
	err    error
}

func (ri *reqInfo) setErr(err error) {
	ri.mu.Lock()
	ri.err = err
	ri.mu.Unlock()
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(infoKey{}).(*reqInfo)
	return ri
}

// statusWriter records the status and size of a response and, when copy is
// set, keeps the body too (the idempotency layer stores it).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	copy   *bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if w.copy != nil {
		w.copy.Write(b[:n])
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines (SSE).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// StatusRecorder wraps w to record the status and size of the answer, for
// an access log outside the platform's middleware (the gateway's).
func StatusRecorder(w http.ResponseWriter) *Recorded {
	return &Recorded{statusWriter{ResponseWriter: w}}
}

// Recorded is a response writer that records what was answered.
type Recorded struct{ statusWriter }

// Status is the status answered so far: 200 once a body was written
// without one, 0 before anything.
func (r *Recorded) Status() int { return r.status }

// Bytes is the size of the body written so far.
func (r *Recorded) Bytes() int64 { return r.bytes }

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercato_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mercato_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mercato_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

// chain wraps the router in the platform middleware, outermost first.
func (s *Server) chain(mux *http.ServeMux) http.Handler {
	// The innermost layer sees the very *http.Request the mux fills in, so
	// it is the one that can read the matched pattern; deferred, so that a
	// handler's panic is still put down to its route.
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if ri := infoFrom(r.Context()); ri != nil {
				ri.mu.Lock()
				ri.route = r.Pattern
				ri.mu.Unlock()
			}
		}()
		mux.ServeHTTP(&unmatchedWriter{ResponseWriter: w, r: r}, r)
	})
	if s.deps.Idempotency != nil {
		h = s.deps.Idempotency.middleware(h, s.cfg.MaxBodyBytes, s.log, s.api.ownKeys)
	}
	// Credentials are checked before a stored outcome is replayed.
	h = s.authenticate(h)
	// CORS headers go on every answer to an allowed origin, refusals
	// included; preflights are answered before credentials are looked at.
	h = s.cors(h)
	h = s.tenant(h)
	h = s.internalOnly(h)
	h = s.limitBody(h)
	var m *metrics
	if s.deps.Registry != nil {
		m = newMetrics(s.deps.Registry)
	}
	return s.observe(h, m)
}

// observe assigns the request ID, recovers panics, and records the access
// log line and metrics of every request. It carries the W3C trace context of
// the request into its context (events written while serving it record it),
// and with a tracer records the server span of the request.
func (s *Server) observe(next http.Handler, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = s.fromProxy(r)
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ri := &reqInfo{id: id}
		ctx := context.WithValue(r.Context(), infoKey{}, ri)
		// Only parse when there is something to parse: the common request
		// without a traceparent costs one header lookup.
		if r.Header.Get("Traceparent") != "" {
			ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		var span trace.Span
		if s.tracer != nil {
			ctx, span = s.startSpan(ctx, r, id)
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		if m != nil {
			m.inflight.Inc()
			defer m.inflight.Dec()
		}
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				ri.setErr(errors.New("panic"))
				s.log.Error("panic serving request", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					WriteProblem(sw, http.StatusInternalServerError, "internal", "internal error; see the server log with this request's ID")
				}
			}
			ri.mu.Lock()
			route, tenant, err := ri.route, ri.tenant, ri.err
			ri.mu.Unlock()
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if span != nil {
				endSpan(span, r.Method, ri, status, sw.bytes)
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			d := time.Since(start)
			if m != nil {
				m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
				m.duration.WithLabelValues(route, r.Method).Observe(d.Seconds())
			}
			// Most requests are logged at debug (see AccessLogConfig):
			// skip building a line nobody reads.
			level := s.cfg.AccessLog.Level(status, d, contentType(sw))
			if !s.log.Enabled(ctx, level) {
				return
			}
			attrs := []slog.Attr{
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", status), slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", d), slog.String("remote", r.RemoteAddr),
			}
			if tenant != "" {
				attrs = append(attrs, slog.String("tenant", tenant))
			}
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
			}
			if err != nil {
				attrs = append(attrs, slog.String("err", err.Error()))
			}
			s.log.LogAttrs(ctx, level, "http request", attrs...)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// startSpan starts the server span of r, a child of the caller's trace when
// r carried one. Its name is the method until the route is known.
func (s *Server) startSpan(ctx context.Context, r *http.Request, id string) (context.Context, trace.Span) {
	method, known := spanMethod(r.Method)
	name := method
	if !known {
		name = "HTTP"
	}
	ctx, span := s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	if !span.IsRecording() {
		return ctx, span
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPath(r.URL.Path),
		semconv.URLScheme(scheme),
		semconv.ServerAddress(hostOnly(r.Host)),
		semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)),
		attribute.String("mercato.request_id", id),
	}
	if !known {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(r.Method))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	span.SetAttributes(attrs...)
	return ctx, span
}

// endSpan names the server span after its route, records the outcome and
// ends it. Only 5xx marks a server span as failed (4xx is the caller's).
func endSpan(span trace.Span, method string, ri *reqInfo, status int, bytes int64) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	ri.mu.Lock()
	pattern, tenant, err := ri.route, ri.tenant, ri.err
	ri.mu.Unlock()
	m, known := spanMethod(method)
	if !known {
		m = "HTTP"
	}
	// One SetAttributes call: each call costs a copy and a dedupe pass.
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, semconv.HTTPResponseStatusCode(status), semconv.HTTPResponseBodySize(int(bytes)))
	if route := routePath(pattern); route != "" {
		span.SetName(m + " " + route)
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if tenant != "" {
		attrs = append(attrs, attribute.String("mercato.tenant", tenant))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		if err != nil {
			span.RecordError(err)
		}
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// spanMethod returns the method for spans: known methods as they are, any
// other as _OTHER (semantic conventions: bounded cardinality).
func spanMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m, true
	}
	return "_OTHER", false
}

// routePath is the path template of a ServeMux pattern ("GET /api/v1/x/{id}"
// → "/api/v1/x/{id}"): http.route has neither method nor host.
func routePath(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimLeft(p, " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	} else if i < 0 {
		return ""
	}
	return pattern
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// RequestID returns incoming when it is a sane request ID (1 to 64 of
// letters, digits, '-' and '_'), else a new random one: the rule of the
// platform's X-Request-Id, for the gateway that forwards it.
func RequestID(incoming string) string {
	if validRequestID(incoming) {
		return incoming
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// limitBody caps request bodies. The cap sits one byte above the limit so
// that huma, reading up to the limit itself, answers 413 with a problem body.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.cfg.MaxBodyBytes
		if v, ok := s.api.bodyLimits.Load(r.Method + " " + r.URL.Path); ok {
			limit = v.(int64)
		}
		if r.ContentLength > limit {
			WriteProblem(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit+1)
		}
		next.ServeHTTP(w, r)
	})
}

// internalOnly lets only the deployment's service token through to
// /internal/ routes, whatever is registered there: they answer questions
// (which store a host or API key belongs to) that are not for the public.
func (s *Server) internalOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsInternalPath(r.URL.Path) && !equal(BearerToken(r), s.cfg.ServiceToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mercato-internal"`)
			WriteProblem(w, http.StatusUnauthorized, "unauthorized", "internal routes answer only the deployment's own services")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tenant resolves the tenant of every /api/ request: from the
// X-Mercato-Tenant header (a store's ID or subdomain) when present, else
// from the API key the request carries (the key's store), else from the
// host name. Hints that cannot name a store (an empty or malformed host, a
// malformed tenant ID) are 400 without asking the directory; unknown stores
// are 404.
func (s *Server) tenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		if s.deps.Tenants == nil {
			WriteProblem(w, http.StatusServiceUnavailable, "no_tenant_directory", "this process cannot resolve tenants")
			return
		}
		var tenant string
		var err error
		id, hasID := r.Header[http.CanonicalHeaderKey(TenantHeader)]
		key := requestAPIKey(r)
		switch {
		case hasID:
			t := strings.ToLower(strings.TrimSpace(strings.Join(id, ",")))
			if !tenancy.Valid(t) {
				WriteProblem(w, http.StatusBadRequest, "invalid_tenant", "X-Mercato-Tenant must be a store's ID or subdomain: 1 to 63 of a-z, 0-9 and '-'")
				return
			}
			tenant, err = s.deps.Tenants.ResolveTenant(r.Context(), "", t)
		case key != "" && s.deps.APIKeys != nil:
			tenant, _, _, err = s.deps.APIKeys.ResolveAPIKey(r, key)
			if errors.Is(err, ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="mercato"`)
				WriteProblem(w, http.StatusUnauthorized, "unauthorized", "the API key is not valid")
				return
			}
		default:
			host, ok := RequestHost(r.Host)
			if !ok {
				WriteProblem(w, http.StatusBadRequest, "invalid_host", "the Host header must name a store: a host name (RFC 1123) or an IP address; or send X-Mercato-Tenant")
				return
			}
			tenant, err = s.deps.Tenants.ResolveTenant(r.Context(), host, "")
		}
		switch {
		case errors.Is(err, ErrUnknownTenant):
			WriteProblem(w, http.StatusNotFound, "unknown_tenant", "no store answers at this host or tenant ID")
			return
		case err != nil:
			if ri := infoFrom(r.Context()); ri != nil {
				ri.setErr(err)
			}
			WriteProblem(w, http.StatusServiceUnavailable, "tenant_directory_unavailable", "the store directory is not answering; retry shortly")
			return
		}
		if ri := infoFrom(r.Context()); ri != nil {
			ri.mu.Lock()
			ri.tenant = tenant
			ri.mu.Unlock()
		}
		next.ServeHTTP(w, r.WithContext(tenancy.WithID(r.Context(), tenant)))
	})
}

// requestAPIKey returns the store API key r carries (X-Mercato-Api-Key, or
// Authorization: Bearer pk_…/sk_…), or "".
func requestAPIKey(r *http.Request) string {
	if k := r.Header.Get(APIKeyHeader); k != "" {
		return k
	}
	if b := BearerToken(r); looksLikeAPIKey(b) {
		return b
	}
	return ""
}

// RequestHost returns the host name of a Host header (port and a final dot
// removed, lowercase, an IP address in its canonical form), and whether it
// is one: an IP address, or a host name of at most 253 characters in labels
// of 1 to 63 letters, digits and '-', not starting or ending with '-' (RFC
// 1123).
func RequestHost(hostport string) (string, bool) {
	h := hostport
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	} else if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), true
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h, ValidHostname(h)
}

// ValidHostname reports whether h is a lowercase host name by RFC 1123: at
// most 253 characters, in dot-separated labels of 1 to 63 of a-z, 0-9 and
// '-', none starting or ending with '-'.
func ValidHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// corsHeaders are the request headers a cross-origin caller may send.
const corsHeaders = "Accept, Accept-Language, Authorization, Content-Type, Idempotency-Key, Traceparent, Tracestate, X-Mercato-Api-Key, X-Mercato-Tenant, X-Request-Id"

// corsExposed are the response headers a cross-origin caller may read.
const corsExposed = "Idempotent-Replayed, Location, Retry-After, WWW-Authenticate, X-Request-Id"

// corsMethods are the methods a preflight may ask for.
var corsMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// cors answers browsers calling a store's API from another origin: only
// the origins the store allows (a store setting; none by default) get
// Access-Control-* headers, on preflights (OPTIONS, answered here with 204)
// and on every answer. Credentials travel in headers (bearer tokens, API
// keys), never in cookies: Access-Control-Allow-Credentials is not sent.
func (s *Server) cors(next http.Handler) http.Handler {
	policy, _ := s.deps.Tenants.(OriginPolicy)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		tenant, terr := tenancy.ID(r.Context())
		if origin == "" || terr != nil || !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		h.Add("Vary", "Origin")
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		allowed := false
		if policy != nil {
			origins, err := policy.AllowedOrigins(r.Context(), tenant)
			if err != nil && preflight {
				if ri := infoFrom(r.Context()); ri != nil {
					ri.setErr(err)
				}
				WriteProblem(w, http.StatusServiceUnavailable, "tenant_directory_unavailable", "the store directory is not answering; retry shortly")
				return
			}
			allowed = err == nil && slices.Contains(origins, origin)
		}
		if preflight {
			method := r.Header.Get("Access-Control-Request-Method")
			if !allowed || !slices.Contains(corsMethods, method) {
				WriteProblem(w, http.StatusForbidden, "cors_not_allowed", "this store does not allow this cross-origin request; its owner lists allowed origins in the store settings (cors_origins)")
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", strings.Join(corsMethods, ", "))
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		next.ServeHTTP(w, r)
	})
}
