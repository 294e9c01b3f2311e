package bench

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercato/mercato/internal/app"
)

// MaxSoak is the longest soak run.
const MaxSoak = 2 * time.Hour

// SoakOptions are the settings of `mercato bench soak`.
type SoakOptions struct {
	// Duration is how long the guest flow runs.
	Duration time.Duration
	// Workers is how many guests shop at once, each one flow at a time.
	Workers int
	// Rate is the flows per second started at most; 0: as fast as the
	// workers go.
	Rate float64
	// Sample is how often the process's connections and memory are read.
	Sample time.Duration
	// LogFile, when set, receives the instance's log; otherwise it is
	// counted and dropped.
	LogFile string
	// Yes accepts that demo data is written to the -db database or -bus
	// given.
	Yes bool
}

func (o SoakOptions) validate(cfg app.Config) error {
	var errs []error
	if o.Duration <= 0 || o.Duration > MaxSoak {
		errs = append(errs, fmt.Errorf("-duration must be above 0 and at most %s, got %s", MaxSoak, o.Duration))
	}
	if o.Workers < 1 || o.Workers > 64 {
		errs = append(errs, fmt.Errorf("-workers must be between 1 and 64, got %d", o.Workers))
	}
	if o.Rate < 0 {
		errs = append(errs, fmt.Errorf("-rate must not be negative, got %g", o.Rate))
	}
	if o.Sample < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("-sample must be at least 100ms, got %s", o.Sample))
	}
	if (cfg.DB != "" || cfg.Bus != "embedded") && !o.Yes {
		errs = append(errs, errors.New("the soak boots Mercato and writes demo data and orders into the -db database and -bus given; pass -yes to accept that, or leave them unset for SQLite and the embedded bus in a temporary directory"))
	}
	return errors.Join(errs...)
}

// SoakReport is what a soak run measured.
type SoakReport struct {
	Shape    string
	Elapsed  time.Duration
	Flows    int64 // guest flows started and finished (good or not)
	Orders   int64 // confirmed orders
	Failed   int64 // flows that failed at some step
	Errors   []ErrorKind
	Checkout struct{ P50, P95, P99 time.Duration }

	// Connections: peak open database connections. On PostgreSQL, the
	// backends of the database (pg_stat_activity); on SQLite, the open
	// descriptors of the data directory's database files; -1 when unknown.
	DBConns     int
	DBConnsWhat string
	// FDs is the peak of the process's open file descriptors (-1: unknown).
	FDs int
	// RSSPeak is the process's peak resident set (VmHWM), 0 when unknown;
	// HeapPeak the peak of the Go heap in use; Goroutines their peak.
	RSSPeak    uint64
	HeapPeak   uint64
	Goroutines int

	// LogBytes and LogLines were written by the instance during the run;
	// LogLevels and LogMessages count its lines by level and message.
	LogBytes    int64
	LogLines    int64
	LogLevels   map[string]int64
	LogMessages map[string]int64

	// DataBefore and DataAfter are the size of the data: the SQLite files
	// (and the embedded bus's files, Bus*) or the PostgreSQL tables.
	DataBefore, DataAfter int64
	BusBefore, BusAfter   int64
	DataWhat              string
	// DataGrowth is the growth of each SQLite database (empty on
	// PostgreSQL).
	DataGrowth map[string]int64
}

// LogPerOrder and DataPerOrder are the bytes per confirmed order.
func (s SoakReport) LogPerOrder() float64 { return perOrder(float64(s.LogBytes), s.Orders) }
func (s SoakReport) DataPerOrder() float64 {
	return perOrder(float64(s.DataAfter-s.DataBefore), s.Orders)
}
func (s SoakReport) BusPerOrder() float64 { return perOrder(float64(s.BusAfter-s.BusBefore), s.Orders) }

func perOrder(b float64, orders int64) float64 {
	if orders == 0 {
		return 0
	}
	return b / float64(orders)
}

// Soak is `mercato bench soak`: it boots Mercato in this process, has
// guests browse, fill a cart and check out for o.Duration, and reports the
// orders, errors, connections, memory, and the log and data written per
// order.
func (r *Runner) Soak(ctx context.Context, o SoakOptions) error {
	rep, err := r.RunSoak(ctx, o)
	if err != nil {
		return err
	}
	rep.Write(r.Stdout)
	if rep.Orders == 0 {
		return errors.New("bench soak: no order was confirmed")
	}
	return nil
}

// RunSoak runs the soak and returns its figures.
func (r *Runner) RunSoak(ctx context.Context, o SoakOptions) (SoakReport, error) {
	var rep SoakReport
	if err := o.validate(r.Config); err != nil {
		return rep, fmt.Errorf("bench soak:\n%w", err)
	}
	out := io.Discard
	if o.LogFile != "" {
		f, err := os.Create(o.LogFile)
		if err != nil {
			return rep, fmt.Errorf("bench soak: create the log file: %w", err)
		}
		defer f.Close()
		out = f
	}
	lc := &logCounter{w: out, levels: map[string]int64{}, msgs: map[string]int64{}}
	err := r.withLoggedInstance(ctx, r.soakLogger(lc), func(ctx context.Context, base, _ string, sys *app.System) error {
		var err error
		rep, err = r.soak(ctx, base, o, sys, lc)
		return err
	})
	return rep, err
}

// soakLogger logs as the configured process would (-log.level,
// -log.format), into lc.
func (r *Runner) soakLogger(lc *logCounter) *slog.Logger {
	var level slog.Level
	if level.UnmarshalText([]byte(r.Config.LogLevel)) != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if r.Config.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(lc, opts))
	}
	return slog.New(slog.NewTextHandler(lc, opts))
}

func (r *Runner) soak(ctx context.Context, base string, o SoakOptions, sys *app.System, lc *logCounter) (SoakReport, error) {
	cfg := sys.Platform.Config
	rep := SoakReport{Shape: shape(cfg), DBConns: -1, FDs: -1}
	token, err := r.adminToken(cfg.Web.AdminToken)
	if err != nil {
		return rep, err
	}
	bc := apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	run := strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()))
	fmt.Fprintln(r.Stderr, "creating the products the guests buy …")
	prods, err := soakProducts(ctx, bc, run, 12)
	if err != nil {
		return rep, fmt.Errorf("prepare products: %w", err)
	}

	var pg *sql.DB
	if cfg.DB != "" {
		// One connection of its own, for the sizes and pg_stat_activity
		// (the "pgx" driver registered by sqldb).
		pg, err = sql.Open("pgx", cfg.DB)
		if err != nil {
			return rep, fmt.Errorf("open PostgreSQL for the figures: %w", err)
		}
		defer pg.Close()
		pg.SetMaxOpenConns(1)
	}
	dataSize := func(per map[string]int64) (int64, int64, error) {
		if pg != nil {
			n, err := pgDataSize(ctx, pg)
			return n, -1, err
		}
		return sqliteDataSize(ctx, cfg.Data, per)
	}
	if pg != nil {
		rep.DataWhat = "PostgreSQL tables and indexes of the database's schemas (pg_total_relation_size)"
		rep.DBConnsWhat = "backends of the database (pg_stat_activity)"
	} else {
		rep.DataWhat = "pages the SQLite databases use"
		rep.DBConnsWhat = "open descriptors of the SQLite files"
	}
	before := map[string]int64{}
	if rep.DataBefore, rep.BusBefore, err = dataSize(before); err != nil {
		return rep, err
	}

	// The sampler reads connections and memory while the guests shop.
	var (
		peakMu  sync.Mutex
		sampled = make(chan struct{})
	)
	sctx, stopSampler := context.WithCancel(ctx)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		conns := -1
		if pg != nil {
			var n int
			if pg.QueryRowContext(sctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&n) == nil {
				conns = n
			}
		} else {
			conns = openFiles(func(target string) bool {
				return strings.HasPrefix(target, cfg.Data) && isSQLiteFile(target)
			})
		}
		fds := openFiles(nil)
		peakMu.Lock()
		rep.HeapPeak = max(rep.HeapPeak, ms.HeapInuse)
		rep.Goroutines = max(rep.Goroutines, runtime.NumGoroutine())
		rep.DBConns = max(rep.DBConns, conns)
		rep.FDs = max(rep.FDs, fds)
		peakMu.Unlock()
	}
	go func() {
		defer close(sampled)
		t := time.NewTicker(o.Sample)
		defer t.Stop()
		for {
			sample()
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	fmt.Fprintf(r.Stderr, "guests shopping for %s (%d workers) …\n", o.Duration, o.Workers)
	logBefore, linesBefore := lc.bytes.Load(), lc.lines.Load()
	lc.reset()
	g := guests{client: newClient(o.Workers, 30*time.Second), base: base, run: run, products: prods, kinds: map[string]uint64{}}
	start := time.Now()
	g.shop(ctx, o)
	rep.Elapsed = time.Since(start)
	// Let the events of the last orders be published and handled, so the
	// data counts what the orders wrote.
	drainOutbox(ctx, sys, 30*time.Second)
	stopSampler()
	<-sampled
	rep.LogBytes, rep.LogLines = lc.bytes.Load()-logBefore, lc.lines.Load()-linesBefore
	rep.LogLevels, rep.LogMessages = lc.snapshot()
	after := map[string]int64{}
	if rep.DataAfter, rep.BusAfter, err = dataSize(after); err != nil {
		return rep, err
	}
	rep.DataGrowth = map[string]int64{}
	for name, n := range after {
		if d := n - before[name]; d != 0 {
			rep.DataGrowth[name] = d
		}
	}
	rep.RSSPeak = rssPeak()
	rep.Flows, rep.Orders, rep.Failed = g.flows.Load(), g.orders.Load(), g.failed.Load()
	rep.Errors = g.errorKinds()
	slices.Sort(g.latencies)
	pct := func(p float64) time.Duration {
		if len(g.latencies) == 0 {
			return 0
		}
		return g.latencies[min(len(g.latencies)-1, int(p*float64(len(g.latencies))))]
	}
	rep.Checkout.P50, rep.Checkout.P95, rep.Checkout.P99 = pct(0.50), pct(0.95), pct(0.99)
	return rep, ctx.Err()
}

// soakProduct is a product the guests buy.
type soakProduct struct{ slug, sku string }

// soakProducts creates n active products with a million units each (a
// million flows at most: none is near that), and
// waits until pricing quotes them.
func soakProducts(ctx context.Context, bc apiClient, run string, n int) ([]soakProduct, error) {
	prods := make([]soakProduct, n)
	items := make([]map[string]any, n)
	for i := range prods {
		sku := fmt.Sprintf("SOAK-%s-%03d", strings.ToUpper(run[len(run)-6:]), i)
		var p struct {
			Slug string `json:"slug"`
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/products", map[string]any{
			"title": "Soak product " + sku, "status": "active",
			"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 990, "currency": "EUR"}}},
		}, &p); err != nil {
			return nil, err
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/inventory/"+url.PathEscape(sku)+"/adjustments",
			map[string]any{"delta": 1_000_000, "reason": "soak stock"}, nil); err != nil {
			return nil, err
		}
		prods[i] = soakProduct{slug: p.Slug, sku: sku}
		items[i] = map[string]any{"sku": sku, "quantity": 1}
	}
	if err := waitQuotable(ctx, bc, items); err != nil {
		return nil, err
	}
	return prods, nil
}

// guests run the guest flow from several workers and count its outcomes.
type guests struct {
	client   *http.Client
	base     string
	run      string
	products []soakProduct

	seq                   atomic.Int64
	flows, orders, failed atomic.Int64

	mu        sync.Mutex
	kinds     map[string]uint64
	order     []string
	latencies []time.Duration
}

// shop runs flows from o.Workers workers for o.Duration, at most o.Rate
// flows a second when set.
func (g *guests) shop(ctx context.Context, o SoakOptions) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := g.seq.Add(1)
				if o.Rate > 0 {
					due := start.Add(time.Duration(float64(n-1) / o.Rate * float64(time.Second)))
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(due)):
					}
				}
				err := g.flow(ctx, n)
				if err != nil && ctx.Err() != nil {
					return // cut short by the end of the run: not an outcome
				}
				g.flows.Add(1)
				if err != nil {
					g.failed.Add(1)
					g.note(err.Error())
				}
			}
		})
	}
	wg.Wait()
}

func (g *guests) note(kind string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.kinds[kind]; !ok {
		g.order = append(g.order, kind)
	}
	g.kinds[kind]++
}

func (g *guests) errorKinds() []ErrorKind {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ks []ErrorKind
	for _, k := range g.order {
		ks = append(ks, ErrorKind{Kind: k, Count: g.kinds[k]})
	}
	return ks
}

// flow is one guest: the product list, a product, a cart of two SKUs, a
// third added, the cart read back, and a guest checkout.
func (g *guests) flow(ctx context.Context, n int64) error {
	p := func(i int64) soakProduct { return g.products[int(i)%len(g.products)] }
	a, b, c := p(3*n), p(3*n+1), p(3*n+2)
	if _, err := g.do(ctx, "browse", http.MethodGet, "/api/v1/products?limit=20", nil, nil, http.StatusOK); err != nil {
		return err
	}
	if _, err := g.do(ctx, "product", http.MethodGet, "/api/v1/products/"+url.PathEscape(a.slug), nil, nil, http.StatusOK); err != nil {
		return err
	}
	email := fmt.Sprintf("soak-%s-%d@example.com", g.run, n)
	var cart struct {
		ID string `json:"id"`
	}
	if _, err := g.do(ctx, "create cart", http.MethodPost, "/api/v1/carts", map[string]any{
		"email": email, "country": "DE",
		"items": []map[string]any{{"sku": a.sku, "quantity": 1}, {"sku": b.sku, "quantity": 1}},
	}, &cart, http.StatusCreated); err != nil {
		return err
	}
	cartPath := "/api/v1/carts/" + url.PathEscape(cart.ID)
	if _, err := g.do(ctx, "add to cart", http.MethodPost, cartPath+"/items", map[string]any{"sku": c.sku, "quantity": 1}, nil, http.StatusCreated); err != nil {
		return err
	}
	if _, err := g.do(ctx, "view cart", http.MethodGet, cartPath, nil, nil, http.StatusOK); err != nil {
		return err
	}
	var ord struct {
		Status string `json:"status"`
	}
	d, err := g.do(ctx, "checkout", http.MethodPost, "/api/v1/checkout", map[string]any{
		"cart_id": cart.ID, "email": email,
		"shipping_address": map[string]string{"name": "Soak Guest", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
		"payment":          map[string]string{"provider": "fake", "token": "tok_visa"},
	}, &ord, http.StatusCreated, "Idempotency-Key", fmt.Sprintf("soak-%s-%d", g.run, n))
	if err != nil {
		return err
	}
	if ord.Status != "confirmed" {
		return fmt.Errorf("checkout: order %s, not confirmed", ord.Status)
	}
	g.orders.Add(1)
	g.mu.Lock()
	g.latencies = append(g.latencies, d)
	g.mu.Unlock()
	return nil
}

// do sends one request of the flow's step and checks its status; the error
// names the step and the status (never a body, so that errors group).
func (g *guests) do(ctx context.Context, step, method, path string, body, out any, want int, header ...string) (time.Duration, error) {
	req, err := jsonRequest(ctx, method, g.base+path, body, header...)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	res, err := g.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %s", step, errorKind(&vegeta.Result{Error: err.Error(), URL: req.URL.String()}))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s: read answer: %w", step, err)
	}
	if res.StatusCode != want {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(raw, &p)
		return d, fmt.Errorf("%s: %d %s", step, res.StatusCode, p.Code)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return d, fmt.Errorf("%s: decode answer: %w", step, err)
		}
	}
	return d, nil
}

// drainOutbox waits, up to limit, until no relay of sys has events left
// to publish.
func drainOutbox(ctx context.Context, sys *app.System, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pending := 0
		for _, r := range sys.Platform.Relays() {
			n, err := r.Pending(ctx)
			if err != nil {
				return
			}
			pending += n
		}
		if pending == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pgDataSize is the size of every table (with its indexes and TOAST) of
// the database's non-system schemas.
func pgDataSize(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg\_%'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("measure the PostgreSQL data: %w", err)
	}
	return n, nil
}

func isSQLiteFile(name string) bool {
	return strings.HasSuffix(name, ".db") || strings.HasSuffix(name, ".db-wal") || strings.HasSuffix(name, ".db-shm")
}

// sqliteDataSize measures the SQLite databases under dir by the pages
// they use (page_count - freelist_count, times page_size, as a reader sees
// them: the WAL's committed pages included), so the figure does not depend
// on when the WAL was last written back; per, when not nil, receives each
// database's. busBytes is the size of the embedded bus's files (dir/nats).
func sqliteDataSize(ctx context.Context, dir string, per map[string]int64) (total, busBytes int64, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return 0, 0, err
	}
	for _, p := range paths {
		n, err := sqliteUsed(ctx, p)
		if err != nil {
			return 0, 0, err
		}
		total += n
		if per != nil {
			per[strings.TrimSuffix(filepath.Base(p), ".db")] = n
		}
	}
	err = filepath.WalkDir(filepath.Join(dir, "nats"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file removed while walking
			}
			return err
		}
		if fi, err := d.Info(); err == nil && !d.IsDir() {
			busBytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("measure the bus's files: %w", err)
	}
	return total, busBytes, nil
}

// sqliteUsed is the bytes of the pages database file path uses.
func sqliteUsed(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var pages, free, size int64
	for q, v := range map[string]*int64{`PRAGMA page_count`: &pages, `PRAGMA freelist_count`: &free, `PRAGMA page_size`: &size} {
		if err := db.QueryRowContext(ctx, q).Scan(v); err != nil {
			return 0, fmt.Errorf("measure %s: %w", filepath.Base(path), err)
		}
	}
	return (pages - free) * size, nil
}

// openFiles counts this process's open descriptors whose target match
// accepts (all when match is nil); -1 where /proc is not there.
func openFiles(match func(target string) bool) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if match == nil {
			n++
			continue
		}
		if t, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && match(t) {
			n++
		}
	}
	return n
}

// rssPeak is the process's peak resident set size (VmHWM in
// /proc/self/status), 0 where that is not there.
func rssPeak() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// logCounter counts the bytes and lines a logger writes, by level and
// message, and passes them on to w. slog's handlers write one record per
// Write.
type logCounter struct {
	w            io.Writer
	bytes, lines atomic.Int64
	mu           sync.Mutex
	levels, msgs map[string]int64
}

func (c *logCounter) Write(p []byte) (int, error) {
	c.bytes.Add(int64(len(p)))
	c.lines.Add(1)
	level, msg := logField(p, "level"), logField(p, "msg")
	c.mu.Lock()
	c.levels[level]++
	c.msgs[msg]++
	n, err := c.w.Write(p)
	c.mu.Unlock()
	return n, err
}

func (c *logCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.levels)
	clear(c.msgs)
}

func (c *logCounter) snapshot() (map[string]int64, map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyCounts(c.levels), copyCounts(c.msgs)
}

func copyCounts(m map[string]int64) map[string]int64 { return maps.Clone(m) }

// logField reads the value of key from a text (key=value) or JSON log
// line, unquoted; "" when absent.
func logField(line []byte, key string) string {
	s := string(line)
	if strings.HasPrefix(s, "{") {
		i := strings.Index(s, `"`+key+`":"`)
		if i < 0 {
			return ""
		}
		rest := s[i+len(key)+4:]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	i := strings.Index(s, " "+key+"=")
	if i < 0 {
		return ""
	}
	rest := s[i+len(key)+2:]
	if strings.HasPrefix(rest, `"`) {
		if v, err := strconv.QuotedPrefix(rest); err == nil {
			u, _ := strconv.Unquote(v)
			return u
		}
	}
	if j := strings.IndexAny(rest, " \n"); j >= 0 {
		return rest[:j]
	}
	return rest
}

// Write prints the report.
func (s SoakReport) Write(w io.Writer) {
	fmt.Fprintf(w, "bench soak: guest flow (product list, product, cart of 2, add 1, view cart, guest checkout) · %s\n", s.Shape)
	fmt.Fprintf(w, "ran %s\n\n", s.Elapsed.Round(time.Millisecond))
	secs := max(s.Elapsed.Seconds(), 0.001)
	fmt.Fprintf(w, "orders       %d confirmed (%.1f/s) · %d flows, %d failed\n", s.Orders, float64(s.Orders)/secs, s.Flows, s.Failed)
	for _, k := range s.Errors {
		fmt.Fprintf(w, "  error      %d × %s\n", k.Count, k.Kind)
	}
	fmt.Fprintf(w, "checkout     p50 %s · p95 %s · p99 %s\n", FormatDuration(s.Checkout.P50), FormatDuration(s.Checkout.P95), FormatDuration(s.Checkout.P99))
	fmt.Fprintf(w, "connections  peak %s: %s · open descriptors of the process, peak: %s\n", s.DBConnsWhat, figure(s.DBConns), figure(s.FDs))
	rss := "n/a"
	if s.RSSPeak > 0 {
		rss = mib(s.RSSPeak)
	}
	fmt.Fprintf(w, "memory       RSS peak %s (VmHWM, whole process: server and guests) · Go heap in use, peak %s · goroutines, peak %d\n", rss, mib(s.HeapPeak), s.Goroutines)
	fmt.Fprintf(w, "log          %s in %d lines during the run · %.0f bytes per order\n", size(s.LogBytes), s.LogLines, s.LogPerOrder())
	if len(s.LogLevels) > 0 {
		fmt.Fprintf(w, "  by level   %s\n", top(s.LogLevels, 10))
		fmt.Fprintf(w, "  by message %s\n", top(s.LogMessages, 6))
	}
	fmt.Fprintf(w, "data         %s → %s (%s) · %.0f bytes per order\n", size(s.DataBefore), size(s.DataAfter), s.DataWhat, s.DataPerOrder())
	if len(s.DataGrowth) > 0 {
		fmt.Fprintf(w, "  by database, bytes per order: %s\n", topPerOrder(s.DataGrowth, s.Orders, 6))
	}
	if s.BusAfter >= 0 {
		fmt.Fprintf(w, "  bus        %s → %s (embedded NATS files) · %.0f bytes per order\n", size(s.BusBefore), size(s.BusAfter), s.BusPerOrder())
	}
}

func figure(n int) string {
	if n < 0 {
		return "n/a"
	}
	return strconv.Itoa(n)
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func size(b int64) string {
	switch {
	case b >= 10<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// topPerOrder lists the n largest growths of m divided by orders.
func topPerOrder(m map[string]int64, orders int64, n int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, perOrder(float64(m[k]), orders)))
	}
	return strings.Join(parts, " · ")
}

// top lists the n largest counts of m, largest first.
func top(m map[string]int64, n int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%q %d", k, m[k]))
	}
	return strings.Join(parts, " · ")
}
