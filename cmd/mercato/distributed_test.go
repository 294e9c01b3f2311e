package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDistributedDocsCalls keeps the table of docs/distributed.md (which
// services each service calls, so which -urls its process needs) true to
// services.go: a service calls another when its constructor names it, or
// when it builds the pages' clients (newPageClients).
func TestDistributedDocsCalls(t *testing.T) {
	want := callsFromCode(t)
	doc, err := os.ReadFile("../../docs/distributed.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z]+)` \\|[^|]*\\|([^|]*)\\|")
	name := regexp.MustCompile("`([a-z]+)`")
	got := map[string][]string{}
	for line := range strings.SplitSeq(string(doc), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		calls := []string{}
		for _, n := range name.FindAllStringSubmatch(m[2], -1) {
			calls = append(calls, n[1])
		}
		slices.Sort(calls)
		got[m[1]] = calls
	}
	for _, svc := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(got[svc], want[svc]) {
			t.Errorf("docs/distributed.md: %s calls %v, services.go says %v", svc, got[svc], want[svc])
		}
	}
	for svc := range got {
		if _, ok := want[svc]; !ok {
			t.Errorf("docs/distributed.md lists %s, which services.go does not have", svc)
		}
	}
}

// callsFromCode reads services.go and pages.go: for each service entry,
// the other services' names its New function mentions.
func callsFromCode(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	parse := func(name string) *ast.File {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	names := func(n ast.Node) map[string]bool {
		out := map[string]bool{}
		ast.Inspect(n, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out[s] = true
				}
			}
			return true
		})
		return out
	}
	var pages map[string]bool
	for _, d := range parse("pages.go").Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "newPageClients" {
			pages = names(fn.Body)
		}
	}
	entries := map[string]ast.Node{}
	ast.Inspect(parse("services.go"), func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var name string
		var newFn ast.Node
		for _, e := range cl.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch k := kv.Key.(*ast.Ident); {
			case k == nil:
			case k.Name == "Name":
				if lit, ok := kv.Value.(*ast.BasicLit); ok {
					name, _ = strconv.Unquote(lit.Value)
				}
			case k.Name == "New":
				newFn = kv.Value
			}
		}
		if name != "" && newFn != nil {
			entries[name] = newFn
		}
		return true
	})
	if len(entries) < 10 {
		t.Fatalf("found %d service entries in services.go", len(entries))
	}
	out := map[string][]string{}
	for svc, fn := range entries {
		mentioned := names(fn)
		usesPages := false
		ast.Inspect(fn, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == "newPageClients" {
				usesPages = true
			}
			return true
		})
		if usesPages {
			maps.Copy(mentioned, pages)
		}
		calls := []string{}
		for other := range mentioned {
			if _, isService := entries[other]; isService && other != svc {
				calls = append(calls, other)
			}
		}
		slices.Sort(calls)
		out[svc] = calls
	}
	return out
}
