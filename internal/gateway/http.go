package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// info is what the access log line learns while a request is served.
type info struct {
	service, tenant string
	err             error
}

type infoKey struct{}

func infoFrom(ctx context.Context) *info {
	i, _ := ctx.Value(infoKey{}).(*info)
	return i
}

// Front serves every request of the gateway's process: the platform's
// handler keeps /healthz and /readyz (which asks Ready), the rest is
// forwarded.
func (g *Service) Front(platform http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			platform.ServeHTTP(w, r)
			return
		}
		g.serve(w, r)
	})
}

// ServeHTTP serves r as Front does, but answers /healthz and /readyz
// itself from Ready (a gateway without the platform: tests, benchmarks).
func (g *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		if r.URL.Path == "/readyz" && g.Ready(r.Context()) != nil {
			web.WriteProblem(w, http.StatusServiceUnavailable, "not_ready", "a dependency is not answering")
			return
		}
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	g.serve(w, r)
}

func (g *Service) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := web.RequestID(r.Header.Get("X-Request-Id"))
	r.Header.Set("X-Request-Id", id)
	w.Header().Set("X-Request-Id", id)
	inf := &info{}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, inf))
	sw := web.StatusRecorder(w)
	client := g.clientAddr(r)
	defer func() {
		status := sw.Status()
		if status == 0 {
			status = http.StatusOK
		}
		svc := inf.service
		if svc == "" {
			svc = "none"
		}
		g.m.requests.WithLabelValues(svc, strconv.Itoa(status)).Inc()
		// The platform's access log rule (-log.access…): most lines at
		// debug, errors and slow requests always.
		d := time.Since(start)
		level := g.deps.AccessLog.Level(status, d, sw.Header().Get("Content-Type"))
		if !g.log.Enabled(r.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("service", svc), slog.Int("status", status), slog.Int64("bytes", sw.Bytes()),
			slog.Duration("duration", d), slog.String("remote", client),
		}
		if inf.tenant != "" {
			attrs = append(attrs, slog.String("tenant", inf.tenant))
		}
		if inf.err != nil {
			attrs = append(attrs, slog.String("err", inf.err.Error()))
		}
		g.log.LogAttrs(r.Context(), level, "gateway request", attrs...)
	}()

	if g.cfg.RateIP > 0 && !g.allow(sw, r, "ip", client, g.cfg.RateIP, g.cfg.RateIPBurst) {
		return
	}
	if web.IsInternalPath(r.URL.Path) {
		// Calls between the deployment's processes never come from
		// outside, whatever credentials they carry.
		web.WriteProblem(sw, http.StatusNotFound, "not_found", "no such endpoint")
		return
	}
	svc := g.routes.owner(r.URL.Path)
	if svc == docsOwner {
		svc = g.docs
	}
	proxy := g.proxies[svc]
	if svc == "" || proxy == nil {
		inf.service = svc
		if svc == "" {
			web.WriteProblem(sw, http.StatusNotFound, "not_found", "no such endpoint")
		} else {
			web.WriteProblem(sw, http.StatusServiceUnavailable, "upstream_unavailable", "the service for this request ("+svc+") is not configured at the gateway")
		}
		return
	}
	inf.service = svc
	api := strings.HasPrefix(r.URL.Path, "/api/")
	tenant, ok := g.tenant(sw, r, api)
	if !ok {
		return
	}
	inf.tenant = tenant
	if tenant != "" && g.cfg.RateStore > 0 && !g.allow(sw, r, "store", tenant, g.cfg.RateStore, g.cfg.RateStoreBurst) {
		return
	}
	if api && !g.verify(sw, r, tenant) {
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		// A live stream lasts longer than the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	}
	proxy.ServeHTTP(sw, r)
}

// tenant finds the store of r as the services will: X-Mercato-Tenant, else
// the API key's store, else the host. On /api/ paths a request no store
// answers is refused here (400, 404, 503, as the services would); other
// paths (pages, files) are forwarded whatever the answer, the page
// services answering an unknown host in their own way.
func (g *Service) tenant(w http.ResponseWriter, r *http.Request, api bool) (string, bool) {
	var tenant string
	var err error
	hint, hasHint := r.Header[http.CanonicalHeaderKey(web.TenantHeader)]
	key := apiKey(r)
	switch {
	case hasHint:
		t := strings.ToLower(strings.TrimSpace(strings.Join(hint, ",")))
		if !tenancy.Valid(t) {
			if api {
				web.WriteProblem(w, http.StatusBadRequest, "invalid_tenant", "X-Mercato-Tenant must be a store's ID or subdomain: 1 to 63 of a-z, 0-9 and '-'")
				return "", false
			}
			return "", true
		}
		tenant, err = g.tenants.ResolveTenant(r.Context(), "", t)
	case key != "" && api:
		var res tenantapi.Resolution
		res, err = g.tenants.ResolveAPIKey(r.Context(), key)
		if errors.Is(err, tenantapi.ErrUnknownAPIKey) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mercato"`)
			web.WriteProblem(w, http.StatusUnauthorized, "unauthorized", "the API key is not valid")
			return "", false
		}
		tenant = res.TenantID
	default:
		host, ok := web.RequestHost(r.Host)
		if !ok {
			if api {
				web.WriteProblem(w, http.StatusBadRequest, "invalid_host", "the Host header must name a store: a host name (RFC 1123) or an IP address; or send X-Mercato-Tenant")
				return "", false
			}
			return "", true
		}
		tenant, err = g.tenants.ResolveTenant(r.Context(), host, "")
	}
	switch {
	case err == nil:
		return tenant, true
	case !api:
		return "", true
	case errors.Is(err, web.ErrUnknownTenant):
		web.WriteProblem(w, http.StatusNotFound, "unknown_tenant", "no store answers at this host or tenant ID")
		return "", false
	default:
		if inf := infoFrom(r.Context()); inf != nil {
			inf.err = err
		}
		web.WriteProblem(w, http.StatusServiceUnavailable, "tenant_directory_unavailable", "the store directory is not answering; retry shortly")
		return "", false
	}
}

// apiKey returns the store API key r carries, as the services read it.
func apiKey(r *http.Request) string {
	if k := r.Header.Get(tenantapi.APIKeyHeader); k != "" {
		return k
	}
	if b := web.BearerToken(r); tenantapi.LooksLikeAPIKey(b) {
		return b
	}
	return ""
}

// verify checks the access token of an /api/ request: a bearer token in
// the form of a JWT must be signed with one of identity's keys, unexpired,
// and of the request's store, or the request ends here with 401. Other
// credentials (API keys, the admin and service tokens, session cookies)
// go to the service, which checks them.
func (g *Service) verify(w http.ResponseWriter, r *http.Request, tenant string) bool {
	tok := web.BearerToken(r)
	if !looksLikeJWT(tok) {
		return true
	}
	p, err := g.verifier.Verify(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		w.Header().Set("WWW-Authenticate", `Bearer realm="mercato", error="invalid_token", error_description="the access token expired"`)
		web.WriteProblem(w, http.StatusUnauthorized, "token_expired", "the access token has expired: refresh it (POST /api/v1/auth/refresh) or sign in again")
		return false
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrUnknownKey), err == nil && tenant != "" && p.Tenant != tenant:
		w.Header().Set("WWW-Authenticate", `Bearer realm="mercato", error="invalid_token"`)
		web.WriteProblem(w, http.StatusUnauthorized, "unauthorized", "the credentials are not valid for this store")
		return false
	case err != nil:
		if inf := infoFrom(r.Context()); inf != nil {
			inf.err = err
		}
		web.WriteProblem(w, http.StatusServiceUnavailable, "auth_unavailable", "credentials cannot be checked right now; retry shortly")
		return false
	}
	return true
}

// looksLikeJWT reports whether a bearer token has a JWT's form: three
// base64url parts, the first a JSON object ("eyJ").
func looksLikeJWT(t string) bool {
	return strings.HasPrefix(t, "eyJ") && strings.Count(t, ".") == 2
}

// allow takes a token from the bucket of key; when there is none it
// answers 429 with Retry-After and returns false. A limiter that cannot
// answer (Redis down) lets the request through: the limits protect the
// services, they are not worth an outage of their own.
func (g *Service) allow(w http.ResponseWriter, r *http.Request, scope, key string, rate, burst int) bool {
	ok, retry, err := g.limits.allow(r.Context(), scope+":"+key, rate, burst)
	if err != nil {
		g.log.Warn("rate limiter unavailable", "scope", scope, "err", err)
		return true
	}
	if ok {
		return true
	}
	g.m.rateLimited.WithLabelValues(scope).Inc()
	secs := int((retry + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	detail := "too many requests from this address; retry after " + strconv.Itoa(secs) + " s"
	if scope == "store" {
		detail = "too many requests to this store; retry after " + strconv.Itoa(secs) + " s"
	}
	web.WriteProblem(w, http.StatusTooManyRequests, "rate_limited", detail)
	return false
}
