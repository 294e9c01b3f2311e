package tenant_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/tenant"
)

// TestOpenAPISchemas: the JSON marshallers that escape HTML leave the
// documented schemas as the fields describe them.
func TestOpenAPISchemas(t *testing.T) {
	db := sqldbtest.Open(t, "", tenant.Migrations...)
	e := newEnv(t, db)
	a := e.do(http.MethodGet, "/openapi.json", nil, nil)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	a.decode(t, &doc)
	for schema, props := range map[string][]string{
		"TenantStore":         {"id", "name", "currency", "hosts", "plan", "cors_origins", "brand_color", "accent_color"},
		"TenantAPIKeyCreated": {"id", "name", "key", "prefix"},
		"TenantSignup":        {"store_name", "subdomain", "email", "password"},
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("no schema %s", schema)
			continue
		}
		for _, p := range props {
			if _, ok := s.Properties[p]; !ok {
				raw, _ := json.Marshal(s)
				t.Errorf("schema %s lacks %s: %s", schema, p, raw)
			}
		}
	}
	// A signup does not choose its plan: the public request has no such
	// field (and refuses unknown ones).
	if _, ok := doc.Components.Schemas["TenantSignup"].Properties["plan"]; ok {
		t.Error("the public signup request documents a plan")
	}
}
