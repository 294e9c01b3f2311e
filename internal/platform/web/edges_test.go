package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type signupIn struct {
	Body struct {
		Email       string            `json:"email" maxLength:"254"`
		Password    string            `json:"password" minLength:"10" maxLength:"128"`
		APIKey      string            `json:"apiKey,omitempty" pattern:"^sk_[a-z]+$"`
		Name        string            `json:"name,omitempty" maxLength:"5"`
		Items       []signupItem      `json:"items,omitempty"`
		Metadata    map[string]string `json:"metadata,omitempty" maxProperties:"2"`
		RefreshCode string            `json:"refresh_token,omitempty" maxLength:"4"`
	}
}

type signupItem struct {
	SKU      string `json:"sku" maxLength:"20"`
	Quantity int64  `json:"quantity" minimum:"1"`
	Small    int8   `json:"small,omitempty"`
}

type signupOut struct {
	Body struct {
		Quantities []int64 `json:"quantities"`
	}
}

type listIn struct {
	Limit int       `query:"limit" minimum:"1"`
	Since time.Time `query:"since"`
	Day   time.Time `query:"day" timeFormat:"2006-01-02"`
	Full  bool      `query:"full"`
}

// edgeServer mounts operations that exercise what a request can get back:
// a body with a password, numbers and maps; a list; a page outside /api/
// that answers 404 on purpose.
func edgeServer(t *testing.T) *webtest.Server {
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "signup", Method: http.MethodPost, Path: "/api/v1/signup"}),
			func(_ context.Context, in *signupIn) (*signupOut, error) {
				if in.Body.Email == "field@example.com" {
					// A service's own field error on a secret field.
					return nil, web.Error(http.StatusUnprocessableEntity, "weak_password", "choose another password",
						web.Field("body.password", "too common", in.Body.Password))
				}
				out := &signupOut{}
				out.Body.Quantities = []int64{}
				for _, it := range in.Body.Items {
					out.Body.Quantities = append(out.Body.Quantities, it.Quantity)
				}
				return out, nil
			})
		huma.Register(api, web.Public(huma.Operation{OperationID: "list-things", Method: http.MethodGet, Path: "/api/v1/list"}),
			func(_ context.Context, in *listIn) (*struct{ Body []int }, error) {
				return &struct{ Body []int }{Body: []int{web.PageSize(in.Limit, 20, 100)}}, nil
			})
		huma.Register(api, web.Public(huma.Operation{OperationID: "who", Method: http.MethodGet, Path: "/api/v1/who"}),
			func(ctx context.Context, _ *struct{}) (*struct{ Body string }, error) {
				p, _ := auth.From(ctx)
				return &struct{ Body string }{Body: string(p.Kind) + ":" + p.Subject}, nil
			})
	})
	s.Web.Mux().HandleFunc("GET /pages/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<p>no such page</p>"))
	})
	return s
}

type detailedProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, resp *http.Response, body []byte) detailedProblem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type = %q, want application/problem+json: %s", ct, body)
	}
	var p detailedProblem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem: %v: %.300s", err, body)
	}
	return p
}

// goInternals are words that only Go's own error messages use.
var goInternals = []string{"Go struct", "Go value", "of type", "int64", "int8", "float64", "json:", "url.URL", "2006-01-02T15:04:05", "signupItem", "signupIn"}

func assertNoGoInternals(t *testing.T, body []byte) {
	t.Helper()
	for _, w := range goInternals {
		if strings.Contains(string(body), w) {
			t.Errorf("answer names Go internals (%q): %s", w, body)
		}
	}
}

func TestErrorsNeverEchoSecrets(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	const secret = "hunter2-SECRET"
	tests := []struct {
		name, body string
	}{
		{"too short password", `{"email":"a@example.com","password":"` + secret[:8] + `"}`},
		{"too long password", `{"email":"a@example.com","password":"` + secret + strings.Repeat("x", 200) + `"}`},
		{"camel-case key name", `{"email":"a@example.com","password":"0123456789ab","apiKey":"` + secret + `"}`},
		{"snake-case token name", `{"email":"a@example.com","password":"0123456789ab","refresh_token":"` + secret + `"}`},
		{"password of the wrong type", `{"email":"a@example.com","password":["` + secret + `"]}`},
		{"malformed body with a password", `{"email":"a@example.com","password":"` + secret + `",`},
		{"a service's own field error", `{"email":"field@example.com","password":"` + secret + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "POST", s.URL+"/api/v1/signup", tt.body, nil)
			if resp.StatusCode != 400 && resp.StatusCode != 422 {
				t.Fatalf("status = %d, want 400 or 422: %s", resp.StatusCode, body)
			}
			p := decodeProblem(t, resp, body)
			if len(p.Errors) == 0 {
				t.Fatalf("no errors listed: %s", body)
			}
			if strings.Contains(string(body), secret[:7]) {
				t.Errorf("answer echoes the secret: %s", body)
			}
		})
	}

	// A value that is no secret is still shown, to help the client.
	resp, body := do(t, "POST", s.URL+"/api/v1/signup", `{"email":"a@example.com","password":"0123456789ab","name":"Adalbert"}`, nil)
	p := decodeProblem(t, resp, body)
	if resp.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "body.name" || p.Errors[0].Value != "Adalbert" {
		t.Errorf("got %d %s, want 422 naming body.name with its value", resp.StatusCode, body)
	}
}

func TestErrorAnswersAreSmall(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	// The answer to any of these stays under this many bytes.
	const bound = 16 << 10
	ctl := strings.Repeat("\x01", webtest.MaxBodyBytes-100)
	escaped := strings.Repeat(`\u0001`, (webtest.MaxBodyBytes-100)/6)
	var manyItems, manyKeys strings.Builder
	for i := range 1000 {
		if i > 0 {
			manyItems.WriteByte(',')
			manyKeys.WriteByte(',')
		}
		fmt.Fprintf(&manyItems, `{"sku":"%s","quantity":0}`, strings.Repeat("s", 21))
		fmt.Fprintf(&manyKeys, `"%s%d":"v"`, strings.Repeat("k", 25), i)
	}
	tests := []struct {
		name, body string
		status     int
	}{
		{"a body of control characters", ctl, 400},
		{"a string of control characters", `{"email":"a@example.com","password":"0123456789ab","name":"` + escaped + `"}`, 422},
		{"a long value", `{"email":"` + strings.Repeat("a", 60000) + `","password":"0123456789ab"}`, 422},
		{"thousands of errors", `{"email":"a@example.com","password":"0123456789ab","items":[` + manyItems.String() + `]}`, 422},
		{"thousands of long keys", `{"email":"a@example.com","password":"0123456789ab","metadata":{` + manyKeys.String() + `}}`, 422},
		{"a long key", `{"email":"a@example.com","password":"0123456789ab","` + strings.Repeat(`\u0002`, 8000) + `":1}`, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "POST", s.URL+"/api/v1/signup", tt.body, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %.500s", resp.StatusCode, tt.status, body)
			}
			if len(body) > bound {
				t.Errorf("answer is %d bytes, want at most %d: %.500s", len(body), bound, body)
			}
			p := decodeProblem(t, resp, body)
			if len(p.Errors) == 0 || len(p.Errors) > 20 {
				t.Errorf("%d errors listed, want 1 to 20", len(p.Errors))
			}
		})
	}

	// Cut lists and values say so.
	resp, body := do(t, "POST", s.URL+"/api/v1/signup", `{"email":"a@example.com","password":"0123456789ab","items":[`+manyItems.String()+`]}`, nil)
	if p := decodeProblem(t, resp, body); !strings.Contains(p.Detail, "of 2000 errors") {
		t.Errorf("detail = %q, want it to say how many errors there were", p.Detail)
	}
	resp, body = do(t, "POST", s.URL+"/api/v1/signup", `{"email":"a@example.com","password":"0123456789ab","name":"`+strings.Repeat("n", 1000)+`"}`, nil)
	p := decodeProblem(t, resp, body)
	if v, _ := p.Errors[0].Value.(string); !strings.HasPrefix(v, "nnnn") || !strings.HasSuffix(v, "…") || len(v) > 100 {
		t.Errorf("value = %q, want the start of the name, cut with …", v)
	}
}

func TestIntegerValuedNumbers(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	ok := []struct{ in, want string }{
		{"1.0", "1"}, {"1e3", "1000"}, {"1E+3", "1000"}, {"2.50e1", "25"}, {"12.000", "12"}, {"7", "7"}, {"0.5e1", "5"},
	}
	for _, tt := range ok {
		resp, body := do(t, "POST", s.URL+"/api/v1/signup",
			`{"email":"a@example.com","password":"0123456789ab","items":[{"sku":"a","quantity":2},{"sku":"b\"1.5","quantity":`+tt.in+`}]}`, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `[2,`+tt.want+`]`) {
			t.Errorf("quantity %s: %d %s, want 200 with quantity %s", tt.in, resp.StatusCode, body, tt.want)
		}
	}
	bad := []struct{ in, location, message string }{
		{"1.5", "body.items[1].quantity", "expected integer"},
		{"1e30", "body", "items[1].quantity must be an integer from -9223372036854775808 to 9223372036854775807"},
		{"1e999999999", "body", "items[1].quantity is a number out of range"},
		{`1, "small": 300`, "body", "items[1].small must be an integer from -128 to 127"},
		{`1, "small": 1e2, "sku": 5`, "body.items[1].sku", "expected string"},
	}
	for _, tt := range bad {
		resp, body := do(t, "POST", s.URL+"/api/v1/signup",
			`{"email":"a@example.com","password":"0123456789ab","items":[{"sku":"a","quantity":2},{"sku":"b","quantity":`+tt.in+`}]}`, nil)
		if resp.StatusCode != 400 && resp.StatusCode != 422 {
			t.Errorf("quantity %s: status %d, want 400 or 422: %s", tt.in, resp.StatusCode, body)
			continue
		}
		p := decodeProblem(t, resp, body)
		if len(p.Errors) == 0 || p.Errors[0].Location != tt.location || !strings.HasPrefix(p.Errors[0].Message, tt.message) {
			t.Errorf("quantity %s: %s, want %s: %q", tt.in, body, tt.location, tt.message)
		}
		assertNoGoInternals(t, body)
	}

	// Syntax errors say where, in JSON's words.
	resp, body := do(t, "POST", s.URL+"/api/v1/signup", `{"email":"a@example.com",,}`, nil)
	p := decodeProblem(t, resp, body)
	if resp.StatusCode != 400 || len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Message, "not valid JSON") {
		t.Errorf("malformed: %d %s, want 400 saying the body is not valid JSON", resp.StatusCode, body)
	}
	assertNoGoInternals(t, body)
}

func TestParameterMessages(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	tests := []struct{ query, location, message string }{
		{"limit=ten", "query.limit", "must be an integer"},
		{"limit=99999999999999999999999", "query.limit", "must be an integer"},
		{"full=maybe", "query.full", "must be true or false"},
		{"since=yesterday", "query.since", "must be a date and time as in RFC 3339"},
		{"day=2026-13-45", "query.day", "must be a date, e.g."},
	}
	for _, tt := range tests {
		resp, body := do(t, "GET", s.URL+"/api/v1/list?"+tt.query, "", nil)
		p := decodeProblem(t, resp, body)
		if resp.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Location != tt.location || !strings.HasPrefix(p.Errors[0].Message, tt.message) {
			t.Errorf("?%s: %d %s, want 422 at %s: %q", tt.query, resp.StatusCode, body, tt.location, tt.message)
		}
		assertNoGoInternals(t, body)
	}
}

func TestLimitIsCapped(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	for _, tt := range []struct{ query, want string }{{"", "[20]"}, {"limit=5", "[5]"}, {"limit=100", "[100]"}, {"limit=100000", "[100]"}} {
		resp, body := do(t, "GET", s.URL+"/api/v1/list?"+tt.query, "", nil)
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != tt.want {
			t.Errorf("?%s: %d %s, want page size %s", tt.query, resp.StatusCode, body, tt.want)
		}
	}
	if got := web.PageSize(0, 500, 100); got != 100 {
		t.Errorf("PageSize(0, 500, 100) = %d, want the maximum", got)
	}

	// An operation that would refuse a large limit is a programmer error.
	defer func() {
		if recover() == nil {
			t.Error("registering a limit with a maximum did not panic")
		}
	}()
	webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "refusing-list", Method: http.MethodGet, Path: "/api/v1/refusing"}),
			func(context.Context, *struct {
				Limit int `query:"limit" minimum:"1" maximum:"50"`
			}) (*struct{}, error) {
				return nil, nil
			})
	})
}

func TestUnmatchedRequests(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/api/v1/list", 405, "GET, HEAD"},
		{"PUT", "/api/v1/signup", 405, "POST"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/api/v1/nothing-here", 404, ""},
		{"GET", "/api", 404, ""},
		{"GET", "/nothing-here", 404, ""},
		{"DELETE", "/nothing-here", 404, ""},
		{"GET", "/docs/nothing-here.js", 404, ""},
		{"GET", "/schemas/NothingHere.json", 404, ""},
		{"POST", "/schemas/NothingHere.json", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		resp, body := do(t, tt.method, s.URL+tt.path, "", nil)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			continue
		}
		p := decodeProblem(t, resp, body)
		if p.Status != tt.status || (tt.status == 405 && p.Code != "method_not_allowed") || (tt.status == 404 && p.Code != "not_found") {
			t.Errorf("%s %s: problem %s", tt.method, tt.path, body)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	// A schema that exists is served, its references pointing at /schemas.
	resp, body := do(t, "GET", s.URL+"/openapi.json", "", nil)
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 || doc.Components.Schemas["Problem"] == nil {
		t.Fatalf("openapi: %d %v, want a Problem schema", resp.StatusCode, err)
	}
	resp, body = do(t, "GET", s.URL+"/schemas/Problem.json", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"/schemas/ErrorDetail.json"`) {
		t.Errorf("schema: %d %s, want the Problem schema with its references rewritten", resp.StatusCode, body)
	}

	// A page that answers 404 itself keeps its answer.
	resp, body = do(t, "GET", s.URL+"/pages/missing", "", nil)
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || string(body) != "<p>no such page</p>" {
		t.Errorf("page 404: %d %q %s, want its own HTML", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestBearerScheme(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	tok := webtest.Token(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, "BEARER " + tok, "bEaReR   " + tok, "Bearer " + webtest.AdminToken, "bearer " + webtest.AdminToken} {
		resp, body := do(t, "GET", s.URL+"/api/v1/who", "", map[string]string{"Authorization": h})
		if resp.StatusCode != 200 || strings.Trim(strings.TrimSpace(string(body)), `"`) == ":" {
			t.Errorf("Authorization %.12q…: %d %s, want the caller recognised", h, resp.StatusCode, body)
		}
	}
	// Other schemes are no bearer token.
	resp, body := do(t, "GET", s.URL+"/api/v1/who", "", map[string]string{"Authorization": "Bearertoken " + tok})
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `":"` {
		t.Errorf("another scheme: %d %s, want an anonymous call", resp.StatusCode, body)
	}
}

func TestExpiredToken(t *testing.T) {
	t.Parallel()
	s := edgeServer(t)
	for _, tenant := range []string{"default", "acme"} {
		tok := webtest.ExpiredToken(t, auth.Principal{Tenant: tenant, Subject: "c1", Kind: auth.KindCustomer})
		resp, body := do(t, "GET", s.URL+"/api/v1/who", "", map[string]string{"Authorization": "Bearer " + tok})
		p := decodeProblem(t, resp, body)
		if resp.StatusCode != 401 || p.Code != "token_expired" || !strings.Contains(p.Detail, "expired") || strings.Contains(p.Detail, "store") {
			t.Errorf("token of %s: %d %s, want 401 token_expired", tenant, resp.StatusCode, body)
		}
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q, want a Bearer challenge with error=\"invalid_token\"", got)
		}
	}
	// A token of another store that has not expired keeps its message.
	tok := webtest.Token(t, auth.Principal{Tenant: "acme", Subject: "c1", Kind: auth.KindCustomer})
	resp, body := do(t, "GET", s.URL+"/api/v1/who", "", map[string]string{"Authorization": "Bearer " + tok})
	if p := decodeProblem(t, resp, body); resp.StatusCode != 401 || p.Code != "unauthorized" || !strings.Contains(p.Detail, "this store") {
		t.Errorf("token of another store: %d %s, want 401 unauthorized", resp.StatusCode, body)
	}
}

func TestFieldValues(t *testing.T) {
	t.Parallel()
	type price struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	type login struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	type sku string
	var nilPrice *price
	tests := []struct {
		name     string
		location string
		value    any
		want     string
	}{
		{"string", "body.name", "Ada", `"Ada"`},
		{"number", "body.items[0].quantity", int64(3), `3`},
		{"string type", "body.sku", sku("MUG-1"), `"MUG-1"`},
		{"small object", "body.price", price{Amount: 100, Currency: "EUR"}, `{"amount":100,"currency":"EUR"}`},
		{"nil pointer", "body.price", nilPrice, `null`},
		{"object holding a secret", "body.login", login{User: "ada", Password: "hunter2"}, `null`},
		{"secret field", "body.webhookSecret", "whsec_123", `null`},
		{"secret header", "header.X-Mercato-Api-Key", "sk_live_123", `null`},
		{"one of many keys", "body.keys[2]", "sk_live_123", `null`},
		{"a token in one word", "query.sessiontoken", "abc", `null`},
		{"no secret", "body.keyboard_layout", "qwerty", `"qwerty"`},
		{"whole body", "body", `{"password":"hunter2"}`, `null`},
		{"long array", "body.tags", strings.Split(strings.Repeat("tag,", 100), ","), `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(web.Error(http.StatusUnprocessableEntity, "validation_failed", "bad", web.Field(tt.location, "bad", tt.value)))
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Errors []struct {
					Value json.RawMessage `json:"value"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(b, &p); err != nil || len(p.Errors) != 1 {
				t.Fatalf("problem %s: %v", b, err)
			}
			got := string(p.Errors[0].Value)
			if got == "" {
				got = "null"
			}
			if got != tt.want {
				t.Errorf("value = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeErrorsOfTypes(t *testing.T) {
	t.Parallel()
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "at", Method: http.MethodPost, Path: "/api/v1/at"}),
			func(context.Context, *struct {
				Body struct {
					// No format: the schema lets any string through to
					// time.Time's own parsing.
					T time.Time `json:"t,omitempty" format:"-"`
				}
			}) (*struct{}, error) {
				return nil, nil
			})
	})
	resp, body := do(t, "POST", s.URL+"/api/v1/at", `{"t":"2026-03-01 09:30"}`, nil)
	if resp.StatusCode/100 != 4 {
		t.Fatalf("bad time: %d %s, want a 4xx", resp.StatusCode, body)
	}
	p := decodeProblem(t, resp, body)
	if len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Message, "RFC 3339") {
		t.Errorf("bad time: %s, want it to say how to write a date and time", body)
	}
	assertNoGoInternals(t, body)
}
