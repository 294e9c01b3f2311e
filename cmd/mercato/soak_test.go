package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
)

// TestBenchSoak runs a short soak of the laptop shape and checks that the
// report has its figures: orders placed, none failed, and the connections,
// memory, log and data measured.
func TestBenchSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Mercato and shops for seconds")
	}
	var out, progress bytes.Buffer
	root := newRoot([]string{"bench", "soak", "-duration", "3s", "-workers", "2", "-log.access=all", "-data", t.TempDir()}, &out, &progress, func(string) string { return "" })
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("soak: %v\n%s\n%s", err, out.String(), progress.String())
	}
	report := out.String()
	number := func(pattern string) float64 {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("report has no %q:\n%s", pattern, report)
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := number(`orders +(\d+) confirmed`); n < 1 {
		t.Errorf("%v orders confirmed, want some", n)
	}
	if n := number(`flows, (\d+) failed`); n != 0 {
		t.Errorf("%v flows failed:\n%s", n, report)
	}
	if n := number(`open descriptors of the SQLite files: (\d+)`); n < 1 {
		t.Errorf("%v SQLite files open, want some", n)
	}
	if n := number(`RSS peak (\d+) MiB`); n < 10 {
		t.Errorf("RSS peak %v MiB, want a real figure", n)
	}
	// With every request logged, every order costs log lines.
	if n := number(`in \d+ lines during the run · (\d+) bytes per order`); n < 100 {
		t.Errorf("log bytes per order %v with -log.access=all, want the access lines counted", n)
	}
	if n := number(`by database, bytes per order: .*order (\d+)`); n <= 0 {
		t.Errorf("the order database grew %v bytes per order, want the orders", n)
	}
}
