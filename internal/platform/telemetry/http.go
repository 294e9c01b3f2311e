package telemetry

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of Mercato's own spans.
const Scope = "github.com/mercato/mercato"

// Transport returns a RoundTripper that carries the request context's trace
// to the server in a traceparent header, with a client span around the call
// when tp records spans. With tp nil it only forwards a trace the context
// already has (that of the request being served), and changes nothing when
// there is none.
func Transport(base http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	t := &transport{base: base}
	if tp != nil {
		t.tracer = tp.Tracer(Scope)
	}
	return t
}

type transport struct {
	base   http.RoundTripper
	tracer trace.Tracer
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient))
		defer span.End()
		if span.IsRecording() {
			attrs := []attribute.KeyValue{
				semconv.HTTPRequestMethodKey.String(req.Method),
				semconv.ServerAddress(req.URL.Hostname()),
				semconv.URLPath(req.URL.Path),
			}
			if p, err := strconv.Atoi(req.URL.Port()); err == nil {
				attrs = append(attrs, semconv.ServerPort(p))
			}
			span.SetAttributes(attrs...)
		}
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		// A RoundTripper must not change the caller's request.
		req = req.Clone(ctx)
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	resp, err := t.base.RoundTrip(req)
	if span != nil && span.IsRecording() {
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, "round trip")
		default:
			span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
			if resp.StatusCode >= 400 {
				span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
			}
		}
	}
	return resp, err
}
