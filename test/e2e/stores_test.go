package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercato/mercato/test/harness"
)

// store is a store signed up through the public API, with its owner.
type store struct {
	id, host, owner string
}

// signup opens a store on the deployment's signup plan (-tenant.signup-plan).
func signup(t *testing.T, p *harness.Proc, subdomain string) store {
	t.Helper()
	body := map[string]any{
		"store_name": subdomain + " <b>shop</b>", "subdomain": subdomain,
		"email": "owner@" + subdomain + ".test", "password": "correct horse battery staple",
	}
	r := p.Call("POST", "/api/v1/tenants", body, map[string]string{"Idempotency-Key": "signup-" + subdomain})
	if r.Status != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", subdomain, r.Status, r.Body)
	}
	var out struct {
		Store struct {
			ID    string   `json:"id"`
			Hosts []string `json:"hosts"`
		} `json:"store"`
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &out)
	if !strings.Contains(string(r.Body), `\u003cb\u003e`) {
		t.Errorf("the store name is not escaped in JSON: %s", r.Body)
	}
	return store{id: out.Store.ID, host: out.Store.Hosts[0], owner: out.AccessToken}
}

func (s store) as(token string, extra ...string) map[string]string {
	h := map[string]string{"Host": s.host}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// TestTwoStores signs up two stores side by side on one deployment and
// checks each has its own catalog and customers, that credentials of one
// store open nothing in the other, that the generated admin token retires
// in a store once it has an owner, and that tampered tokens are refused.
func TestTwoStores(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			p := s.p
			north, south := signup(t, p, "north"), signup(t, p, "south")

			// Bad signups.
			for _, tc := range []struct {
				sub, email, password string
				status               int
				code                 string
			}{
				{"north", "x@north.test", "correct horse battery staple", 409, "subdomain_taken"},
				{"admin", "x@a.test", "correct horse battery staple", 422, "subdomain_reserved"},
				{"-bad-", "x@a.test", "correct horse battery staple", 422, "invalid_subdomain"},
				{"west", "not-an-email", "correct horse battery staple", 422, "invalid_email"},
				{"east", "x@east.test", "password123", 422, "weak_password"},
			} {
				r := p.Call("POST", "/api/v1/tenants", map[string]any{"store_name": "X", "subdomain": tc.sub, "email": tc.email, "password": tc.password}, nil)
				var pr problem
				r.JSON(t, &pr)
				if r.Status != tc.status || pr.Code != tc.code {
					t.Errorf("signup %s/%s: %d %s, want %d %s", tc.sub, tc.email, r.Status, r.Body, tc.status, tc.code)
				}
			}
			// A failed signup left the subdomain free.
			if west := signup(t, p, "west"); west.id == "" {
				t.Fatal("west not created after its failed first try")
			}

			// Each store gets its own product; each public catalog shows only its own.
			for _, st := range []store{north, south} {
				r := p.Call("POST", "/api/v1/admin/products", map[string]any{
					"title": "Only in " + st.id, "status": "active",
					"variants": []map[string]any{{"sku": "SKU-" + strings.ToUpper(st.id[:5]), "price": map[string]any{"amount": 500, "currency": "EUR"}}},
				}, st.as(st.owner))
				if r.Status != http.StatusCreated {
					t.Fatalf("create product in %s: %d %s", st.id, r.Status, r.Body)
				}
			}
			var northPage page
			r := p.Call("GET", "/api/v1/products", nil, north.as(""))
			r.JSON(t, &northPage)
			if len(northPage.Items) != 1 || !strings.Contains(northPage.Items[0].Title, north.id) {
				t.Fatalf("north's catalog: %s", r.Body)
			}
			if r := p.Call("GET", "/api/v1/products/"+northPage.Items[0].ID, nil, south.as("")); r.Status != http.StatusNotFound {
				t.Errorf("north's product seen from south: %d", r.Status)
			}

			// Customers: the same email in both stores, separate accounts.
			reg := map[string]any{"email": "ada@example.com", "password": "correct horse battery staple", "name": "Ada"}
			for _, st := range []store{north, south} {
				if r := p.Call("POST", "/api/v1/auth/register", reg, st.as("")); r.Status != http.StatusAccepted {
					t.Fatalf("register in %s: %d %s", st.id, r.Status, r.Body)
				}
			}
			// A second registration of a known address is answered alike
			// (nothing tells who is a customer) and changes nothing: the
			// first password still signs in, the second does not.
			again := map[string]any{"email": "ada@example.com", "password": "another correct horse", "name": "Not Ada"}
			if r := p.Call("POST", "/api/v1/auth/register", again, north.as("")); r.Status != http.StatusAccepted {
				t.Errorf("second registration in north: %d %s", r.Status, r.Body)
			}
			if r := p.Call("POST", "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "another correct horse"}, north.as("")); r.Status != http.StatusUnauthorized {
				t.Errorf("login with the second registration's password: %d %s", r.Status, r.Body)
			}
			r = p.Call("POST", "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery staple"}, north.as(""))
			var login struct {
				AccessToken string `json:"access_token"`
			}
			r.JSON(t, &login)
			if r.Status != http.StatusOK || login.AccessToken == "" {
				t.Fatalf("login in north: %d %s", r.Status, r.Body)
			}
			if r := p.Call("GET", "/api/v1/me", nil, north.as(login.AccessToken)); r.Status != http.StatusOK {
				t.Errorf("me in north: %d %s", r.Status, r.Body)
			}

			// Credentials of one store open nothing in the other: 401.
			tampered := func(tok string, edit func(map[string]any)) string {
				parts := strings.Split(tok, ".")
				raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var c map[string]any
				_ = json.Unmarshal(raw, &c)
				edit(c)
				raw, _ = json.Marshal(c)
				parts[1] = base64.RawURLEncoding.EncodeToString(raw)
				return strings.Join(parts, ".")
			}
			none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(north.owner, ".")[1] + "."
			for what, tok := range map[string]string{
				"north's owner token in south": north.owner,
				"north's customer in south":    login.AccessToken,
				"a token with alg none":        none,
				"a token claiming south":       tampered(north.owner, func(c map[string]any) { c["tid"] = south.id }),
				"an expired token":             tampered(north.owner, func(c map[string]any) { c["exp"] = 1 }),
				"a signature from another key": strings.Join(append(strings.Split(north.owner, ".")[:2], strings.Split(south.owner, ".")[2]), "."),
				"the store's admin token":      s.p.Token,
			} {
				if r := p.Call("GET", "/api/v1/admin/products", nil, south.as(tok)); r.Status != http.StatusUnauthorized {
					t.Errorf("%s: %d %s, want 401", what, r.Status, r.Body)
				}
			}
			// The generated admin token still works where there is no owner.
			if r := p.Call("GET", "/api/v1/admin/products", nil, s.admin()); r.Status != http.StatusOK {
				t.Errorf("admin token in the default store: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestAuthorizationMatrix calls every operation of the API (read from
// /openapi.json with the roles it documents) as every kind of caller of one
// store. Guarded operations let in exactly the roles they name: anonymous
// callers get 401, others not allowed 403, the allowed ones anything but
// 401 or 403. Public operations let everyone in, but for the signed-in
// customer's own operations (/api/v1/me…), which need a customer.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	// Four staff accounts: more than the free plan's two seats. The
	// operator gives new stores the pro plan.
	s := openShop(t, nil, "-tenant.signup-plan=pro")
	p := s.p
	st := signup(t, p, "matrix")

	callers := map[string]string{"owner": st.owner}
	for _, role := range []string{"manager", "staff", "support"} {
		r := p.Call("POST", "/api/v1/admin/staff/invitations", map[string]any{"email": role + "@matrix.test", "role": role}, st.as(st.owner))
		var inv struct {
			Token string `json:"token"`
		}
		r.JSON(t, &inv)
		if inv.Token == "" {
			t.Fatalf("invite %s: %d %s", role, r.Status, r.Body)
		}
		r = p.Call("POST", "/api/v1/staff/invitations/accept", map[string]any{"token": inv.Token, "password": "correct horse battery staple", "name": role}, st.as(""))
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &tok)
		if tok.AccessToken == "" {
			t.Fatalf("accept %s: %d %s", role, r.Status, r.Body)
		}
		callers[role] = tok.AccessToken
	}
	if r := p.Call("POST", "/api/v1/auth/register", map[string]any{"email": "c@matrix.test", "password": "correct horse battery staple", "name": "C"}, st.as("")); r.Status != http.StatusAccepted {
		t.Fatalf("register a customer: %d %s", r.Status, r.Body)
	}
	r := p.Call("POST", "/api/v1/auth/login", map[string]any{"email": "c@matrix.test", "password": "correct horse battery staple"}, st.as(""))
	var cust struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &cust)
	callers["customer"] = cust.AccessToken
	for _, kind := range []string{"secret", "publishable"} {
		r := p.Call("POST", "/api/v1/admin/store/api-keys", map[string]any{"name": kind, "kind": kind}, st.as(st.owner))
		var k struct {
			Key string `json:"key"`
		}
		r.JSON(t, &k)
		if k.Key == "" {
			t.Fatalf("create %s key: %d %s", kind, r.Status, r.Body)
		}
		callers[kind+" key"] = k.Key
	}
	callers["anonymous"] = ""

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Roles       []string              `json:"x-mercato-roles"`
			NoAPIKeys   bool                  `json:"x-mercato-no-api-keys"`
			Customers   bool                  `json:"x-mercato-customers"`
		} `json:"paths"`
	}
	r = p.Call("GET", "/openapi.json", nil, nil)
	r.JSON(t, &doc)

	checked := 0
	var paths []string
	for path := range doc.Paths {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for method, op := range doc.Paths[path] {
			if !guarded(op.Security) {
				checked += checkPublic(t, p, st, path, method, op.OperationID, op.Customers, callers)
				continue
			}
			roles := op.Roles
			if roles == nil {
				roles = []string{"owner", "manager", "staff"}
			}
			url := path
			for strings.Contains(url, "{") {
				i, j := strings.Index(url, "{"), strings.Index(url, "}")
				url = url[:i] + "0000" + url[j+1:]
			}
			var body any
			if method != "get" && method != "delete" {
				body = map[string]any{}
			}
			for caller, tok := range callers {
				allowed := slices.Contains(roles, caller) || (caller == "secret key" && !op.NoAPIKeys && slices.Contains(roles, "manager"))
				res := p.Call(strings.ToUpper(method), url, body, st.as(tok))
				var pr problem
				_ = json.Unmarshal(res.Body, &pr)
				// The platform refuses with 401 unauthorized or 403
				// forbidden; a handler's own refusal for data it does not
				// have (not_an_employee: no employee record) is not the
				// role check.
				refused := res.Status == http.StatusUnauthorized || (res.Status == http.StatusForbidden && pr.Code == "forbidden")
				switch {
				case caller == "anonymous" && res.Status != http.StatusUnauthorized:
					t.Errorf("%s %s as anonymous: %d, want 401", method, path, res.Status)
				case caller != "anonymous" && !allowed && (res.Status != http.StatusForbidden || pr.Code != "forbidden"):
					t.Errorf("%s %s (%s) as %s: %d %s, want 403 forbidden", method, path, op.OperationID, caller, res.Status, res.Body)
				case allowed && refused:
					t.Errorf("%s %s (%s) as %s: %d %s, but the operation allows %v", method, path, op.OperationID, caller, res.Status, res.Body, roles)
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d calls checked: is the OpenAPI document complete?", checked)
	}
	t.Logf("%d guarded calls checked across %d callers", checked, len(callers))
}

// TestRowSecurityOnEveryTenantTable runs Mercato on PostgreSQL and checks
// that every table of every service with a tenant_id column has row-level
// security forced and the tenant policy (internal/platform/sqldb's
// TestRowSecurity shows what the policy does).
func TestRowSecurityOnEveryTenantTable(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set")
	}
	t.Parallel()
	harness.HoldPostgres(t)
	dbURL := scratchDatabase(t, pg)
	p := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-db="+dbURL)
	p.Stop()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `
		SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = 'tenant_isolation')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables := 0
	schemas := map[string]bool{}
	for rows.Next() {
		var schema, table string
		var enabled, forced, policy bool
		if err := rows.Scan(&schema, &table, &enabled, &forced, &policy); err != nil {
			t.Fatal(err)
		}
		tables++
		schemas[schema] = true
		if !enabled || !forced || !policy {
			t.Errorf("%s.%s: row security enabled %v, forced %v, tenant policy %v", schema, table, enabled, forced, policy)
		}
	}
	if tables < 30 || len(schemas) < 10 {
		t.Fatalf("only %d tenant tables in %d schemas: did every service migrate?", tables, len(schemas))
	}
	t.Logf("%d tenant tables in %d schemas, all under the tenant policy", tables, len(schemas))
}

// checkPublic calls a public operation as every caller and returns how many
// calls it checked.
// guarded tells from an operation's OpenAPI security whether the platform
// guards it with roles: those list the admin token. The others are public
// to the platform, whatever credentials their handlers look for (a
// customer's /api/v1/me…).
func guarded(security []map[string][]string) bool {
	return slices.ContainsFunc(security, func(req map[string][]string) bool {
		_, ok := req["adminToken"]
		return ok
	})
}

func checkPublic(t *testing.T, p *harness.Proc, st store, path, method, opID string, customers bool, callers map[string]string) int {
	t.Helper()
	url := path
	for strings.Contains(url, "{") {
		i, j := strings.Index(url, "{"), strings.Index(url, "}")
		url = url[:i] + "0000" + url[j+1:]
	}
	var body any
	if method != "get" && method != "delete" {
		body = map[string]any{}
	}
	// The customer's own operations: /api/v1/me…, and those marked for
	// customers elsewhere (POST /api/v1/auth/verify-email/resend).
	customerOnly := strings.HasPrefix(path, "/api/v1/me") || customers
	n := 0
	for caller, tok := range callers {
		if strings.HasPrefix(path, "/api/v1/auth/session") && method == "delete" {
			continue // signing out is for everyone; it would end nothing here
		}
		res := p.Call(strings.ToUpper(method), url, body, st.as(tok))
		var pr problem
		_ = json.Unmarshal(res.Body, &pr)
		refused := res.Status == http.StatusUnauthorized || (res.Status == http.StatusForbidden && pr.Code == "forbidden")
		switch {
		case customerOnly && caller == "customer" && refused:
			t.Errorf("%s %s (%s) as the customer: %d %s", method, path, opID, res.Status, res.Body)
		case customerOnly && caller == "anonymous" && res.Status != http.StatusUnauthorized:
			t.Errorf("%s %s (%s) as anonymous: %d, want 401", method, path, opID, res.Status)
		case customerOnly && caller != "customer" && caller != "anonymous" && !refused:
			t.Errorf("%s %s (%s) as %s: %d %s, want 401 or 403: only customers have a /me", method, path, opID, caller, res.Status, res.Body)
		case !customerOnly && refused:
			t.Errorf("%s %s (%s) is public but refused %s: %d %s", method, path, opID, caller, res.Status, res.Body)
		}
		n++
	}
	return n
}
