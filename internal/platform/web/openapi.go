package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/yaml"

	"github.com/mercato/mercato/internal/platform/auth"
)

// The OpenAPI document.
//
// Services register operations with a summary, a description, tags and who
// may call them (Admin, Roles, Customers, Public, SignedIn); the platform
// derives the rest when an operation is added (document): the security
// requirements from the roles, the Idempotency-Key header of mutating
// operations, and every 4xx answer the platform itself gives (credentials,
// roles, the tenant, the body, parameters, idempotency keys). A service adds
// the answers only its handlers give with Answers. The document is served
// at /openapi.json (and .yaml, and as OpenAPI 3.0 at /openapi-3.0.json and
// .yaml), rendered by API.Document.

// The security schemes of the document, one per kind of caller.
const (
	// AdminToken is the deployment's admin token (and the service token
	// its processes call each other with).
	AdminToken = "adminToken"
	// StaffToken is a staff member's access token.
	StaffToken = "staffToken"
	// CustomerToken is a signed-in customer's access token.
	CustomerToken = "customerToken"
	// APIKey is a store API key.
	APIKey = "apiKey"
)

// License is the license the OpenAPI document names.
var License = &huma.License{Name: "Apache License 2.0", Identifier: "Apache-2.0"}

func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		AdminToken: {Type: "http", Scheme: "bearer", Description: "The deployment's admin token: -admin-token " +
			"(MERCATO_ADMIN_TOKEN), or in laptop mode the one printed at first start and kept in the data " +
			"directory, which stops working in a store once the store has an owner. It may call every " +
			"operation of every store. Send it as Authorization: Bearer <token>."},
		StaffToken: {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "A staff member's access " +
			"token, from POST /api/v1/staff/auth/login (or the owner's, from the store signup). Valid in its own " +
			"store only, for about 15 minutes; what it may call depends on the member's role (owner, manager, " +
			"staff, support). Signed with EdDSA; the public keys are at /.well-known/jwks.json. Send it as " +
			"Authorization: Bearer <token>."},
		CustomerToken: {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "A customer's access " +
			"token, from POST /api/v1/auth/register, /api/v1/auth/login or /api/v1/auth/refresh. Valid in its own " +
			"store only, for about 15 minutes. Signed with EdDSA; the public keys are at /.well-known/jwks.json. " +
			"Send it as Authorization: Bearer <token>."},
		APIKey: {Type: "apiKey", In: "header", Name: APIKeyHeader, Description: "A store API key, made by the " +
			"store's owner (POST /api/v1/admin/store/api-keys). A secret key (sk_…) is a server integration " +
			"acting for the store: it may call what a manager may, except managing keys. A publishable key " +
			"(pk_…) only names the store. It may also be sent as Authorization: Bearer <key>."},
	}
}

// Answer is a problem an operation answers: its status, its stable code,
// and when, in words for the API's users.
type Answer struct {
	Status int
	Code   string
	When   string
}

// Metadata keys of the OpenAPI document's derivation.
const (
	answersKey         = "mercato.answers"
	pathMayNotExistKey = "mercato.path-may-not-exist"
)

// PathMayNotExist marks op as one whose path parameters may name what does
// not exist (a SKU stocked on first use, an order with nothing to release):
// the document then gives it no "not found" answer for them.
func PathMayNotExist(op huma.Operation) huma.Operation {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[pathMayNotExistKey] = true
	return op
}

// Answers documents problems op answers that the platform cannot know of:
// the service's own (409 out_of_stock, 402 payment_declined, a 404 that
// names what is missing). The platform's answers (401, 403, the tenant's
// 404, the body's 400, 413, 415 and 422, the Idempotency-Key's) are added
// to the document by itself.
func Answers(op huma.Operation, answers ...Answer) huma.Operation {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	prior, _ := op.Metadata[answersKey].([]Answer)
	op.Metadata[answersKey] = append(slices.Clip(prior), answers...)
	return op
}

// SignedIn marks op as public to the platform but needing one of the given
// credentials (security scheme names), which its handler checks: the
// document lists them as the operation's security, so that clients send
// them.
func SignedIn(op huma.Operation, schemes ...string) huma.Operation {
	op.Security = make([]map[string][]string, 0, len(schemes))
	for _, s := range schemes {
		op.Security = append(op.Security, map[string][]string{s: {}})
	}
	return op
}

// Tag declares an operation tag with its description in the document.
// Every tag an operation uses must be declared.
func (a *API) Tag(name, description string) {
	oapi := a.OpenAPI()
	for _, t := range oapi.Tags {
		if t.Name == name {
			t.Description = description
			return
		}
	}
	oapi.Tags = append(oapi.Tags, &huma.Tag{Name: name, Description: description})
}

// SecurityScheme adds a security scheme to the document, for credentials
// that a service checks itself (a session cookie).
func (a *API) SecurityScheme(name string, s *huma.SecurityScheme) {
	a.OpenAPI().Components.SecuritySchemes[name] = s
}

// Moved registers handler at op.Path and, left out of the document and
// marked deprecated, at the path the operation had before, so that callers
// of the old path (another process of an older release) keep working.
func Moved[I, O any](api huma.API, op huma.Operation, old string, handler func(context.Context, *I) (*O, error)) {
	huma.Register(api, op, handler)
	op.Path, op.Hidden, op.Deprecated = old, true, true
	huma.Register(api, op, handler)
}

// reason is one documented cause of a status.
type reason struct{ code, when string }

// document completes op as it is added to the OpenAPI document: its
// security, its Idempotency-Key header and its 4xx answers. An operation
// that keeps its own Idempotency-Key outcomes (OwnsIdempotency, called
// before it is registered) documents its own answers to them.
func (a *API) document(oapi *huma.OpenAPI, op *huma.Operation) {
	a.addRoute(op.Method, op.Path)
	_, ownKeys := a.ownKeys.Load(op.Method + " " + op.Path)
	guarded := needsAdmin(op)
	customers, _ := op.Extensions[CustomersExtension].(bool)
	if guarded {
		op.Security = guardSecurity(op)
	}
	underAPI := strings.HasPrefix(op.Path, "/api/")
	mutating := op.Method != http.MethodGet && op.Method != http.MethodHead && op.Method != http.MethodOptions
	if underAPI && mutating && !hasParam(op, "header", "Idempotency-Key") {
		op.Parameters = append(op.Parameters, &huma.Param{
			Name: "Idempotency-Key", In: "header",
			Description: "Makes a retry safe: a request repeated with the same key (within 24 hours, by a caller " +
				"with credentials) is answered with the first one's outcome instead of being done again. " +
				"1 to 255 printable ASCII characters, unique per distinct request.",
			Schema: &huma.Schema{Type: "string", MinLength: ptr(1), MaxLength: ptr(255)},
		})
	}

	reasons := map[int][]reason{}
	add := func(status int, code, when string) {
		for _, r := range reasons[status] {
			if r.code == code && code != "" {
				return
			}
		}
		reasons[status] = append(reasons[status], reason{code, when})
	}
	// The service's own answers first: they are the ones users look for.
	answers, _ := op.Metadata[answersKey].([]Answer)
	for _, a := range answers {
		add(a.Status, a.Code, a.When)
	}
	if underAPI {
		switch {
		case guarded || customers || len(op.Security) > 0 && !slices.ContainsFunc(op.Security, func(m map[string][]string) bool { return len(m) == 0 }):
			add(http.StatusUnauthorized, "unauthorized", "no credentials were sent, or they are not valid for this store (expired, forged, another store's, retired)")
		default:
			add(http.StatusUnauthorized, "unauthorized", "credentials were sent but are not valid for this store (expired, forged, another store's); send none to call it anonymously")
		}
		switch {
		case guarded:
			roles, _ := OperationRoles(op)
			add(http.StatusForbidden, "forbidden", "the caller's role may not do this (allowed: "+callers(op, roles)+")")
		case customers:
			add(http.StatusForbidden, "forbidden", "the caller is not a customer of this store (staff, API keys and the admin token have no account here)")
		}
		add(http.StatusBadRequest, "invalid_tenant", "X-Mercato-Tenant is not a store ID or subdomain (1 to 63 of a-z, 0-9 and '-')")
		add(http.StatusBadRequest, "invalid_host", "the Host header names no host (and no X-Mercato-Tenant was sent)")
		add(http.StatusNotFound, "unknown_tenant", "no store answers at this host name or X-Mercato-Tenant")
	}
	anyPath, _ := op.Metadata[pathMayNotExistKey].(bool)
	for _, p := range op.Parameters {
		if p.In == "path" && !anyPath && !slices.ContainsFunc(reasons[http.StatusNotFound], func(r reason) bool { return r.code != "unknown_tenant" }) {
			add(http.StatusNotFound, "not_found", "nothing of this store has the "+p.Name+" in the path")
		}
	}
	if op.RequestBody != nil {
		add(http.StatusBadRequest, "malformed_request", "the body is not valid JSON, or is missing")
		add(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than the server accepts (-http.max-body, 1 MiB by default)")
		add(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body's Content-Type is not JSON")
		add(http.StatusUnprocessableEntity, "validation_failed", "the body does not match its schema: errors lists each field at fault")
	}
	if slices.ContainsFunc(op.Parameters, func(p *huma.Param) bool { return p.Name != "Idempotency-Key" }) {
		add(http.StatusUnprocessableEntity, "validation_failed", "a parameter does not match its schema: errors lists each one at fault")
	}
	if underAPI && mutating && !ownKeys {
		add(http.StatusBadRequest, "invalid_idempotency_key", "the Idempotency-Key is longer than 255 characters or not printable ASCII")
		add(http.StatusConflict, "idempotency_in_progress", "a request with the same Idempotency-Key is still being served; retry shortly")
		add(http.StatusUnprocessableEntity, "idempotency_key_reused", "the Idempotency-Key was used with a different request")
	}

	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	problem := oapi.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "Problem")
	for status, rs := range reasons {
		key := strconv.Itoa(status)
		res := op.Responses[key]
		if res == nil {
			res = &huma.Response{}
			op.Responses[key] = res
		}
		if res.Content == nil {
			res.Content = map[string]*huma.MediaType{"application/problem+json": {Schema: problem}}
		}
		res.Description = describe(status, res.Description, rs)
	}
}

// describe writes a response description: the status text, then each
// code and when it is answered.
func describe(status int, prior string, rs []reason) string {
	var b strings.Builder
	if prior != "" && prior != http.StatusText(status) {
		b.WriteString(strings.TrimSuffix(prior, "."))
	} else {
		b.WriteString(http.StatusText(status))
	}
	b.WriteString(".")
	for _, r := range rs {
		switch {
		case r.when == "" && r.code == "":
		case r.when == "":
			fmt.Fprintf(&b, " `%s`.", r.code)
		case r.code != "":
			fmt.Fprintf(&b, " `%s`: %s.", r.code, r.when)
		default:
			fmt.Fprintf(&b, " %s.", strings.ToUpper(r.when[:1])+r.when[1:])
		}
	}
	return b.String()
}

// guardSecurity lists what may call a guarded operation: the admin token
// always, staff access tokens of its roles, and secret API keys where a
// manager may (Allowed).
func guardSecurity(op *huma.Operation) []map[string][]string {
	roles, _ := OperationRoles(op)
	sec := []map[string][]string{{AdminToken: {}}}
	if len(roles) > 0 {
		sec = append(sec, map[string][]string{StaffToken: {}})
	}
	if keysAllowed(op, roles) {
		sec = append(sec, map[string][]string{APIKey: {}})
	}
	return sec
}

func keysAllowed(op *huma.Operation, roles []auth.Role) bool {
	noKeys, _ := op.Extensions[NoAPIKeysExtension].(bool)
	return !noKeys && slices.Contains(roles, auth.RoleManager)
}

// callers says in words who may call a guarded operation.
func callers(op *huma.Operation, roles []auth.Role) string {
	var who []string
	for _, r := range roles {
		who = append(who, string(r))
	}
	if keysAllowed(op, roles) {
		who = append(who, "secret API keys")
	}
	if len(who) == 0 {
		return "the admin and service tokens only"
	}
	return strings.Join(who, ", ") + " and the admin token"
}

func hasParam(op *huma.Operation, in, name string) bool {
	return slices.ContainsFunc(op.Parameters, func(p *huma.Param) bool {
		return p.In == in && strings.EqualFold(p.Name, name)
	})
}

func ptr[T any](v T) *T { return &v }

// Document renders the OpenAPI 3.1 document as JSON. Schemas keep the
// description of their pattern (huma's patternDescription, which its
// validation messages use) as the extension x-pattern-description and in
// their description: patternDescription is no JSON Schema keyword.
func (a *API) Document() ([]byte, error) {
	b, err := json.Marshal(a.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("render openapi: %w", err)
	}
	return cleanDocument(b)
}

// document30 renders the document downgraded to OpenAPI 3.0.
func (a *API) document30() ([]byte, error) {
	b, err := a.OpenAPI().Downgrade()
	if err != nil {
		return nil, fmt.Errorf("render openapi 3.0: %w", err)
	}
	return cleanDocument(b)
}

func cleanDocument(b []byte) ([]byte, error) {
	var doc any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("clean openapi: %w", err)
	}
	movePatternDescriptions(doc)
	dropUnusedSchemas(doc)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("clean openapi: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// movePatternDescriptions rewrites every schema object with a pattern and
// a patternDescription in v.
func movePatternDescriptions(v any) {
	switch v := v.(type) {
	case map[string]any:
		if pd, ok := v["patternDescription"].(string); ok {
			if _, isSchema := v["pattern"].(string); isSchema {
				delete(v, "patternDescription")
				v["x-pattern-description"] = pd
				desc, _ := v["description"].(string)
				if desc != "" && !strings.HasSuffix(desc, ".") {
					desc += "."
				}
				if desc != "" {
					desc += " "
				}
				v["description"] = desc + "Format: " + pd + "."
			}
		}
		for _, e := range v {
			movePatternDescriptions(e)
		}
	case []any:
		for _, e := range v {
			movePatternDescriptions(e)
		}
	}
}

// dropUnusedSchemas removes the component schemas that nothing in the
// document refers to: those of operations left out of it (Hidden).
func dropUnusedSchemas(doc any) {
	root, _ := doc.(map[string]any)
	components, _ := root["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if schemas == nil {
		return
	}
	const prefix = "#/components/schemas/"
	used := map[string]bool{}
	var queue []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if name, ok := strings.CutPrefix(ref, prefix); ok && !used[name] {
					used[name] = true
					queue = append(queue, name)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for k, v := range root {
		if k != "components" {
			walk(v)
		}
	}
	for k, v := range components {
		if k != "schemas" {
			walk(v)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		walk(schemas[name])
	}
	for name := range schemas {
		if !used[name] {
			delete(schemas, name)
		}
	}
}

// serveDocument serves the document at /openapi.json and its variants.
func (s *Server) serveDocument() {
	serve := func(path, contentType string, render func() ([]byte, error), toYAML bool) {
		s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			b, err := render()
			if err == nil && toYAML {
				var y bytes.Buffer
				err = yaml.Convert(&y, bytes.NewReader(b))
				b = y.Bytes()
			}
			if err != nil {
				s.log.Error("render openapi", "err", err)
				WriteProblem(w, http.StatusInternalServerError, "internal", "internal error; see the server log with this request's ID")
				return
			}
			w.Header().Set("Content-Type", contentType)
			_, _ = w.Write(b)
		})
	}
	serve("/openapi.json", "application/openapi+json", s.api.Document, false)
	serve("/openapi.yaml", "application/openapi+yaml", s.api.Document, true)
	serve("/openapi-3.0.json", "application/openapi+json", s.api.document30, false)
	serve("/openapi-3.0.yaml", "application/openapi+yaml", s.api.document30, true)
}
