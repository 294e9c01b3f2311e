// Package arch checks the rules of the layout that the compiler does not:
// services never import each other's internals, only their <service>api
// contracts, and platform packages import no service at all.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/mercato/mercato/"

// services are the top-level packages under internal/ that are services.
var services = []string{"identity", "catalog", "inventory", "cart", "pricing", "order", "payment", "review",
	"search", "media", "notify", "invoice", "analytics", "staff", "tenant", "gateway", "storefront", "admin"}

// pages are the services that own no business data: they render pages
// from the other services' APIs (docs/decisions/0019-web-pages.md).
var pages = []string{"storefront", "admin"}

// edges are the services that own no data and no API of their own: the
// gateway forwards to the others (docs/decisions/0033). The import rules
// hold them like any service; the recipe of TestServiceShape does not.
var edges = []string{"gateway"}

// serviceOf returns the service a package path belongs to, and whether the
// package is that service's contract (<svc>/<svc>api).
func serviceOf(path string) (svc string, contract bool) {
	rest, ok := strings.CutPrefix(path, module+"internal/")
	if !ok {
		return "", false
	}
	first, sub, _ := strings.Cut(rest, "/")
	for _, s := range services {
		if first == s {
			return s, sub == s+"api" || strings.HasPrefix(sub, s+"api/")
		}
	}
	return "", false
}

func TestServiceBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/mercato/mercato/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		own, _ := serviceOf(pkg)
		platform := strings.HasPrefix(pkg, module+"internal/platform/")
		// Other packages under internal/ (bench, csvio, app…) are no
		// service either: they reach a service only through its contract,
		// as services do. Only the command (cmd/) and the tests wire
		// services themselves.
		tool := own == "" && !platform && strings.HasPrefix(pkg, module+"internal/")
		for _, imp := range imports {
			svc, contract := serviceOf(imp)
			if svc == "" || svc == own {
				continue
			}
			checked++
			switch {
			case platform:
				t.Errorf("%s (platform) imports service package %s", pkg, imp)
			case own != "" && !contract:
				t.Errorf("%s imports %s: services may import only another service's %sapi package", pkg, imp, svc)
			case tool && !contract:
				t.Errorf("%s imports %s: a package outside the services may import only a service's %sapi package (hand it what it needs from cmd/)", pkg, imp, svc)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cross-service import was examined: is the module path right?")
	}
}
