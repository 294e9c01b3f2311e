package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestDatabaseUnavailableIs503 checks that an error a service does not map
// itself is a 503 with Retry-After when the database caused it
// (sqldb.ErrUnavailable anywhere in its chain), in every service alike,
// and still a bare 500 otherwise.
func TestDatabaseUnavailableIs503(t *testing.T) {
	t.Parallel()
	causes := map[string]error{
		"unavailable":    fmt.Errorf("load thing: %w", sqldb.ErrUnavailable),
		"commit-unknown": fmt.Errorf("save thing: %w", fmt.Errorf("sqldb: commit: %w", sqldb.ErrCommitUnknown)),
		"other":          fmt.Errorf("load thing: %w", context.DeadlineExceeded),
	}
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "get-fragile", Method: http.MethodGet, Path: "/api/v1/fragile/{name}"}),
			func(ctx context.Context, in *struct {
				Name string `path:"name"`
			}) (*struct{}, error) {
				return nil, causes[in.Name]
			})
	})
	for _, tt := range []struct {
		name       string
		status     int
		code       string
		retryAfter bool
		detail     string
	}{
		{"unavailable", 503, "unavailable", true, "retry shortly"},
		{"commit-unknown", 503, "unavailable", true, "Idempotency-Key"},
		{"other", 500, "internal", false, "internal error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, http.MethodGet, s.URL+"/api/v1/fragile/"+tt.name, "", nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			var p problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode problem: %v: %s", err, body)
			}
			if p.Code != tt.code || p.Status != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("problem = %+v, want code %q status %d and a detail with %q", p, tt.code, tt.status, tt.detail)
			}
			if got := resp.Header.Get("Retry-After"); (got != "") != tt.retryAfter {
				t.Errorf("Retry-After = %q, want one: %v", got, tt.retryAfter)
			}
			if strings.Contains(string(body), "sqldb") || strings.Contains(string(body), "thing") {
				t.Errorf("the answer leaks internals: %s", body)
			}
		})
	}
}
