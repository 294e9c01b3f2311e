package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// scripted fails or succeeds as told, one call at a time.
type scripted struct {
	sdktrace.SpanExporter
	errs []error
}

func (s *scripted) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

// TestExportFailuresLoggedOnce: an absent collector costs one warning, not
// one per batch, and its return one info line; the batch processor never
// sees the error (it would go to the global handler).
func TestExportFailuresLoggedOnce(t *testing.T) {
	down := errors.New("connection refused")
	var buf bytes.Buffer
	e := &loggingExporter{
		SpanExporter: &scripted{errs: []error{down, down, down, nil, nil, down}},
		log:          slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime})),
		endpoint:     "http://collector:4318/v1/traces",
	}
	for i := range 6 {
		if err := e.ExportSpans(t.Context(), nil); err != nil {
			t.Fatalf("export #%d = %v, want nil", i, err)
		}
	}
	want := []string{
		`level=WARN msg="trace export" endpoint=http://collector:4318/v1/traces spans=0 err="connection refused"`,
		`level=INFO msg="trace export recovered" endpoint=http://collector:4318/v1/traces`,
		`level=WARN msg="trace export" endpoint=http://collector:4318/v1/traces spans=0 err="connection refused"`,
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestTracesURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://collector.example/otlp/v1/traces", "https://collector.example/otlp/v1/traces"},
	} {
		if got, err := tracesURL(tc.in); err != nil || got != tc.want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
