package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// checkoutGoal is the least acceptable ratio of checkouts per second through
// the public API to raw checkout transactions per second on the same engine.
const checkoutGoal = 0.5

// CheckoutOptions are the settings of `mercato bench checkout` beyond the
// shared ones.
type CheckoutOptions struct {
	Options
	// SKUs is how many products the benchmark creates and buys (3 per
	// checkout).
	SKUs int
	// Stock is the units of stock each of those products gets.
	Stock int64
	// RawDB is the PostgreSQL URL for the raw transaction's scratch schema;
	// empty means the configured -db, or SQLite without one.
	RawDB string
	// Rounds is how many times Mercato and the raw transaction are
	// measured, alternating; the median ratio is judged.
	Rounds int
}

// Checkout is `mercato bench checkout`: it measures the one-call checkout
// of the default store against the raw checkout transaction on the same
// engine, then checks the invariants of what the run left behind.
func (r *Runner) Checkout(ctx context.Context, o CheckoutOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench checkout:\n%w", err)
	}
	if err := validateShop("checkout", o.SKUs, o.Stock, o.Rounds, o.CPUProfile); err != nil {
		return err
	}
	rawDB := o.RawDB
	if rawDB == "" {
		rawDB = r.Config.DB
	}
	if o.URL != "" {
		return r.checkout(ctx, strings.TrimSuffix(o.URL, "/"), o, rawDB, "", nil)
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.checkout(ctx, base, o, rawDB, note, sys)
	})
}

// apiClient talks to the benchmarked Mercato, as its admin when it has
// the token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func (b apiClient) call(ctx context.Context, method, path string, body, out any) (int, error) {
	return b.callWith(ctx, method, path, body, out)
}

// callWith is call with extra headers, given as name, value pairs.
func (b apiClient) callWith(ctx context.Context, method, path string, body, out any, header ...string) (int, error) {
	req, err := jsonRequest(ctx, method, b.base+path, body, header...)
	if err != nil {
		return 0, err
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	res, err := b.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// jsonRequest is a request with body as JSON (none when nil) and extra
// headers given as name, value pairs.
func jsonRequest(ctx context.Context, method, url string, body any, header ...string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req, nil
}

// checkout prepares SKUs, measures both targets and checks the run.
func (r *Runner) checkout(ctx context.Context, base string, o CheckoutOptions, rawDB, note string, sys *app.System) error {
	sh, err := r.openShop(ctx, base, sys, o.SKUs, o.Stock)
	if err != nil {
		return err
	}
	// round keeps the keys of each round apart: a repeated key would replay
	// an order instead of placing one.
	round := 0
	target, err := sh.checkoutTarget(&round)
	if err != nil {
		return err
	}
	load := o.Load
	fmt.Fprintf(r.Stdout, "bench checkout: POST /api/v1/checkout · 3 lines per order over %d SKUs · fake provider\n", len(sh.skus))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target", load.Mode(), load.Warmup, load.Duration)
	if o.Rounds > 1 {
		fmt.Fprintf(r.Stdout, " · %d rounds, alternating", o.Rounds)
	}
	fmt.Fprint(r.Stdout, "\n\n")
	var (
		rounds   []Comparison
		rawShape string
	)
	for round = range o.Rounds {
		if o.Rounds > 1 {
			fmt.Fprintf(r.Stdout, "round %d of %d\n", round+1, o.Rounds)
		}
		mr, err := r.measure(ctx, target, load, o.CPUProfile)
		if err != nil {
			return err
		}
		var raw Result
		raw, rawShape, err = r.measureRaw(ctx, rawDB, load)
		if err != nil {
			return err
		}
		if err := WriteTable(r.Stdout, mr, raw); err != nil {
			return err
		}
		fmt.Fprintln(r.Stdout)
		rounds = append(rounds, Comparison{Subject: mr, Baseline: raw, Goal: checkoutGoal, Rate: load.Rate})
	}
	judged := judge(r.Stdout, rounds, load.Rate)
	if err := judged.Write(r.Stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "\nThe raw transaction ran on %s. req/s counts confirmed orders only.\n", rawShape)
	fmt.Fprintf(r.Stdout, "Load generator, server and raw workers share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}

	return r.checkShop(ctx, sh, "checkout")
}

// createSKUs creates n active products of one variant each with stock units,
// and waits until pricing quotes every one of them.
func createSKUs(ctx context.Context, bc apiClient, run string, n int, stock int64) ([]string, error) {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("BENCH-%s-%03d", strings.ToUpper(run[len(run)-6:]), i)
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/products", map[string]any{
			"title": "Bench product " + skus[i], "status": "active",
			"variants": []map[string]any{{"sku": skus[i], "price": map[string]any{"amount": 1290, "currency": "EUR"}}},
		}, nil); err != nil {
			return nil, err
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/inventory/"+url.PathEscape(skus[i])+"/adjustments",
			map[string]any{"delta": stock, "reason": "bench stock"}, nil); err != nil {
			return nil, err
		}
	}
	items := make([]map[string]any, len(skus))
	for i, s := range skus {
		items[i] = map[string]any{"sku": s, "quantity": 1}
	}
	if err := waitQuotable(ctx, bc, items); err != nil {
		return nil, err
	}
	return skus, nil
}

// measureRaw runs the raw transaction on a scratch database of the engine
// and removes it afterwards.
func (r *Runner) measureRaw(ctx context.Context, pgURL string, load Load) (Result, string, error) {
	opts := sqldb.Options{Name: "bench_raw"}
	where := "a temporary SQLite file (same settings as the services': WAL, synchronous=FULL, one writer)"
	if pgURL != "" {
		// The raw transaction's pool takes no more connections than a
		// process may (-db.max-conns), and the server must have room for
		// them beside a running Mercato (and the one booted here).
		budget := r.Config.DBMaxConns
		if budget <= 0 {
			budget = min(load.Workers, 20)
		}
		opts.MaxConns = min(budget, max(1, load.Workers))
		if !sqldb.BehindPooler(pgURL) {
			if err := app.CheckServerRoom(ctx, pgURL, opts.MaxConns, slog.New(slog.NewTextHandler(r.Stderr, nil))); err != nil {
				return Result{}, "", fmt.Errorf("the raw transaction's database: %w", err)
			}
		}
		opts.URL = pgURL
		opts.Name = fmt.Sprintf("bench_raw_%d", time.Now().UnixNano()%1_000_000_000)
		where = "a scratch schema of the PostgreSQL database (" + sqldb.Redact(pgURL) + ")"
	} else {
		dir, err := os.MkdirTemp("", "mercato-bench-raw-*")
		if err != nil {
			return Result{}, "", fmt.Errorf("create the raw transaction's directory: %w", err)
		}
		defer os.RemoveAll(dir)
		opts.Dir = dir
	}
	db, err := sqldb.Open(ctx, opts)
	if err != nil {
		return Result{}, "", fmt.Errorf("open the raw transaction's database: %w", err)
	}
	defer db.Close()
	if pgURL != "" {
		defer func() {
			// A background context: the schema goes also when ctx is done.
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := db.Write().ExecContext(dctx, "DROP SCHEMA "+opts.Name+" CASCADE"); err != nil {
				fmt.Fprintf(r.Stderr, "drop the raw transaction's schema %s: %v\n", opts.Name, err)
			}
		}()
	}
	fmt.Fprintf(r.Stderr, "measuring the raw transaction on %s …\n", where)
	res, err := RawCheckout{DB: db, SKUs: 30}.Run(ctx, load)
	return res, where, err
}

// checkInvariants prints one line per invariant and returns how many failed.
func checkInvariants(ctx context.Context, w io.Writer, bc apiClient, sys *app.System, skus []string, stock int64, email string) (int, error) {
	failed := 0
	report := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "  %s %s\n", mark, fmt.Sprintf(format, args...))
	}

	// Let sagas still in flight when the load stopped finish.
	time.Sleep(500 * time.Millisecond)

	var audit struct {
		NegativeStock      int64 `json:"negative_stock"`
		LedgerMismatches   int64 `json:"ledger_mismatches"`
		ExpiredHeld        int64 `json:"expired_held"`
		ReservedMismatches int64 `json:"reserved_mismatches"`
	}
	if _, err := bc.call(ctx, http.MethodGet, "/api/v1/admin/inventory/audit", nil, &audit); err != nil {
		return failed, err
	}
	report(audit.NegativeStock == 0, "no negative stock (%d rows below zero)", audit.NegativeStock)
	report(audit.LedgerMismatches == 0 && audit.ReservedMismatches == 0, "stock agrees with the movement ledger and the held reservations (%d and %d mismatches)", audit.LedgerMismatches, audit.ReservedMismatches)
	report(audit.ExpiredHeld == 0, "no expired reservation still held (%d)", audit.ExpiredHeld)

	sold := map[string]int64{}
	for _, sku := range skus {
		var l struct {
			OnHand   int64 `json:"on_hand"`
			Reserved int64 `json:"reserved"`
		}
		if _, err := bc.call(ctx, http.MethodGet, "/api/v1/admin/inventory/"+url.PathEscape(sku), nil, &l); err != nil {
			return failed, err
		}
		sold[sku] = stock - l.OnHand
	}

	type order struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Total  struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"total"`
		Lines []struct {
			SKU      string `json:"sku"`
			Quantity int64  `json:"quantity"`
		} `json:"lines"`
	}
	var orders []order
	path := "/api/v1/admin/orders?limit=100&email=" + url.QueryEscape(email)
	for {
		var page struct {
			Items      []order `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		if _, err := bc.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return failed, err
		}
		orders = append(orders, page.Items...)
		if page.NextCursor == "" {
			break
		}
		path = "/api/v1/admin/orders?limit=100&email=" + url.QueryEscape(email) + "&cursor=" + url.QueryEscape(page.NextCursor)
	}
	confirmedUnits := map[string]int64{}
	confirmed, unfinished, badPayments := 0, 0, 0
	for _, o := range orders {
		switch o.Status {
		case "confirmed":
			confirmed++
			for _, l := range o.Lines {
				confirmedUnits[l.SKU] += l.Quantity
			}
			var p struct {
				Status string `json:"status"`
				Amount struct {
					Amount   int64  `json:"amount"`
					Currency string `json:"currency"`
				} `json:"amount"`
			}
			if _, err := bc.call(ctx, http.MethodGet, "/api/v1/admin/payments/"+url.PathEscape(o.ID), nil, &p); err != nil || p.Status != "authorized" || p.Amount != o.Total {
				badPayments++
			}
		case "cancelled":
		default:
			unfinished++
		}
	}
	over, mismatched := 0, 0
	for _, sku := range skus {
		if sold[sku] > stock || sold[sku] < 0 {
			over++
		}
		if sold[sku] != confirmedUnits[sku] {
			mismatched++
		}
	}
	report(over == 0, "units sold never above the stock given (%d SKUs over)", over)
	report(mismatched == 0, "units sold equal the units of confirmed orders (%d SKUs differ)", mismatched)
	report(badPayments == 0, "every confirmed order has exactly one authorization equal to its total (%d of %d confirmed orders do not)", badPayments, confirmed)
	report(unfinished == 0, "every order ended confirmed or cancelled (%d of %d still in a saga state)", unfinished, len(orders))

	var pay struct {
		Pending    int64 `json:"pending"`
		Violations int64 `json:"invariant_violations"`
	}
	if _, err := bc.call(ctx, http.MethodGet, "/api/v1/admin/payments/audit", nil, &pay); err != nil {
		return failed, err
	}
	report(pay.Pending == 0 && pay.Violations == 0, "no payment left pending, none breaks 0 ≤ refunded ≤ captured ≤ authorized (%d pending, %d violations)", pay.Pending, pay.Violations)

	if sys == nil {
		fmt.Fprintln(w, "  --   outbox drained: not checked (needs the in-process run; the relays are in the server's process)")
		return failed, nil
	}
	// Every event written before the check began must be published. The
	// consumers of the run's events (an invoice for each confirmed order,
	// say) may still be catching up and writing new ones: those are on
	// their way, not lost, and a relay that publishes them has none older.
	began := time.Now()
	var stuck, newer int
	var where []string // the outboxes with events left, "name n"
	deadline := began.Add(30 * time.Second)
	for {
		stuck, newer, where = 0, 0, where[:0]
		for _, r := range sys.Platform.Relays() {
			h, err := r.Health(ctx)
			if err != nil {
				return failed, err
			}
			if h.Unpublished == 0 {
				continue
			}
			if time.Now().Add(-h.OldestAge).Before(began) {
				stuck += h.Unpublished
				where = append(where, fmt.Sprintf("%s %d", r.Name(), h.Unpublished))
			} else {
				newer += h.Unpublished
			}
		}
		if stuck == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case stuck > 0:
		report(false, "outbox drained (%d events written before the check still unpublished after 30s: %s)", stuck, strings.Join(where, ", "))
	case newer > 0:
		report(true, "outbox drained (every event written before the check published; %d newer ones from consumers still catching up)", newer)
	default:
		report(true, "outbox drained (0 events unpublished)")
	}
	return failed, nil
}

// waitQuotable waits, up to 30 s, until pricing quotes items: it learns of
// new products from the catalog's events.
func waitQuotable(ctx context.Context, bc apiClient, items []map[string]any) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := bc.call(ctx, http.MethodPost, "/api/v1/quote", map[string]any{"items": items, "country": "DE"}, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pricing does not quote the new products after 30 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
