package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/app"
)

// warner is a service whose configuration deserves a warning.
type warner struct{}

func (warner) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (warner) Warnings() []string            { return []string{"a test-only part is enabled"} }

// TestWarningsOnReadyz: a service's configuration warning is shown on
// /readyz, which still answers 200 "ready".
func TestWarningsOnReadyz(t *testing.T) {
	_, url := serve(t, app.Service{Name: "warner", New: func(context.Context, *app.Platform) (any, error) {
		return warner{}, nil
	}})
	status, body := call(t, "GET", url+"/readyz", "")
	if status != 200 || !strings.HasPrefix(body, "ready\n") || !strings.Contains(body, "warning: warner: a test-only part is enabled\n") {
		t.Fatalf("readyz: %d %q; want 200, ready and the warning", status, body)
	}
	_, quiet := serve(t)
	if status, body := call(t, "GET", quiet+"/readyz", ""); status != 200 || body != "ready\n" {
		t.Fatalf("readyz without warnings: %d %q; want 200 ready", status, body)
	}
}

// TestDataSecret: a secret is generated once per data directory, kept
// there readable by its owner only, and the same on every later start; two
// data directories get different ones.
func TestDataSecret(t *testing.T) {
	dir := t.TempDir()
	first, fresh, err := app.DataSecret(dir, "some-secret", "whsec_")
	if err != nil || !fresh || !strings.HasPrefix(first, "whsec_") || len(first) < len("whsec_")+48 {
		t.Fatalf("first: %q, fresh %v, %v", first, fresh, err)
	}
	again, fresh, err := app.DataSecret(dir, "some-secret", "whsec_")
	if err != nil || fresh || again != first {
		t.Fatalf("again: %q, fresh %v, %v; want %q kept", again, fresh, err, first)
	}
	fi, err := os.Stat(filepath.Join(dir, "some-secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v; want mode 0600", fi, err)
	}
	other, _, err := app.DataSecret(t.TempDir(), "some-secret", "whsec_")
	if err != nil || other == first {
		t.Fatalf("another data directory: %q, %v; want a secret of its own", other, err)
	}
}
