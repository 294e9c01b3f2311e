package web

import (
	"fmt"

	"github.com/danielgtaylor/huma/v2"
)

// Paging has one rule in every list of the API: a request without a limit
// gets the list's default page size, and a limit above the list's maximum
// gets the maximum; it is not refused. A client that asks for "everything"
// (limit=1000000) gets the largest page and a next_cursor, on every list
// alike. PageSize applies the rule, and checkPaging keeps operations from
// refusing large limits in their schema instead.

// PageSize returns the page size for a requested limit: def when limit is
// zero or less, max when limit is above it.
func PageSize(limit, def, max int) int {
	if limit <= 0 {
		return min(def, max)
	}
	return min(limit, max)
}

// checkPaging refuses, when an operation is registered, a limit query
// parameter whose schema has a maximum: huma would answer 422 above it,
// where the rule is to cap (PageSize).
func checkPaging(_ *huma.OpenAPI, op *huma.Operation) {
	for _, p := range op.Parameters {
		if p == nil || p.In != "query" || p.Name != "limit" || p.Schema == nil {
			continue
		}
		if p.Schema.Maximum != nil || p.Schema.ExclusiveMaximum != nil {
			panic(fmt.Sprintf("web: %s %s: the limit parameter has a maximum; a list caps the limit with web.PageSize instead of refusing it", op.Method, op.Path))
		}
	}
}
