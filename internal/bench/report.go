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

// Met reports whether the ratio reaches the goal.
func (c Comparison) Met() bool {
	return c.Baseline.Throughput > 0 && c.Ratio() >= c.Goal
}

// Write writes the ratio and the verdict against the goal: PASS or BELOW.
func (c Comparison) Write(w io.Writer) error {
	var err error
	switch {
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
