package main

import (
	"log/slog"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/gateway"
)

// TestRouteOwnership builds every service in one process, as `mercato`
// does, and checks that the gateway sends each route a service registers
// (every operation of the OpenAPI document `mercato openapi` prints, and
// every page and file pattern beside it) to that service and no other.
func TestRouteOwnership(t *testing.T) {
	fs := pflag.NewFlagSet("mercato", pflag.ContinueOnError)
	var cfg app.Config
	cfg.RegisterFlags(fs)
	list := services(fs)
	if err := fs.Parse([]string{"--data", t.TempDir(), "--seed-demo=false"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Validate != nil && s.Selected(cfg) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	}
	sys, err := app.Build(t.Context(), cfg, slog.New(slog.DiscardHandler), "test", list, edges)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	routes := sys.Routes()
	if len(routes) < 150 {
		t.Fatalf("%d routes: every service's should be there", len(routes))
	}
	for _, r := range routes {
		if got := gateway.Owner(r.Path); got != r.Service {
			t.Errorf("%s %s is %s's; the gateway sends it to %q", r.Method, r.Path, r.Service, got)
		}
	}
	// The documents and the keys have owners too.
	for path, want := range map[string]string{"/openapi.json": "(docs)", "/docs/": "(docs)", "/.well-known/jwks.json": "identity", "/api/v1/nothing": ""} {
		if got := gateway.Owner(path); got != want {
			t.Errorf("%s goes to %q, want %q", path, got, want)
		}
	}
}
