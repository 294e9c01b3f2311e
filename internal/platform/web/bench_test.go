package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// BenchmarkMiddleware is the platform's cost per request around a trivial
// public operation: tracing off (the default), off with a caller's
// traceparent, and on with every span sampled (exported to a discarding
// in-memory exporter).
func BenchmarkMiddleware(b *testing.B) {
	mount := func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "ping", Method: http.MethodGet, Path: "/api/v1/ping"}),
			func(context.Context, *struct{}) (*struct{ Body string }, error) {
				return &struct{ Body string }{Body: "pong"}, nil
			})
	}
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = on.Shutdown(context.Background()) })
	for _, bc := range []struct {
		name   string
		tp     trace.TracerProvider
		header string
	}{
		{"off", nil, ""},
		{"off-traceparent", nil, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"on", on, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := webtest.New(b, mount, func(d *web.Deps) { d.Tracer = bc.tp })
			h := srv.Web.Handler()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/ping", nil)
			req.Header.Set(web.TenantHeader, "acme")
			if bc.header != "" {
				req.Header.Set("Traceparent", bc.header)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
