package webtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
)

// CheckDocumentedRoles checks a service's access table against the OpenAPI
// document served at baseURL: every operation of the table is registered
// and guarded with exactly the table's roles (what the platform enforces),
// and every guarded operation is in the table.
func CheckDocumentedRoles(t testing.TB, baseURL string, access map[string][]auth.Role) {
	t.Helper()
	res, err := http.Get(baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string       `json:"operationId"`
			Roles       *[]auth.Role `json:"x-mercato-roles"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, op := range methods {
			want, inTable := access[op.OperationID]
			switch {
			case op.Roles == nil && inTable:
				t.Errorf("%s is in the access table but not guarded", op.OperationID)
			case op.Roles != nil && !inTable:
				t.Errorf("%s is guarded (%v) but not in the access table", op.OperationID, *op.Roles)
			case op.Roles != nil && !slices.Equal(*op.Roles, want):
				t.Errorf("%s documents roles %v, the table has %v", op.OperationID, *op.Roles, want)
			}
			seen[op.OperationID] = true
		}
	}
	for op := range access {
		if !seen[op] {
			t.Errorf("%s is in the access table but not registered", op)
		}
	}
}

// Keys are store API keys of the "default" store and their roles, for
// WithAPIKeys.
type Keys map[string]auth.Role

// ResolveAPIKey makes Keys a web.APIKeyResolver.
func (k Keys) ResolveAPIKey(_ *http.Request, key string) (string, string, auth.Role, error) {
	role, ok := k[key]
	if !ok {
		return "", "", "", fmt.Errorf("%w: unknown API key", web.ErrUnauthenticated)
	}
	return "default", "key-" + string(role), role, nil
}

// WithAPIKeys makes a test server also take the API keys keys resolves (as
// the platform does with the tenant service's), on top of whatever it
// accepts already (test access tokens, the admin token).
func WithAPIKeys(keys web.APIKeyResolver) func(*web.Deps) {
	return func(d *web.Deps) {
		d.Auth = keyAuth{tokens: d.Auth, keys: web.NewAuthenticator(web.AuthConfig{APIKeys: keys})}
	}
}

// keyAuth sends requests with an API key to keys, the rest to tokens.
type keyAuth struct{ tokens, keys web.Authenticator }

func (a keyAuth) Authenticate(r *http.Request, tenant string) (auth.Principal, bool, error) {
	b := web.BearerToken(r)
	if r.Header.Get(web.APIKeyHeader) != "" || strings.HasPrefix(b, "pk_") || strings.HasPrefix(b, "sk_") {
		return a.keys.Authenticate(r, tenant)
	}
	return a.tokens.Authenticate(r, tenant)
}

// Call is one request of an access check and the status it must get.
type Call struct {
	Name, Method, Path string
	// Body is a JSON body; empty sends none.
	Body string
	// Authz is the Authorization header; empty sends none.
	Authz string
	Want  int
}

// CheckCalls sends each call to the server at baseURL, in order, and
// reports every one answered with another status than its Want.
func CheckCalls(t testing.TB, baseURL string, calls []Call) {
	t.Helper()
	for _, c := range calls {
		var body io.Reader
		if c.Body != "" {
			body = strings.NewReader(c.Body)
		}
		req, err := http.NewRequestWithContext(t.Context(), c.Method, baseURL+c.Path, body)
		if err != nil {
			t.Fatal(err)
		}
		if c.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.Authz != "" {
			req.Header.Set("Authorization", c.Authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.Want {
			t.Errorf("%s: %s %s = %d, want %d: %s", c.Name, c.Method, c.Path, res.StatusCode, c.Want, b)
		}
	}
}

// Staff is the Authorization header of a staff member of the default store
// with role.
func Staff(t testing.TB, role auth.Role) string {
	return Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(role), Kind: auth.KindStaff, Role: role})
}

// Customer is the Authorization header of a customer of the default store.
func Customer(t testing.TB) string {
	return Bearer(t, auth.Principal{Tenant: "default", Subject: "c-1", Kind: auth.KindCustomer})
}
