package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// analyticsGoal is the p99 the issue asks of confirmation → dashboard.
const analyticsGoal = time.Second

// AnalyticsOptions are the settings of `mercato bench analytics`.
type AnalyticsOptions struct {
	// URL is a running Mercato on the loopback interface; empty boots one
	// in this process.
	URL string
	// Orders is how many orders are placed and timed, one after another.
	Orders int
	// Poll is how often the summary is read while an order is awaited.
	Poll time.Duration
	// Yes accepts that an in-process run writes to the -db or -bus given.
	Yes bool
}

func (o AnalyticsOptions) validate(cfg app.Config) error {
	var errs []error
	if o.Orders < 1 || o.Orders > 10000 {
		errs = append(errs, fmt.Errorf("-orders must be between 1 and 10000, got %d", o.Orders))
	}
	if o.Poll < time.Millisecond || o.Poll > time.Second {
		errs = append(errs, fmt.Errorf("-poll must be between 1ms and 1s, got %s", o.Poll))
	}
	if o.URL != "" {
		if err := CheckLoopback(o.URL); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
	} else if (cfg.DB != "" || cfg.Bus != "embedded") && !o.Yes {
		errs = append(errs, errors.New("without -url the benchmark boots Mercato and writes orders to the -db database and -bus given; pass -yes to accept that"))
	}
	return errors.Join(errs...)
}

// Analytics is `mercato bench analytics`: it places orders one after
// another and times each from its confirmation (the order's own timeline)
// to the moment the analytics summary counts it: the order service's
// commit, outbox relay, bus, the analytics consumer's log and fold, and
// the report's query.
func (r *Runner) Analytics(ctx context.Context, o AnalyticsOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench analytics:\n%w", err)
	}
	if o.URL != "" {
		return r.analytics(ctx, strings.TrimSuffix(o.URL, "/"), o, "", nil)
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.analytics(ctx, base, o, note, sys)
	})
}

// analyticsSummary is what the benchmark reads of the summary.
type analyticsSummary struct {
	Current struct {
		Orders int64 `json:"orders"`
	} `json:"current"`
}

func (r *Runner) analytics(ctx context.Context, base string, o AnalyticsOptions, note string, sys *app.System) error {
	var token string
	if sys != nil {
		token = sys.Platform.Config.Web.AdminToken
	}
	token, err := r.adminToken(token)
	if err != nil {
		return err
	}
	bc := apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	guest := apiClient{base: base, http: bc.http}
	run := strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()))
	skus, err := createSKUs(ctx, bc, run, 3, int64(o.Orders)+10)
	if err != nil {
		return fmt.Errorf("bench analytics: prepare products: %w", err)
	}
	// Two days: an order placed just before midnight still counts.
	const summary = "/api/v1/admin/analytics/summary?days=2"
	count := func() (int64, error) {
		var s analyticsSummary
		_, err := bc.call(ctx, http.MethodGet, summary, nil, &s)
		return s.Current.Orders, err
	}
	fmt.Fprintf(r.Stderr, "placing and timing %d orders …\n", o.Orders)
	samples := make([]time.Duration, 0, o.Orders)
	start := time.Now()
	for i := range o.Orders {
		before, err := count()
		if err != nil {
			return fmt.Errorf("bench analytics: %w", err)
		}
		var out struct {
			Status   string `json:"status"`
			Timeline []struct {
				At     time.Time `json:"at"`
				Status string    `json:"status"`
			} `json:"timeline"`
		}
		body := map[string]any{
			"items": []map[string]any{{"sku": skus[i%len(skus)], "quantity": 1}},
			"email": fmt.Sprintf("bench-analytics-%s-%d@example.com", run, i%50),
			"shipping_address": map[string]string{
				"name": "Bench Buyer", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
			},
			"payment": map[string]string{"provider": "fake", "token": "tok_visa"},
		}
		if _, err := guest.callWith(ctx, http.MethodPost, "/api/v1/checkout", body, &out, "Idempotency-Key", fmt.Sprintf("bench-analytics-%s-%d", run, i)); err != nil {
			return fmt.Errorf("bench analytics: place order %d: %w", i, err)
		}
		var confirmed time.Time
		for _, e := range out.Timeline {
			if e.Status == "confirmed" {
				confirmed = e.At
			}
		}
		if out.Status != "confirmed" || confirmed.IsZero() {
			return fmt.Errorf("bench analytics: order %d is %q, want confirmed", i, out.Status)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := count()
			if err != nil {
				return fmt.Errorf("bench analytics: %w", err)
			}
			if n > before {
				samples = append(samples, time.Since(confirmed))
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench analytics: order %d not counted after 30 s", i)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.Poll):
			}
		}
	}
	slices.Sort(samples)
	p99 := pctl(samples, 0.99)
	verdict := "meets"
	if p99 >= analyticsGoal {
		verdict = "misses"
	}
	fmt.Fprintf(r.Stdout, "orders timed        %d in %s\n", len(samples), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(r.Stdout, "confirmed → counted p50 %s · p95 %s · p99 %s · max %s (%s the goal p99 < %s)\n",
		pctl(samples, 0.50).Round(100*time.Microsecond), pctl(samples, 0.95).Round(100*time.Microsecond),
		p99.Round(100*time.Microsecond), samples[len(samples)-1].Round(100*time.Microsecond), verdict, analyticsGoal)
	fmt.Fprintln(r.Stdout, "\nLatency runs from the order's confirmation (its timeline, set in the order service's transaction) to the first")
	fmt.Fprintf(r.Stdout, "GET %s that counts it (read every %s): commit, outbox relay, bus, the analytics consumer's\n", summary, o.Poll)
	fmt.Fprintln(r.Stdout, "log and fold, and the report's query.")
	fmt.Fprintf(r.Stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	return nil
}
