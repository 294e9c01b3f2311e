package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestNormalizeArgs(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"-addr=:9090", "-db", "postgres://x"}, []string{"--addr=:9090", "--db", "postgres://x"}},
		{[]string{"--addr=:9090", "-h"}, []string{"--addr=:9090", "-h"}},
		{[]string{"seed", "-demo"}, []string{"seed", "--demo"}},
		{[]string{"dead-letters", "replay", "-group=g", "--", "-x"}, []string{"dead-letters", "replay", "--group=g", "--", "-x"}},
		{[]string{"-limit", "-5"}, []string{"--limit", "-5"}},
	} {
		if got := normalizeArgs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHelp keeps `mercato --help` (every flag, its default and its text)
// under review: run with -update after an intended change.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	root := newRoot([]string{"--help"}, &out, &out, func(string) string { return "" })
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "help.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("help differs from %s (run go test ./cmd/mercato -update if intended):\n%s", golden, out.String())
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	env := map[string]string{"MERCATO_ADDR": "127.0.0.1:9999", "MERCATO_SERVICES": "catalog,tenant", "MERCATO_CATALOG_PAGE_SIZE": "7"}
	var out bytes.Buffer
	root := newRoot([]string{"version", "-data", t.TempDir()}, &out, &out, func(k string) string { return env[k] })
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	fs := root.PersistentFlags()
	for name, want := range map[string]string{"addr": "127.0.0.1:9999", "services": "[catalog,tenant]", "catalog.page-size": "7"} {
		if got := fs.Lookup(name).Value.String(); got != want {
			t.Errorf("-%s = %q, want %q from the environment", name, got, want)
		}
	}
	// A flag on the command line wins over the environment.
	root = newRoot([]string{"version", "-addr=127.0.0.1:1234"}, &out, &out, func(k string) string { return env[k] })
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := root.PersistentFlags().Lookup("addr").Value.String(); got != "127.0.0.1:1234" {
		t.Errorf("-addr = %q, want the flag's value", got)
	}
}

// TestServiceConfigValidatedAtStart: every service's flags are checked
// before anything starts, as given on the command line (not as their
// defaults), and every mistake is reported at once.
func TestServiceConfigValidatedAtStart(t *testing.T) {
	var out bytes.Buffer
	root := newRoot([]string{"version", "-data", t.TempDir(), "-pricing.default-country=ZZZ9", "-inventory.sweep-interval=0s"},
		&out, &out, func(string) string { return "" })
	err := root.Execute()
	if err == nil {
		t.Fatal("invalid service flags accepted")
	}
	for _, want := range []string{"invalid configuration", `default-country "ZZZ9"`, "sweep"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
