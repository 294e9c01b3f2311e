// Package telemetry builds a process's OpenTelemetry tracing: a tracer
// provider that samples and exports spans over OTLP/HTTP when an endpoint is
// configured, and nothing at all when none is.
//
// Nothing here is global: no otel.SetTracerProvider, no global propagator.
// The provider is handed to whoever makes spans (web.Deps, the outbox relay
// and consumers), and every one of them takes a nil provider to mean "record
// no spans". The W3C traceparent of an incoming request is carried into the
// events it causes either way (see outbox.TraceParent).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracesPath is the OTLP/HTTP path of traces, added to an endpoint URL that
// has no path of its own.
const TracesPath = "/v1/traces"

// Config is the tracing configuration.
type Config struct {
	// Endpoint is the OTLP/HTTP collector URL; empty means no spans.
	Endpoint string
	// SampleRatio is the fraction of new traces recorded, 0 to 1. A request
	// that arrives with a traceparent follows its caller's decision.
	SampleRatio float64
	// ServiceName is the service.name of the spans; empty means the default
	// the caller passes to New (mercato, or mercato-<services>).
	ServiceName string
}

// RegisterFlags registers the tracing flags.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.Endpoint, prefix+"otel.endpoint", "", "OTLP/HTTP collector to export traces to, e.g. http://otel-collector:4318 ("+TracesPath+" added when no path); empty: no spans")
	fs.Float64Var(&c.SampleRatio, prefix+"otel.sample-ratio", 1, "fraction of new traces recorded (0 to 1); a request with a traceparent follows its caller's choice")
	fs.StringVar(&c.ServiceName, prefix+"otel.service-name", "", "service.name of the spans (default: mercato, or mercato-<services> when -services is not all)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		if _, err := tracesURL(c.Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 || c.SampleRatio != c.SampleRatio {
		errs = append(errs, fmt.Errorf("-otel.sample-ratio must be between 0 and 1, got %v", c.SampleRatio))
	}
	return errors.Join(errs...)
}

// tracesURL turns the configured endpoint into the URL spans are posted to.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("-otel.endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("-otel.endpoint must be an http:// or https:// URL with a host, got %q", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = TracesPath
	}
	return u.String(), nil
}

// ServiceName is the default service.name of a process running services.
func ServiceName(services []string) string {
	if len(services) == 0 || (len(services) == 1 && services[0] == "all") {
		return "mercato"
	}
	return "mercato-" + strings.Join(services, "-")
}

// Resource names the process in its spans.
type Resource struct {
	// Service is the default service.name, used when Config.ServiceName is empty.
	Service string
	// Version is service.version.
	Version string
}

// Tracing is a process's tracer provider. Its zero value (and the result of
// New without an endpoint) records nothing.
type Tracing struct {
	sdk *sdktrace.TracerProvider
}

// New builds the tracing cfg asks for. Without an endpoint it returns a
// Tracing whose Provider is nil: nothing is sampled, recorded or exported.
// Export problems are logged to log (once per run of failures), not to
// OpenTelemetry's global error handler.
func New(ctx context.Context, cfg Config, res Resource, log *slog.Logger) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return &Tracing{}, nil
	}
	endpoint, err := tracesURL(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	// The client retries on its own; the exporter never blocks a request:
	// spans queue in the batch processor and are dropped when it is full.
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithTimeout(10*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("create otlp trace exporter: %w", err)
	}
	return NewWithExporter(cfg, res, &loggingExporter{SpanExporter: exp, log: log, endpoint: redact(endpoint)}), nil
}

// NewWithExporter builds tracing that batches spans to exp, with cfg's
// sampling and service name; tests pass an in-memory exporter.
func NewWithExporter(cfg Config, res Resource, exp sdktrace.SpanExporter) *Tracing {
	name := cfg.ServiceName
	if name == "" {
		name = res.Service
	}
	if name == "" {
		name = "mercato"
	}
	attrs := resource.NewSchemaless(semconv.ServiceName(name), semconv.ServiceVersion(res.Version))
	r, err := resource.Merge(resource.Default(), attrs)
	if err != nil {
		// Only conflicting schema URLs make Merge fail; ours has none.
		r = attrs
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(r),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Tracing{sdk: tp}
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Provider returns the tracer provider, or nil when tracing is off: every
// Mercato user of a provider reads nil as "record no spans", which keeps the
// cost of the off state at nothing.
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.Enabled() {
		return nil
	}
	return t.sdk
}

// Shutdown exports the spans still queued, within ctx, and stops tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// loggingExporter logs export failures with the process's logger: the first
// of a run of failures as a warning, the recovery as info, so an absent
// collector costs one log line, not one per batch. It reports success to the
// batch processor, which would otherwise hand the error to OpenTelemetry's
// global error handler (the standard logger); the spans of a failed batch
// are lost either way.
type loggingExporter struct {
	sdktrace.SpanExporter
	log      *slog.Logger
	endpoint string

	mu      sync.Mutex
	failing bool
}

func (e *loggingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case err != nil && !e.failing:
		e.failing = true
		e.log.Warn("trace export", "endpoint", e.endpoint, "spans", len(spans), "err", err)
	case err == nil && e.failing:
		e.failing = false
		e.log.Info("trace export recovered", "endpoint", e.endpoint)
	}
	return nil
}

// redact drops user information from a URL for logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
