package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// quick is a load short enough for unit tests. No test asserts on speed:
// only that figures are filled in and add up.
func quick() Load {
	return Load{Workers: 2, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Timeout: 2 * time.Second}
}

var listBody = []byte(`{"items":[{"id":"p1"},{"id":"p2"}],"next_cursor":null}`)

func jsonServer(t *testing.T, status int, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunFillsFigures(t *testing.T) {
	srv := jsonServer(t, http.StatusOK, listBody)
	var checked int
	res, err := Run(context.Background(), Target{
		Name: "ok",
		URL:  srv.URL + "/api/v1/products?limit=20",
		Check: func(r Response) error {
			checked++
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, listBody) || r.Header.Get("Content-Type") != "application/json" {
				return errors.New("unexpected response")
			}
			return nil
		},
	}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != "ok" {
		t.Errorf("target = %q, want ok", res.Target)
	}
	if res.Requests == 0 {
		t.Fatal("no requests counted")
	}
	if res.OK != res.Requests || res.Errors != 0 || len(res.ErrorKinds) != 0 {
		t.Errorf("requests %d, ok %d, errors %d %v: want all ok", res.Requests, res.OK, res.Errors, res.ErrorKinds)
	}
	if uint64(checked) != res.Requests {
		t.Errorf("check ran %d times for %d requests (warm-up responses must not be checked)", checked, res.Requests)
	}
	if res.BytesIn != res.Requests*uint64(len(listBody)) {
		t.Errorf("bytes in = %d, want %d", res.BytesIn, res.Requests*uint64(len(listBody)))
	}
	if res.Elapsed <= 0 || res.Rate <= 0 || res.Throughput <= 0 {
		t.Errorf("elapsed %s, rate %f, throughput %f: want all above zero", res.Elapsed, res.Rate, res.Throughput)
	}
	if res.P50 <= 0 || res.P95 < res.P50 || res.P99 < res.P95 || res.Max < res.P99 || res.Mean <= 0 {
		t.Errorf("latencies p50 %s p95 %s p99 %s max %s mean %s: want 0 < p50 ≤ p95 ≤ p99 ≤ max", res.P50, res.P95, res.P99, res.Max, res.Mean)
	}
}

func TestRunCountsServerErrors(t *testing.T) {
	srv := jsonServer(t, http.StatusInternalServerError, []byte(`{"code":"internal"}`))
	res, err := Run(context.Background(), Target{Name: "failing", URL: srv.URL + "/"}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests || res.OK != 0 {
		t.Fatalf("requests %d, ok %d, errors %d: want every request an error", res.Requests, res.OK, res.Errors)
	}
	if res.Throughput != 0 {
		t.Errorf("throughput = %f, want 0 (it counts good responses only)", res.Throughput)
	}
	want := []ErrorKind{{Kind: "HTTP 500 Internal Server Error", Count: res.Requests}}
	if len(res.ErrorKinds) != 1 || res.ErrorKinds[0] != want[0] {
		t.Errorf("error kinds = %v, want %v", res.ErrorKinds, want)
	}
}

func TestRunCountsCheckFailures(t *testing.T) {
	srv := jsonServer(t, http.StatusOK, []byte(`{"items":[]}`))
	res, err := Run(context.Background(), Target{
		Name:  "empty",
		URL:   srv.URL + "/",
		Check: func(Response) error { return errors.New("empty product list") },
	}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests {
		t.Fatalf("requests %d, errors %d: want every request an error", res.Requests, res.Errors)
	}
	if len(res.ErrorKinds) != 1 || res.ErrorKinds[0].Kind != "check: empty product list" {
		t.Errorf("error kinds = %v, want one kind: check: empty product list", res.ErrorKinds)
	}
}

func TestRunCountsTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now
	l := quick()
	l.Warmup = 0
	l.Duration = 100 * time.Millisecond
	res, err := Run(context.Background(), Target{Name: "closed", URL: url}, l)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests {
		t.Fatalf("requests %d, errors %d: want every request an error", res.Requests, res.Errors)
	}
	if len(res.ErrorKinds) == 0 || strings.Contains(res.ErrorKinds[0].Kind, url) {
		t.Errorf("error kinds = %v: want the cause without the request's URL", res.ErrorKinds)
	}
}

func TestRunKeepsToTheRate(t *testing.T) {
	srv := jsonServer(t, http.StatusOK, listBody)
	l := quick()
	l.Rate = 20
	l.Duration = 500 * time.Millisecond
	res, err := Run(context.Background(), Target{Name: "paced", URL: srv.URL + "/"}, l)
	if err != nil {
		t.Fatal(err)
	}
	// The pacer never runs ahead of the rate: 20/s for 0.5 s is about 10
	// requests. (Slowness could make it fewer; that is not asserted.)
	if res.Requests == 0 || res.Requests > 15 {
		t.Errorf("requests = %d at 20/s for 0.5s: want 1 to 15", res.Requests)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"http://example.com/", "http://10.0.0.1:8080/api/v1/products", "http://[2001:db8::1]/", "http://0.0.0.0:8080/"} {
		_, err := Run(context.Background(), Target{Name: "remote", URL: u}, quick())
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Run(%s) error = %v, want ErrNotLoopback", u, err)
		}
		if _, err := Record(context.Background(), Target{URL: u}, time.Second); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Record(%s) error = %v, want ErrNotLoopback", u, err)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://localhost:8080/api/v1/products", true},
		{"http://LOCALHOST./", true},
		{"http://shop.localhost:8080/", true},
		{"http://127.0.0.1:8080", true},
		{"https://127.1.2.3/", true},
		{"http://[::1]:8080/", true},
		{"http://example.com/", false},
		{"http://localhost.example.com/", false},
		{"http://192.168.1.10:8080/", false},
		{"http://0.0.0.0:8080/", false},
		{"http://[::]:8080/", false},
		{"ftp://127.0.0.1/", false},
		{"127.0.0.1:8080", false},
		{"http:///path", false},
	}
	for _, tt := range tests {
		err := CheckLoopback(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestDialerRefusesNonLoopbackAddresses(t *testing.T) {
	// Whatever a name resolves to, the dialer only connects to loopback.
	if err := loopbackOnly("tcp", "93.184.216.34:80", nil); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("dial to a public address: error = %v, want ErrNotLoopback", err)
	}
	if err := loopbackOnly("tcp6", "[::1]:80", nil); err != nil {
		t.Errorf("dial to [::1]: %v", err)
	}
}

func TestLoadValidate(t *testing.T) {
	bad := []Load{
		{Workers: 0, Duration: time.Second},
		{Workers: MaxWorkers + 1, Duration: time.Second},
		{Workers: 1, Duration: 0},
		{Workers: 1, Duration: MaxDuration + time.Second},
		{Workers: 1, Duration: time.Second, Warmup: -time.Second},
		{Workers: 1, Duration: time.Second, Warmup: MaxWarmup + time.Second},
		{Workers: 1, Duration: time.Second, Rate: -1},
	}
	for _, l := range bad {
		if err := l.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", l)
		}
		if _, err := Run(context.Background(), Target{URL: "http://127.0.0.1:1/"}, l); err == nil {
			t.Errorf("Run with %+v: no error", l)
		}
	}
	if err := quick().Validate(); err != nil {
		t.Errorf("Validate(quick) = %v", err)
	}
}

func TestRunStopsWhenContextIsDone(t *testing.T) {
	srv := jsonServer(t, http.StatusOK, listBody)
	ctx, cancel := context.WithCancel(context.Background())
	l := quick()
	l.Duration = time.Minute // cancelled long before
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := Run(ctx, Target{Name: "cancelled", URL: srv.URL + "/"}, l); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestBareServerReplaysTheRecordedResponse(t *testing.T) {
	orig := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "abc")
		_, _ = w.Write(listBody)
	}))
	defer orig.Close()
	rec, err := Record(context.Background(), Target{Name: "orig", URL: orig.URL + "/p"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := StartBare(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLoopback(bare.URL()); err != nil {
		t.Errorf("bare server URL %s: %v", bare.URL(), err)
	}
	got, err := Record(context.Background(), Target{Name: "bare", URL: bare.URL() + "/p"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, listBody) {
		t.Errorf("bare answered %d %q, want 200 %q", got.Status, got.Body, listBody)
	}
	for _, h := range []string{"Content-Type", "X-Request-Id", "Content-Length"} {
		if got.Header.Get(h) != rec.Header.Get(h) {
			t.Errorf("header %s = %q, want %q", h, got.Header.Get(h), rec.Header.Get(h))
		}
	}
	if got.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
	if err := bare.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestRecordKeepsCompressedBytes(t *testing.T) {
	// The harness reads what came over the wire: no transparent gunzip.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "" {
			t.Errorf("Accept-Encoding %q sent unasked", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write([]byte("not really gzip"))
	}))
	defer srv.Close()
	got, err := Record(context.Background(), Target{URL: srv.URL}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != "not really gzip" || got.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("got %q with Content-Encoding %q", got.Body, got.Header.Get("Content-Encoding"))
	}
}

func TestWriteTableAndComparison(t *testing.T) {
	mercato := Result{
		Target: "mercato", Requests: 4000, OK: 3990, Errors: 10, Throughput: 399,
		P50: 900 * time.Microsecond, P95: 2100 * time.Microsecond, P99: 15 * time.Millisecond, Max: 1500 * time.Millisecond,
		ErrorKinds: []ErrorKind{{"HTTP 500 Internal Server Error", 7}, {"check: empty product list", 3}},
	}
	bare := Result{
		Target: "bare net/http", Requests: 10000, OK: 10000, Throughput: 1000,
		P50: 300 * time.Microsecond, P95: 700 * time.Microsecond, P99: time.Millisecond, Max: 40 * time.Millisecond,
	}
	var b strings.Builder
	if err := WriteTable(&b, mercato, bare); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"target", "req/s", "p99",
		"mercato            4000    399  900µs  2.10ms  15.0ms   1.50s      10",
		"bare net/http     10000   1000  300µs   700µs  1.00ms  40.0ms       0",
		"errors of mercato: 7 × HTTP 500 Internal Server Error; 3 × check: empty product list",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "errors of bare") {
		t.Errorf("table lists errors of a target without any:\n%s", out)
	}

	below := Comparison{Subject: mercato, Baseline: bare, Goal: 0.6}
	if r := below.Ratio(); r < 0.398 || r > 0.400 {
		t.Errorf("ratio = %f, want 0.399", r)
	}
	b.Reset()
	if err := below.Write(&b); err != nil {
		t.Fatal(err)
	}
	if below.Met() || !strings.Contains(b.String(), "0.40") || !strings.Contains(b.String(), "BELOW the goal of 0.60") {
		t.Errorf("below the goal: met %v, wrote %q", below.Met(), b.String())
	}
	mercato.Throughput = 700
	pass := Comparison{Subject: mercato, Baseline: bare, Goal: 0.6}
	b.Reset()
	if err := pass.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !pass.Met() || !strings.Contains(b.String(), "PASS") {
		t.Errorf("above the goal: met %v, wrote %q", pass.Met(), b.String())
	}
	none := Comparison{Subject: mercato, Baseline: Result{Target: "bare"}, Goal: 0.6}
	if none.Met() || none.Ratio() != 0 {
		t.Errorf("no baseline: met %v, ratio %f", none.Met(), none.Ratio())
	}
}

// TestMedian: the judged round of several is the one with the median
// ratio, the lower middle one for an even count, whatever their order.
func TestMedian(t *testing.T) {
	c := func(subject float64) Comparison {
		return Comparison{Subject: Result{Target: "s", Throughput: subject}, Baseline: Result{Target: "b", Throughput: 100}, Goal: 0.5}
	}
	for _, tt := range []struct {
		subjects []float64
		want     float64
	}{
		{[]float64{40}, 40},
		{[]float64{60, 30, 45}, 45},
		{[]float64{30, 60, 45, 50}, 45},
		{[]float64{50, 50, 20}, 50},
	} {
		cs := make([]Comparison, len(tt.subjects))
		for i, s := range tt.subjects {
			cs[i] = c(s)
		}
		if got := Median(cs).Subject.Throughput; got != tt.want {
			t.Errorf("Median(%v) has throughput %v, want %v", tt.subjects, got, tt.want)
		}
		if cs[0].Subject.Throughput != tt.subjects[0] {
			t.Errorf("Median reordered its argument")
		}
	}
}

func TestRunVariesEveryRequest(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !bytes.HasPrefix(body, []byte(`{"n":`)) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	res, err := Run(context.Background(), Target{
		Name:   "post",
		Method: http.MethodPost,
		URL:    srv.URL + "/api/v1/checkout",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"n":%d}`),
		Vary: func(seq uint64, h http.Header, body []byte) []byte {
			h.Set("Idempotency-Key", fmt.Sprintf("k-%d", seq))
			return fmt.Appendf(nil, string(body), seq)
		},
	}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("requests %d, errors %d %v", res.Requests, res.Errors, res.ErrorKinds)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range keys {
		if n != 1 || k == "" {
			t.Fatalf("key %q sent %d times: every request must be its own", k, n)
		}
	}
}

func TestRawCheckout(t *testing.T) {
	// The raw transaction's tables have no tenant: the benchmark opens its
	// scratch database without row-level security, and so does this test.
	urls := map[string]string{"sqlite": ""}
	if u := os.Getenv(sqldbtest.PostgresEnv); u != "" {
		urls["postgres"] = u
	}
	for engine, url := range urls {
		t.Run(engine, func(t *testing.T) {
			name := fmt.Sprintf("bench_raw_test_%d", time.Now().UnixNano()%1_000_000_000)
			db, err := sqldb.Open(t.Context(), sqldb.Options{URL: url, Dir: t.TempDir(), Name: name})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if url != "" {
					_, _ = db.Write().ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
				}
				db.Close()
			})
			testRawCheckout(t, db)
		})
	}
}

func testRawCheckout(t *testing.T, db *sqldb.DB) {
	res, err := RawCheckout{DB: db, SKUs: 5}.Run(t.Context(), Load{Workers: 4, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Errors != 0 || res.Throughput <= 0 {
		t.Fatalf("ok %d, errors %d %v, throughput %f", res.OK, res.Errors, res.ErrorKinds, res.Throughput)
	}
	var orders, lines, outbox, sold int64
	row := db.Read().QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM raw_orders), (SELECT count(*) FROM raw_order_lines), (SELECT count(*) FROM raw_outbox), (SELECT sum($1 - on_hand) FROM raw_stock)`, int64(1)<<40)
	if err := row.Scan(&orders, &lines, &outbox, &sold); err != nil {
		t.Fatal(err)
	}
	// Warm-up transactions are committed too, so counts are at least OK.
	if orders < int64(res.OK) || lines != 3*orders || outbox != orders || sold != 3*orders {
		t.Errorf("orders %d (ok %d), lines %d, outbox %d, units sold %d: each transaction must write 1, 3, 1 and sell 3", orders, res.OK, lines, outbox, sold)
	}
}

func TestCheckProductList(t *testing.T) {
	t.Parallel()
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for _, tt := range []struct {
		name    string
		r       Response
		want    int
		wantErr bool
	}{
		{"a page", Response{Status: 200, Header: jsonHeader, Body: []byte(`{"items":[{},{}],"next_cursor":"abc"}`)}, 2, false},
		{"the last page", Response{Status: 200, Header: jsonHeader, Body: []byte(`{"items":[{}]}`)}, 1, false},
		{"an error", Response{Status: 500, Header: jsonHeader, Body: []byte(`{"items":[{}]}`)}, 0, true},
		{"not JSON", Response{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(`<html>`)}, 0, true},
		{"no items", Response{Status: 200, Header: jsonHeader, Body: []byte(`{"products":[{}]}`)}, 0, true},
		{"empty", Response{Status: 200, Header: jsonHeader, Body: []byte(`{"items":[]}`)}, 0, true},
		{"a bad cursor", Response{Status: 200, Header: jsonHeader, Body: []byte(`{"items":[{}],"next_cursor":""}`)}, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkProductList(tt.r)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("checkProductList = %d, %v; want %d, error %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
