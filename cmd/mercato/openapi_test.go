package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestOpenAPIDocument renders the whole system's OpenAPI document, every
// service's operations, as `mercato openapi` prints it, and checks what
// Redocly's and Spectral's recommended rules check in CI (.ci/run), so
// that a new operation without a description, a declared tag or its 4xx
// answers fails here first.
func TestOpenAPIDocument(t *testing.T) {
	var out, errs bytes.Buffer
	root := newRoot([]string{"openapi", "-data", t.TempDir(), "-log.level", "warn"}, &out, &errs, func(string) string { return "" })
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("mercato openapi: %v\n%s", err, errs.String())
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("the output is not the document: %v\n%.500s", err, out.String())
	}
	ops := 0
	for _, byMethod := range doc.Paths {
		ops += len(byMethod)
	}
	// Every service registers its operations: a handful would mean a
	// service is missing from the document.
	if doc.OpenAPI != "3.1.0" || ops < 100 {
		t.Fatalf("openapi %q with %d operations: want 3.1.0 with every service's", doc.OpenAPI, ops)
	}
	for _, p := range webtest.DocumentProblems(out.Bytes()) {
		t.Error(p)
	}
}
