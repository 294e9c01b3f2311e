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
	"strconv"
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

// storefrontServer imitates a Mercato for bench storefront: the product
// list and product JSON of the default store (only with Host localhost:port)
// and a product page from page, which gets the page requests' sequence
// number (0 for the first).
func storefrontServer(t *testing.T, page func(n int, w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	const product = `{"id":"p1","slug":"tea-and-co","title":"Tea & Co's \"best\" + more"}`
	var mu sync.Mutex
	pages := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if want := "localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port); r.Host != want {
			http.Error(w, "unknown store "+r.Host+", want "+want, http.StatusNotFound)
			return
		}
		switch r.URL.Path {
		case "/api/v1/products":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"items":[%s]}`, product)
		case "/api/v1/products/tea-and-co":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, product)
		case "/p/tea-and-co":
			mu.Lock()
			n := pages
			pages++
			mu.Unlock()
			page(n, w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// productHTML is a product page as html/template writes it.
func productHTML(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>Tea &amp; Co&#39;s &#34;best&#34; &#43; more</title><h1>Tea &amp; Co&#39;s &#34;best&#34; &#43; more</h1>`)
}

func storefrontRun(t *testing.T, srv *httptest.Server, slug string) (string, error) {
	t.Helper()
	var out, progress strings.Builder
	r := &Runner{Stdout: &out, Stderr: &progress}
	err := r.Storefront(t.Context(), StorefrontOptions{Options: Options{URL: srv.URL, Path: "/p/{slug}", Load: quick()}, Slug: slug})
	return out.String(), err
}

func TestStorefrontReportsBothRates(t *testing.T) {
	srv := storefrontServer(t, func(_ int, w http.ResponseWriter) { productHTML(w) })
	out, err := storefrontRun(t, srv, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"bench storefront: GET /p/tea-and-co (",
		"against GET /api/v1/products/tea-and-co (",
		"product page ", "product API ",
		"ratio product page ÷ product API: ",
		"goal of 0.50",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "errors of") {
		t.Errorf("the report lists errors:\n%s", out)
	}
}

// TestStorefrontRefusesWithoutAPage: before the storefront serves product
// pages, /p/{slug} answers 404, and the bench says so instead of
// reporting a rate of 404s.
func TestStorefrontRefusesWithoutAPage(t *testing.T) {
	srv := storefrontServer(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"status":404,"code":"not_found"}`)
	})
	out, err := storefrontRun(t, srv, "")
	if err == nil || !strings.Contains(err.Error(), "GET /p/tea-and-co: status 404: no product page to measure") {
		t.Errorf("error = %v, want that GET /p/tea-and-co answered 404", err)
	}
	if strings.Contains(out, "req/s") {
		t.Errorf("a rate was reported:\n%s", out)
	}
}

// TestStorefrontRefusesARateOfErrors: a page that answers well once and
// then fails has no rate to report.
func TestStorefrontRefusesARateOfErrors(t *testing.T) {
	srv := storefrontServer(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			productHTML(w)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	out, err := storefrontRun(t, srv, "tea-and-co")
	if err == nil || !strings.Contains(err.Error(), "the product page answered no good response") || !strings.Contains(err.Error(), "HTTP 503 Service Unavailable") {
		t.Errorf("error = %v, want no rate for the product page's 503s", err)
	}
	if strings.Contains(out, "ratio") {
		t.Errorf("a ratio was reported:\n%s", out)
	}
}

func TestStorefrontRefusesAnUnknownProduct(t *testing.T) {
	srv := storefrontServer(t, func(_ int, w http.ResponseWriter) { productHTML(w) })
	if _, err := storefrontRun(t, srv, "no-such-tea"); err == nil || !strings.Contains(err.Error(), "GET /api/v1/products/no-such-tea: status 404") {
		t.Errorf("error = %v, want the unknown product's 404", err)
	}
	if _, err := storefrontRun(t, srv, "p/tea"); err == nil || !strings.Contains(err.Error(), "not a path") {
		t.Errorf("a slug with a slash: error = %v", err)
	}
}

func TestCheckProductPage(t *testing.T) {
	t.Parallel()
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	const title = `Tea & Co's "best" + more`
	for _, tt := range []struct {
		name    string
		r       Response
		want    string
		wantErr string
	}{
		{"html/template's escaping", Response{Status: 200, Header: html, Body: []byte(`<h1>Tea &amp; Co&#39;s &#34;best&#34; &#43; more</h1>`)}, `Tea &amp; Co&#39;s &#34;best&#34; &#43; more`, ""},
		{"text/template's escaping", Response{Status: 200, Header: html, Body: []byte(`<h1>Tea &amp; Co&#39;s &#34;best&#34; + more</h1>`)}, `Tea &amp; Co&#39;s &#34;best&#34; + more`, ""},
		{"not found", Response{Status: 404, Header: html, Body: []byte(`<h1>Not found</h1>`)}, "", "status 404"},
		{"a redirect", Response{Status: 303, Header: html}, "", "status 303"},
		{"JSON", Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"title":"Tea & Co's \"best\" + more"}`)}, "", "want text/html"},
		{"another page", Response{Status: 200, Header: html, Body: []byte(`<h1>Coffee</h1>`)}, "", "does not name the product"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkProductPage(tt.r, title)
			if string(got) != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkProductPage = %q, %v; want %q, error %q", got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				if cerr := productPageCheck(got)(tt.r); cerr != nil {
					t.Errorf("the load's check refuses the page the first check accepted: %v", cerr)
				}
			}
		})
	}
}

func TestStoreHost(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8080":     "localhost:8080",
		"http://[::1]:9000":         "localhost:9000",
		"http://127.0.0.1":          "localhost",
		"http://tea.localhost:8080": "tea.localhost:8080",
		"http://localhost:8080":     "localhost:8080",
	} {
		if got := storeHost(base); got != want {
			t.Errorf("storeHost(%s) = %q, want %q", base, got, want)
		}
	}
}
