package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchFlow runs a short guest-flow benchmark of the laptop shape and
// checks its report: orders counted through the flow and its steps and
// through the one-call checkout, their ratio judged, and every invariant
// of what the run left behind held (the command fails otherwise).
func TestBenchFlow(t *testing.T) {
	var out, progress bytes.Buffer
	root := newRoot([]string{"bench", "flow", "-duration", "1s", "-warmup", "200ms", "-workers", "2", "-skus", "3",
		"-data", t.TempDir()}, &out, &progress, func(string) string { return "" })
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("bench flow: %v\n%s\n%s", err, out.String(), progress.String())
	}
	report := out.String()
	// row returns the requests and errors of a row of the table.
	row := func(name string) (requests, errors int) {
		t.Helper()
		m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +(\d+) .* (\d+)$`).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("report has no row %q:\n%s", name, report)
		}
		requests, _ = strconv.Atoi(m[1])
		errors, _ = strconv.Atoi(m[2])
		return requests, errors
	}
	flows, failed := row("guest flow")
	if flows < 1 || failed != 0 {
		t.Errorf("%d flows, %d failed; want some, none failed:\n%s", flows, failed, report)
	}
	creates, _ := row("· create cart")
	adds, _ := row("· add line")
	checkouts, _ := row("· check out cart")
	if creates != flows || adds != 3*flows || checkouts != flows {
		t.Errorf("steps %d, %d, %d for %d flows; want one cart, 3 lines and one checkout each:\n%s", creates, adds, checkouts, flows, report)
	}
	if n, failed := row("mercato checkout"); n < 1 || failed != 0 {
		t.Errorf("%d one-call checkouts, %d failed; want some, none failed:\n%s", n, failed, report)
	}
	for _, want := range []string{"ratio guest flow ÷ mercato checkout: ", "goal of 0.60", "invariants after the run:", "ok   outbox drained"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "FAIL") {
		t.Errorf("an invariant failed:\n%s", report)
	}
}
