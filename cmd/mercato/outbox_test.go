package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestOutboxRepublish: after the demo seed, republishing the last hour
// sends again every event the seed wrote.
func TestOutboxRepublish(t *testing.T) {
	data := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		root := newRoot(append(args, "-data", data, "-log.level=error", "-metrics.addr="), &out, &out, func(string) string { return "" })
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	run("seed", "-demo")
	out := run("outbox", "republish", "-since=1h")
	m := regexp.MustCompile(`published again (\d+) events`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("republish said %q", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 40 {
		t.Errorf("republished %d events after the demo seed, want its events (at least one per product)", n)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2h", now.Add(-2 * time.Hour), true},
		{"2026-12-04T10:00:00Z", time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"-2h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := parseSince(tt.in, now)
		if (err == nil) != tt.ok || (tt.ok && !got.Equal(tt.want)) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
