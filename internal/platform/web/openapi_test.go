package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type docItem struct {
	Name string `json:"name" pattern:"^[a-z]+$" patternDescription:"lowercase letters" doc:"The item's name"`
}

// TestOpenAPIDerivation checks what the platform adds to every operation
// of the document: security from who may call it, the Idempotency-Key
// header of mutating operations, and each 4xx answer it gives.
func TestOpenAPIDerivation(t *testing.T) {
	get := func(_ context.Context, _ *struct {
		ID string `path:"id"`
	}) (*struct{ Body docItem }, error) {
		return &struct{ Body docItem }{}, nil
	}
	post := func(_ context.Context, in *struct{ Body docItem }) (*struct{ Body docItem }, error) {
		return &struct{ Body docItem }{Body: in.Body}, nil
	}
	srv := webtest.New(t, func(api *web.API) {
		api.Tag("items", "Items.")
		huma.Register(api, web.Answers(web.Roles(huma.Operation{OperationID: "admin-get-item", Method: http.MethodGet,
			Path: "/api/v1/admin/items/{id}", Summary: "Get an item", Description: "An item.", Tags: []string{"items"}}, auth.RoleOwner, auth.RoleManager),
			web.Answer{Status: http.StatusNotFound, Code: "item_not_found", When: "no such item"}), get)
		huma.Register(api, web.NoAPIKeys(web.Roles(huma.Operation{OperationID: "admin-create-item", Method: http.MethodPost,
			Path: "/api/v1/admin/items", Summary: "Create an item", Description: "Makes one.", Tags: []string{"items"}}, auth.RoleOwner)), post)
		huma.Register(api, web.Customers(huma.Operation{OperationID: "my-items", Method: http.MethodGet,
			Path: "/api/v1/me/items/{id}", Summary: "My item", Description: "The customer's item.", Tags: []string{"items"}}), get)
		huma.Register(api, web.Public(huma.Operation{OperationID: "public-create-item", Method: http.MethodPost,
			Path: "/api/v1/items", Summary: "Propose an item", Description: "Anyone may.", Tags: []string{"items"}}, web.CustomerToken), post)
		api.OwnsIdempotency(http.MethodPost, "/api/v1/own-keys")
		huma.Register(api, web.Public(huma.Operation{OperationID: "own-keys", Method: http.MethodPost,
			Path: "/api/v1/own-keys", Summary: "Keep own keys", Description: "Its own outcomes.", Tags: []string{"items"}}), post)
	})
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if problems := webtest.DocumentProblems(raw); len(problems) > 0 {
		t.Errorf("document problems:\n%s", strings.Join(problems, "\n"))
	}
	type response struct {
		Description string `json:"description"`
	}
	type operation struct {
		Security   []map[string][]string `json:"security"`
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		Responses map[string]response `json:"responses"`
	}
	var doc struct {
		Paths      map[string]map[string]operation `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	schemes := func(op operation) []string {
		var out []string
		for _, req := range op.Security {
			if len(req) == 0 {
				out = append(out, "anonymous")
			}
			for s := range req {
				out = append(out, s)
			}
		}
		return out
	}
	codes := func(op operation) []string {
		var out []string
		for status, r := range op.Responses {
			if strings.HasPrefix(status, "4") {
				for _, part := range strings.Split(r.Description, "`") {
					if part != "" && !strings.ContainsAny(part, " .") {
						out = append(out, status+" "+part)
					}
				}
			}
		}
		slices.Sort(out)
		return out
	}
	hasKeyHeader := func(op operation) bool {
		return slices.ContainsFunc(op.Parameters, func(p struct {
			Name string `json:"name"`
			In   string `json:"in"`
		}) bool {
			return p.In == "header" && p.Name == "Idempotency-Key"
		})
	}
	for _, tt := range []struct {
		path, method string
		schemes      []string
		keyHeader    bool
		codes        []string
	}{
		{"/api/v1/admin/items/{id}", "get", []string{"adminToken", "staffToken", "apiKey"}, false,
			[]string{"400 invalid_host", "400 invalid_tenant", "401 unauthorized", "403 forbidden", "404 item_not_found", "404 unknown_tenant", "422 validation_failed"}},
		{"/api/v1/admin/items", "post", []string{"adminToken", "staffToken"}, true,
			[]string{"400 invalid_idempotency_key", "400 malformed_request", "400 invalid_host", "400 invalid_tenant", "401 unauthorized", "403 forbidden", "404 unknown_tenant",
				"409 idempotency_in_progress", "413 body_too_large", "415 unsupported_media_type", "422 idempotency_key_reused", "422 validation_failed"}},
		{"/api/v1/me/items/{id}", "get", []string{"customerToken"}, false,
			[]string{"400 invalid_host", "400 invalid_tenant", "401 unauthorized", "403 forbidden", "404 not_found", "404 unknown_tenant", "422 validation_failed"}},
		{"/api/v1/items", "post", []string{"anonymous", "customerToken"}, true,
			[]string{"400 invalid_idempotency_key", "400 malformed_request", "400 invalid_host", "400 invalid_tenant", "401 unauthorized", "404 unknown_tenant",
				"409 idempotency_in_progress", "413 body_too_large", "415 unsupported_media_type", "422 idempotency_key_reused", "422 validation_failed"}},
		{"/api/v1/own-keys", "post", nil, true,
			[]string{"400 malformed_request", "400 invalid_host", "400 invalid_tenant", "401 unauthorized", "404 unknown_tenant", "413 body_too_large", "415 unsupported_media_type", "422 validation_failed"}},
	} {
		op, ok := doc.Paths[tt.path][tt.method]
		if !ok {
			t.Errorf("%s %s is not in the document", tt.method, tt.path)
			continue
		}
		if got := schemes(op); !slices.Equal(got, tt.schemes) {
			t.Errorf("%s %s: security %v, want %v", tt.method, tt.path, got, tt.schemes)
		}
		if got := hasKeyHeader(op); got != tt.keyHeader {
			t.Errorf("%s %s: Idempotency-Key header documented %v, want %v", tt.method, tt.path, got, tt.keyHeader)
		}
		slices.Sort(tt.codes)
		if got := codes(op); !slices.Equal(got, tt.codes) {
			t.Errorf("%s %s: 4xx answers\n got %v\nwant %v", tt.method, tt.path, got, tt.codes)
		}
	}
	name := doc.Components.Schemas["DocItem"]["properties"].(map[string]any)["name"].(map[string]any)
	if name["x-pattern-description"] != "lowercase letters" || name["description"] != "The item's name. Format: lowercase letters." {
		t.Errorf("the pattern's description is %v, %q: want it in x-pattern-description and the description", name["x-pattern-description"], name["description"])
	}

	// The other renderings are cleaned alike.
	for _, path := range []string{"/openapi.yaml", "/openapi-3.0.json", "/openapi-3.0.yaml"} {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || !strings.Contains(string(b), "x-pattern-description") || strings.Contains(string(b), "patternDescription") {
			t.Errorf("%s: %d, %d bytes, want the cleaned document", path, r.StatusCode, len(b))
		}
	}

	// huma still words its validation message with the pattern's description.
	r, err := http.Post(srv.URL+"/api/v1/items", "application/json", strings.NewReader(`{"name":"Not Lower"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	msg, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(msg), "lowercase letters") {
		t.Errorf("invalid name: %d %s, want 422 naming the pattern's description", r.StatusCode, msg)
	}
}
