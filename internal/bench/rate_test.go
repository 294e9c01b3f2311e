package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// TestRawCheckoutKeepsToTheRate: with a rate, the raw transaction is paced
// as the load generator paces Mercato, instead of running flat out.
func TestRawCheckoutKeepsToTheRate(t *testing.T) {
	db, err := sqldb.Open(t.Context(), sqldb.Options{Dir: t.TempDir(), Name: "bench_raw_rate"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := RawCheckout{DB: db, SKUs: 5}.Run(t.Context(), Load{Workers: 4, Rate: 40, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 80 due in the 2 s; a loaded machine may fall a little behind, never ahead.
	if res.Requests < 40 || res.Requests > 82 || res.Errors != 0 {
		t.Errorf("%d transactions (%d errors) at 40/s for 2s, want about 80", res.Requests, res.Errors)
	}
}

// TestComparisonInRateMode: at a fixed rate no throughput ratio is judged;
// the report says so and compares latencies.
func TestComparisonInRateMode(t *testing.T) {
	c := Comparison{
		Subject:  Result{Target: "mercato checkout", Throughput: 50, P50: 20 * time.Millisecond, P99: 80 * time.Millisecond},
		Baseline: Result{Target: "raw transaction", Throughput: 50, P50: 2 * time.Millisecond, P99: 8 * time.Millisecond},
		Goal:     0.5, Rate: 50,
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"rate mode: both offered 50/s", "no throughput ratio is judged", "p50 20.0ms ÷ 2.00ms (10.0×)", "p99 80.0ms ÷ 8.00ms (10.0×)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PASS") || strings.Contains(out, "BELOW") || c.Met() {
		t.Errorf("rate mode judged a goal:\n%s", out)
	}
}
