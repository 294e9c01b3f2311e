package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/app"
)

func TestLiveOptionsValidate(t *testing.T) {
	good := LiveOptions{Connections: 1000, Orders: 100, Rate: 20}
	if err := good.validate(app.Config{Bus: "embedded"}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := map[string]func(o *LiveOptions){
		"no streams":           func(o *LiveOptions) { o.Connections = 0 },
		"too many streams":     func(o *LiveOptions) { o.Connections = 20001 },
		"more orders":          func(o *LiveOptions) { o.Orders = 1001 },
		"orders over streams":  func(o *LiveOptions) { o.Connections, o.Orders = 10, 11 },
		"no rate":              func(o *LiveOptions) { o.Rate = 0 },
		"remote URL":           func(o *LiveOptions) { o.URL = "http://example.com" },
		"metrics without -url": func(o *LiveOptions) { o.Metrics = "http://127.0.0.1:9464/metrics" },
		"remote metrics":       func(o *LiveOptions) { o.URL, o.Metrics = "http://127.0.0.1:8080", "http://example.com/metrics" },
		"stream URL alone":     func(o *LiveOptions) { o.StreamURL = "http://127.0.0.1:8081" },
		"remote stream URL":    func(o *LiveOptions) { o.URL, o.StreamURL = "http://127.0.0.1:8080", "http://example.com" },
	}
	for name, change := range tests {
		o := good
		change(&o)
		if err := o.validate(app.Config{Bus: "embedded"}); err == nil {
			t.Errorf("%s: valid, want an error", name)
		}
	}
	if err := good.validate(app.Config{Bus: "nats://127.0.0.1:4222"}); err == nil {
		t.Error("an external bus without -yes: valid, want an error")
	}
}

func TestReadEventsTimesDataLines(t *testing.T) {
	at := time.Now().Add(-50 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	body := "retry: 2000\n\n: ping\n\n" +
		"id: e1\nevent: payment.captured.v1\ndata: {\"type\":\"payment.captured.v1\",\"at\":\"" + at + "\"}\n\n" +
		"id: e2\nevent: order.shipped.v1\ndata: {\"type\":\"order.shipped.v1\",\"at\":\"" + at + "\",\"status\":\"shipped\"}\n\n" +
		"event: reset\ndata: {}\n\n"
	lat := &latencies{}
	readEvents(io.NopCloser(strings.NewReader(body)), lat)
	got := lat.sorted()
	if len(got) != 2 || lat.shipped.Load() != 1 {
		t.Fatalf("timed %d events, %d shipments; want 2 and 1", len(got), lat.shipped.Load())
	}
	if got[0] < 50*time.Millisecond || got[1] > time.Minute {
		t.Errorf("latencies %v, want about 50ms", got)
	}
}

func TestScrapeReadsTheRuntimeFigures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP go_goroutines Number of goroutines.\ngo_goroutines 42\n"+
			"go_memstats_heap_inuse_bytes 1.2582912e+07\ngo_memstats_stack_inuse_bytes 65536\n")
	}))
	defer srv.Close()
	f, err := scrape(t.Context(), srv.URL)
	if err != nil || !f.ok || f.goroutines != 42 || f.heap != 12582912 || f.stack != 65536 {
		t.Fatalf("scrape: %+v, %v", f, err)
	}
	empty := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer empty.Close()
	if _, err := scrape(t.Context(), empty.URL); err == nil {
		t.Error("a page without the figures: no error")
	}
}
