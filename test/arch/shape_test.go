package arch

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// root is the repository root, from this package's directory.
const root = "../.."

// notServices are the top-level packages under internal/ that are not
// services.
var notServices = []string{"app", "platform", "bench", "csvio"}

// TestEveryPackageIsKnown: a new top-level package under internal/ is a
// service (and then TestServiceShape holds it to the recipe) or one of the
// few that are not; it cannot slip past both.
func TestEveryPackageIsKnown(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(root, "internal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(services, e.Name()) && !slices.Contains(notServices, e.Name()) {
			t.Errorf("internal/%s is neither a service (add it to services) nor a known non-service package", e.Name())
		}
	}
}

// TestServiceShape holds every service to docs/architecture.md's "Adding
// a service": its contract package, its sqlc config and migrations beside
// it, one constructor signature over a Deps that embeds kit.Deps, its
// migrations including the outbox's, its access table checked against the
// OpenAPI document, no local copies of the kit's pieces, no operations.go,
// and its entry in cmd/mercato/services.go.
func TestServiceShape(t *testing.T) {
	registry, err := os.ReadFile(filepath.Join(root, "cmd/mercato/services.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, svc := range services {
		dir := filepath.Join(root, "internal", svc)
		if slices.Contains(edges, svc) {
			continue
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) == 1 && entries[0].Name() == svc+"api" {
			continue // a service still to come, or only its contract published ahead of it
		}
		found++
		t.Run(svc, func(t *testing.T) {
			checkServiceShape(t, svc, dir, string(registry))
		})
	}
	if found == 0 {
		t.Fatal("no service found: is the root right?")
	}
}

func checkServiceShape(t *testing.T, svc, dir, registry string) {
	isPages := slices.Contains(pages, svc)
	for _, p := range []string{svc + "api", "sqlc.yaml", "migrations", "queries", "http.go"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil && !isPages {
			t.Errorf("no %s beside the service", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "operations.go")); err == nil {
		t.Error("operations.go: name files after the concept they act on")
	}
	if _, err := os.Stat(filepath.Join(dir, svc+".go")); err != nil {
		t.Errorf("no %s.go (package doc, Config, Deps, Service, New)", svc)
	}

	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	pkg := pkgs[svc]
	if pkg == nil {
		t.Fatalf("no package %s in %s", svc, dir)
	}
	files := pkg.Files
	if ext := pkgs[svc+"_test"]; ext != nil {
		files = maps.Clone(files)
		maps.Copy(files, ext.Files)
	}
	expr := func(e ast.Expr) string {
		var b bytes.Buffer
		_ = printer.Fprint(&b, fset, e)
		return b.String()
	}
	var (
		newSig, newFirst, depsEmbed, migrations string
		access, accessChecked, doc              bool
	)
	for name, f := range files {
		test := strings.HasSuffix(name, "_test.go")
		if test {
			ast.Inspect(f, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && expr(c.Fun) == "webtest.CheckDocumentedRoles" && len(c.Args) == 3 && strings.HasSuffix(expr(c.Args[2]), "ccess") {
					accessChecked = true
				}
				return true
			})
			continue
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+svc+" ") {
			doc = true
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					continue
				}
				switch d.Name.Name {
				case "New":
					newSig = expr(d.Type)
					if d.Body != nil && len(d.Body.List) > 0 {
						var b bytes.Buffer
						_ = printer.Fprint(&b, fset, d.Body.List[0])
						newFirst = b.String()
					}
				case "newID", "micros", "fromMicros", "nullTime", "timePtr", "encodeCursor", "decodeCursor":
					t.Errorf("%s: func %s is a copy of the kit's or sqldb's (kit.NewID, sqldb.Micros…, kit.Cursor)", fset.Position(d.Pos()), d.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						switch s.Name.Name {
						case "Deps":
							if st, ok := s.Type.(*ast.StructType); ok && len(st.Fields.List) > 0 && st.Fields.List[0].Names == nil {
								depsEmbed = expr(st.Fields.List[0].Type)
							}
						case "FieldError", "ValidationError", "cursor":
							t.Errorf("%s: type %s is a copy of the kit's", fset.Position(s.Pos()), s.Name.Name)
						}
					case *ast.ValueSpec:
						for i, n := range s.Names {
							switch {
							case n.Name == "Migrations" && i < len(s.Values):
								migrations = expr(s.Values[i])
							case n.Name == "access" && filepath.Base(name) == "http.go":
								access = s.Type == nil && i < len(s.Values) && strings.HasPrefix(expr(s.Values[i]), "map[string][]auth.Role{")
							}
						}
					}
				}
			}
		}
	}
	if !doc {
		t.Errorf("no package doc (// Package %s …)", svc)
	}
	if want := "func(ctx context.Context, cfg Config, deps Deps) (*Service, error)"; newSig != want {
		t.Errorf("New is %q, want %q", newSig, want)
	}
	if newFirst != "cfg = cfg.withDefaults()" {
		t.Errorf("New begins with %q, want cfg = cfg.withDefaults(): the defaults are filled in one place, then validated", newFirst)
	}
	if depsEmbed != "kit.Deps" {
		t.Errorf("Deps does not embed kit.Deps first (found %q)", depsEmbed)
	}
	switch {
	case isPages:
		if migrations != "[]sqldb.Migrations{session.Migrations}" {
			t.Errorf("Migrations is %q, want []sqldb.Migrations{session.Migrations}: pages keep web sessions and no business data", migrations)
		}
		access, accessChecked = true, true // pages have no API operations of their own
	case !strings.HasPrefix(migrations, "[]sqldb.Migrations{outbox.Migrations, "):
		t.Errorf("Migrations is %q, want []sqldb.Migrations{outbox.Migrations, …}: the service brings every set it needs", migrations)
	}
	if !access {
		t.Error("http.go declares no access table (var access = map[string][]auth.Role{…})")
	}
	if !accessChecked {
		t.Error("no test checks the access table against the OpenAPI document (webtest.CheckDocumentedRoles)")
	}
	for _, want := range []string{
		`Name: "` + svc + `"`,
		`p.Deps(ctx, "` + svc + `", ` + svc + `.Migrations...)`,
		svc + `.New(ctx, `,
	} {
		if !strings.Contains(registry, want) {
			t.Errorf("cmd/mercato/services.go lacks %s", want)
		}
	}
}
