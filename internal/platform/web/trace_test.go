package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

const callerTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// traced is a server with a few outcomes to trace, its access log as JSON
// lines in log, and its spans in exp (none when tracing is off).
func traced(t *testing.T, on bool) (srv *webtest.Server, log *bytes.Buffer, exp *tracetest.InMemoryExporter) {
	log = new(bytes.Buffer)
	exp = tracetest.NewInMemoryExporter()
	var tp trace.TracerProvider
	if on {
		sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		t.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	srv = webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "get-thing", Method: http.MethodGet, Path: "/api/v1/things/{name}"}),
			func(ctx context.Context, in *struct {
				Name string `path:"name"`
			}) (*struct{ Body string }, error) {
				switch in.Name {
				case "missing":
					return nil, web.Error(http.StatusNotFound, "thing_not_found", "no such thing")
				case "broken":
					return nil, io.ErrUnexpectedEOF
				case "boom":
					panic("boom")
				}
				return &struct{ Body string }{Body: in.Name}, nil
			})
	}, func(d *web.Deps) {
		d.Log = slog.New(slog.NewJSONHandler(log, nil))
		d.Tracer = tp
	})
	return srv, log, exp
}

// serve runs one request through the whole middleware chain, synchronously:
// the access log line and the span are written when it returns.
func serve(srv *webtest.Server, method, path string, hdr map[string]string) int {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set(web.TenantHeader, "acme")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	srv.Web.Handler().ServeHTTP(rec, req)
	return rec.Code
}

// accessLog returns the last "http request" line of log.
func accessLog(t *testing.T, log *bytes.Buffer) map[string]any {
	t.Helper()
	var last map[string]any
	for line := range bytes.Lines(log.Bytes()) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "http request" {
			last = m
		}
	}
	if last == nil {
		t.Fatalf("no access log line in %s", log)
	}
	return last
}

func TestServerSpans(t *testing.T) {
	srv, log, exp := traced(t, true)
	for _, tc := range []struct {
		name, method, path string
		wantCode           int
		wantSpan           string
		wantRoute          string
		wantError          bool
	}{
		{"ok", http.MethodGet, "/api/v1/things/widget", 200, "GET /api/v1/things/{name}", "/api/v1/things/{name}", false},
		{"not found is the caller's error", http.MethodGet, "/api/v1/things/missing", 404, "GET /api/v1/things/{name}", "/api/v1/things/{name}", false},
		{"internal error", http.MethodGet, "/api/v1/things/broken", 500, "GET /api/v1/things/{name}", "/api/v1/things/{name}", true},
		{"panic", http.MethodGet, "/api/v1/things/boom", 500, "GET /api/v1/things/{name}", "/api/v1/things/{name}", true},
		{"no route", http.MethodGet, "/nowhere", 404, "GET", "", false},
		{"unknown method", "BREW", "/api/v1/things/widget", 405, "HTTP", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp.Reset()
			log.Reset()
			if code := serve(srv, tc.method, tc.path, map[string]string{"Traceparent": callerTP, "X-Request-Id": "req-" + tc.name[:2]}); code != tc.wantCode {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, code, tc.wantCode)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("spans = %d, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != tc.wantSpan || s.SpanKind != trace.SpanKindServer {
				t.Errorf("span = %s %q, want server %q", s.SpanKind, s.Name, tc.wantSpan)
			}
			if got := s.Parent.SpanID().String(); got != "00f067aa0ba902b7" || !s.Parent.IsRemote() {
				t.Errorf("parent = %s (remote %v), want the caller's span", got, s.Parent.IsRemote())
			}
			attrs := attribute.NewSet(s.Attributes...)
			route, _ := attrs.Value("http.route")
			status, _ := attrs.Value("http.response.status_code")
			rid, _ := attrs.Value("mercato.request_id")
			if route.AsString() != tc.wantRoute || status.AsInt64() != int64(tc.wantCode) || rid.AsString() != "req-"+tc.name[:2] {
				t.Errorf("http.route %q, status %d, request ID %q; want %q, %d, %q", route.AsString(), status.AsInt64(), rid.AsString(), tc.wantRoute, tc.wantCode, "req-"+tc.name[:2])
			}
			if (s.Status.Code == codes.Error) != tc.wantError {
				t.Errorf("span status = %v, want an error: %v", s.Status, tc.wantError)
			}
			if line := accessLog(t, log); line["trace_id"] != s.SpanContext.TraceID().String() {
				t.Errorf("access log trace_id = %v, want %s", line["trace_id"], s.SpanContext.TraceID())
			}
		})
	}
}

// TestTracingOffAccessLog: without a tracer no span is recorded; the access
// log names the caller's trace when the request brought one.
func TestTracingOffAccessLog(t *testing.T) {
	srv, log, exp := traced(t, false)
	for _, tc := range []struct {
		name, header string
		want         any
	}{
		{"caller's trace", callerTP, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"no trace", "", nil},
		{"malformed", "00-xyz-01", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log.Reset()
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Traceparent"] = tc.header
			}
			if code := serve(srv, http.MethodGet, "/api/v1/things/widget", hdr); code != 200 {
				t.Fatalf("status %d", code)
			}
			if got := accessLog(t, log)["trace_id"]; got != tc.want {
				t.Errorf("access log trace_id = %v, want %v", got, tc.want)
			}
		})
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans recorded with tracing off", n)
	}
}
