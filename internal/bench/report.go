package bench

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes results as an aligned table, one row per target, then a
// line per target that had errors, naming their kinds.
func WriteTable(w io.Writer, results ...Result) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', tabwriter.AlignRight)
	width := len("target")
	for _, r := range results {
		width = max(width, len(r.Target))
	}
	// Cells align right; the names, padded to one width, read as left-aligned.
	fmt.Fprintf(tw, "%-*s\trequests\treq/s\tp50\tp95\tp99\tmax\terrors\t\n", width, "target")
	for _, r := range results {
		fmt.Fprintf(tw, "%-*s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n",
			width, r.Target, r.Requests, r.Throughput, FormatDuration(r.P50), FormatDuration(r.P95),
			FormatDuration(r.P99), FormatDuration(r.Max), r.Errors)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, r := range results {
		if r.Errors == 0 {
			continue
		}
		kinds := make([]string, len(r.ErrorKinds))
		for i, k := range r.ErrorKinds {
			kinds[i] = fmt.Sprintf("%d × %s", k.Count, k.Kind)
		}
		fmt.Fprintf(bw, "errors of %s: %s\n", r.Target, strings.Join(kinds, "; "))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// Comparison sets a subject's throughput against a baseline's, with a goal
// for their ratio.
type Comparison struct {
	Subject  Result
	Baseline Result
	// Goal is the least acceptable Subject ÷ Baseline throughput ratio.
	Goal float64
	// Rate is the requests (or transactions) per second both targets were
	// offered; 0 means each went as fast as it could. At a rate both can
	// keep up with, their throughputs are the rate and their ratio says
	// nothing: the comparison is then of latency, and judges no goal.
	Rate int
}

// Ratio is the subject's throughput (good responses per second) divided by
// the baseline's, or 0 when the baseline has none.
func (c Comparison) Ratio() float64 {
	if c.Baseline.Throughput <= 0 {
		return 0
	}
	return c.Subject.Throughput / c.Baseline.Throughput
}

// Median returns the comparison with the median ratio of cs (the lower of
// the two middle ones for an even count). cs must not be empty.
func Median(cs []Comparison) Comparison {
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b Comparison) int { return cmp.Compare(a.Ratio(), b.Ratio()) })
	return sorted[(len(sorted)-1)/2]
}

// Met reports whether the ratio reaches the goal; never in rate mode,
// where no goal is judged.
func (c Comparison) Met() bool {
	return c.Rate == 0 && c.Baseline.Throughput > 0 && c.Ratio() >= c.Goal
}

// Write writes the ratio and the verdict against the goal: PASS or BELOW.
// In rate mode it writes what a fixed rate can compare instead: whether
// each target kept up with the rate, and their latencies.
func (c Comparison) Write(w io.Writer) error {
	var err error
	switch {
	case c.Rate > 0:
		_, err = fmt.Fprintf(w, "rate mode: both offered %d/s, so req/s is the rate sent, not what either can do; no throughput ratio is judged (leave -rate at 0 for that).\n"+
			"%s kept %.0f/s, %s kept %.0f/s.\n"+
			"latency %s ÷ %s: p50 %s ÷ %s (%.1f×), p99 %s ÷ %s (%.1f×)\n",
			c.Rate, c.Subject.Target, c.Subject.Throughput, c.Baseline.Target, c.Baseline.Throughput,
			c.Subject.Target, c.Baseline.Target,
			FormatDuration(c.Subject.P50), FormatDuration(c.Baseline.P50), times(c.Subject.P50, c.Baseline.P50),
			FormatDuration(c.Subject.P99), FormatDuration(c.Baseline.P99), times(c.Subject.P99, c.Baseline.P99))
	case c.Baseline.Throughput <= 0:
		_, err = fmt.Fprintf(w, "ratio %s ÷ %s: none (the baseline served no good response)\n", c.Subject.Target, c.Baseline.Target)
	case c.Met():
		_, err = fmt.Fprintf(w, "ratio %s ÷ %s: %.2f (req/s)\nPASS: at or above the goal of %.2f\n", c.Subject.Target, c.Baseline.Target, c.Ratio(), c.Goal)
	default:
		_, err = fmt.Fprintf(w, "ratio %s ÷ %s: %.2f (req/s)\nBELOW the goal of %.2f\n", c.Subject.Target, c.Baseline.Target, c.Ratio(), c.Goal)
	}
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// times is a ÷ b, or 0 when b is none.
func times(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// FormatDuration writes a latency with three significant digits at most:
// 87µs, 1.24ms, 12.4ms, 124ms, 1.24s.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
