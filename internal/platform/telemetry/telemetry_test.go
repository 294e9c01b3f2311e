package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mercato/mercato/internal/platform/telemetry"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults: off", nil, ""},
		{"endpoint", []string{"--otel.endpoint=http://127.0.0.1:4318"}, ""},
		{"endpoint with path", []string{"--otel.endpoint=https://collector.example/otlp/v1/traces"}, ""},
		{"no scheme", []string{"--otel.endpoint=collector:4318"}, "must be an http:// or https:// URL"},
		{"grpc scheme", []string{"--otel.endpoint=grpc://collector:4317"}, "must be an http:// or https:// URL"},
		{"no host", []string{"--otel.endpoint=http://"}, "must be an http:// or https:// URL"},
		{"ratio above 1", []string{"--otel.sample-ratio=1.5"}, "between 0 and 1"},
		{"negative ratio", []string{"--otel.sample-ratio=-0.1"}, "between 0 and 1"},
		{"ratio 0", []string{"--otel.endpoint=http://127.0.0.1:4318", "--otel.sample-ratio=0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c telemetry.Config
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			c.RegisterFlags(fs, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	nan := telemetry.Config{SampleRatio: math.NaN()}
	if nan.Validate() == nil {
		t.Error("a NaN sample ratio passed validation")
	}
}

func TestServiceName(t *testing.T) {
	for _, tc := range []struct {
		services []string
		want     string
	}{
		{nil, "mercato"},
		{[]string{"all"}, "mercato"},
		{[]string{"catalog"}, "mercato-catalog"},
		{[]string{"order", "payment"}, "mercato-order-payment"},
	} {
		if got := telemetry.ServiceName(tc.services); got != tc.want {
			t.Errorf("ServiceName(%q) = %q, want %q", tc.services, got, tc.want)
		}
	}
}

func TestOffWithoutEndpoint(t *testing.T) {
	tr, err := telemetry.New(t.Context(), telemetry.Config{SampleRatio: 1}, telemetry.Resource{Service: "mercato"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() || tr.Provider() != nil {
		t.Errorf("without an endpoint: Enabled() = %v, Provider() = %v; want off and nil", tr.Enabled(), tr.Provider())
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
}

// collector is an OTLP/HTTP trace receiver on 127.0.0.1.
type collector struct {
	*httptest.Server
	reqs chan *collectortrace.ExportTraceServiceRequest
	errs chan string
}

func newCollector(t *testing.T) *collector {
	c := &collector{reqs: make(chan *collectortrace.ExportTraceServiceRequest, 16), errs: make(chan string, 16)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		switch {
		case err != nil:
			c.errs <- "read body: " + err.Error()
		case r.Method != http.MethodPost || r.URL.Path != telemetry.TracesPath:
			c.errs <- r.Method + " " + r.URL.Path
		case r.Header.Get("Content-Type") != "application/x-protobuf" || len(body) == 0:
			c.errs <- "content type " + r.Header.Get("Content-Type") + ", " + strconv.Itoa(len(body)) + " bytes"
		default:
			req := new(collectortrace.ExportTraceServiceRequest)
			if err := proto.Unmarshal(body, req); err != nil {
				c.errs <- "decode: " + err.Error()
				break
			}
			c.reqs <- req
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	t.Cleanup(c.Close)
	return c
}

// TestExportsOverOTLPHTTP: spans reach a collector at <endpoint>/v1/traces
// as a protobuf export request, with the service's name, by Shutdown at the
// latest.
func TestExportsOverOTLPHTTP(t *testing.T) {
	col := newCollector(t)
	tr, err := telemetry.New(t.Context(), telemetry.Config{Endpoint: col.URL, SampleRatio: 1}, telemetry.Resource{Service: "mercato-catalog", Version: "v9"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider().Tracer("test").Start(t.Context(), "GET /api/v1/products")
	wantTrace := span.SpanContext().TraceID()
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	select {
	case e := <-col.errs:
		t.Fatalf("collector got a bad request: %s", e)
	case req := <-col.reqs:
		rs := req.GetResourceSpans()
		if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || len(rs[0].GetScopeSpans()[0].GetSpans()) != 1 {
			t.Fatalf("export request = %v, want one span", req)
		}
		res := map[string]string{}
		for _, kv := range rs[0].GetResource().GetAttributes() {
			res[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		if res["service.name"] != "mercato-catalog" || res["service.version"] != "v9" {
			t.Errorf("resource = %v, want service.name mercato-catalog, service.version v9", res)
		}
		got := rs[0].GetScopeSpans()[0].GetSpans()[0]
		if got.GetName() != "GET /api/v1/products" || !bytes.Equal(got.GetTraceId(), wantTrace[:]) {
			t.Errorf("span = %q in trace %x, want GET /api/v1/products in %s", got.GetName(), got.GetTraceId(), wantTrace)
		}
	default:
		t.Fatal("the collector received nothing by the end of Shutdown")
	}
}

// TestSampleRatio: a ratio of 0 records no new trace but follows a sampled
// caller, so a trace is never cut in the middle.
func TestSampleRatio(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.NewWithExporter(telemetry.Config{SampleRatio: 0}, telemetry.Resource{Service: "mercato"}, keep{exp})
	tracer := tr.Provider().Tracer("test")
	_, root := tracer.Start(t.Context(), "root")
	root.End()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tracer.Start(trace.ContextWithRemoteSpanContext(t.Context(), parent), "child")
	child.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if root.IsRecording() || !child.SpanContext().IsSampled() {
		t.Errorf("root sampled = %v, child of a sampled caller sampled = %v; want false, true", root.SpanContext().IsSampled(), child.SpanContext().IsSampled())
	}
	if got := names(exp.GetSpans()); len(got) != 1 || got[0] != "internal child" {
		t.Errorf("exported %v, want only the child", got)
	}
}

// keep is an in-memory exporter that keeps its spans past Shutdown (the
// plain one forgets them there).
type keep struct{ *tracetest.InMemoryExporter }

func (keep) Shutdown(context.Context) error { return nil }

// TestTransport: an outgoing request carries the caller's trace; with a
// tracer, through a client span of its own.
func TestTransport(t *testing.T) {
	caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}, TraceFlags: trace.FlagsSampled, Remote: true})
	exp := tracetest.NewInMemoryExporter()
	on := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = on.Shutdown(context.Background()) })
	for _, tc := range []struct {
		name       string
		tp         trace.TracerProvider
		ctx        context.Context
		wantHeader bool
		wantSpan   bool
	}{
		{"off, no trace", nil, context.Background(), false, false},
		{"off, a caller's trace", nil, trace.ContextWithRemoteSpanContext(context.Background(), caller), true, false},
		{"on, a caller's trace", on, trace.ContextWithRemoteSpanContext(context.Background(), caller), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp.Reset()
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("Traceparent") }))
			defer srv.Close()
			hc := &http.Client{Transport: telemetry.Transport(http.DefaultTransport, tc.tp)}
			req, _ := http.NewRequestWithContext(tc.ctx, http.MethodGet, srv.URL+"/x", nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if req.Header.Get("Traceparent") != "" {
				t.Error("the transport changed the caller's request")
			}
			if (got != "") != tc.wantHeader {
				t.Fatalf("traceparent sent = %q, want one: %v", got, tc.wantHeader)
			}
			sent := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": got}))
			spans := exp.GetSpans()
			switch {
			case !tc.wantHeader:
			case tc.wantSpan:
				if len(spans) != 1 || spans[0].SpanKind != trace.SpanKindClient || spans[0].Parent.SpanID() != caller.SpanID() {
					t.Fatalf("spans = %v, want one client span, child of the caller", names(spans))
				}
				if sent.SpanID() != spans[0].SpanContext.SpanID() || sent.TraceID() != caller.TraceID() {
					t.Errorf("sent %q, want the client span %s", got, spans[0].SpanContext.SpanID())
				}
			default:
				if len(spans) != 0 || sent.SpanID() != caller.SpanID() || sent.TraceID() != caller.TraceID() {
					t.Errorf("sent %q with %d spans, want the caller's context and no span", got, len(spans))
				}
			}
		})
	}
}
