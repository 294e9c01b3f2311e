package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type noteIn struct {
	ID   string `path:"id"`
	Tag  string `query:"tag"`
	Body struct {
		Title string            `json:"title"`
		Notes string            `json:"notes,omitempty"`
		Lines []string          `json:"lines,omitempty"`
		Attrs map[string]string `json:"attrs,omitempty"`
	}
}

// TestRequestText: every string of every request (body values and keys,
// query and path parameters) is held to the one text rule before an
// operation sees it, with one message; raw bodies are left alone.
func TestRequestText(t *testing.T) {
	t.Parallel()
	var ran, rawRan atomic.Int64
	var gotNotes atomic.Value
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "put-note", Method: http.MethodPut, Path: "/api/v1/notes/{id}"}),
			func(_ context.Context, in *noteIn) (*struct{}, error) {
				ran.Add(1)
				gotNotes.Store(in.Body.Notes)
				return nil, nil
			})
		huma.Register(api, web.Public(huma.Operation{OperationID: "raw-hook", Method: http.MethodPost, Path: "/api/v1/hooks"}),
			func(_ context.Context, in *struct{ RawBody []byte }) (*struct{}, error) {
				rawRan.Add(1)
				return nil, nil
			})
	})
	bad := []struct {
		name, path, body, location, message string
	}{
		{"NUL in a value", "/api/v1/notes/a", `{"title":"a\u0000b"}`, "body.title", text.MsgControl},
		{"BEL in a value", "/api/v1/notes/a", `{"title":"a\u0007b"}`, "body.title", text.MsgControl},
		{"raw BEL in a value", "/api/v1/notes/a", "{\"title\":\"a\ab\"}", "", ""}, // not JSON: huma's 400
		{"RLO in a value", "/api/v1/notes/a", `{"title":"a\u202eb"}`, "body.title", text.MsgControl},
		{"raw RLO in a value", "/api/v1/notes/a", "{\"title\":\"a\u202eb\"}", "body.title", text.MsgControl},
		{"isolate in a list", "/api/v1/notes/a", `{"title":"a","lines":["ok","\u2066x"]}`, "body.lines[1]", text.MsgControl},
		{"C1 in a map value", "/api/v1/notes/a", `{"title":"a","attrs":{"k":"\u0085"}}`, "body.attrs.k", text.MsgControl},
		{"DEL in a key", "/api/v1/notes/a", `{"title":"a","attrs":{"k\u007f":"v"}}`, "body.attrs", "property names " + text.MsgControl},
		{"line break in a key", "/api/v1/notes/a", `{"title":"a","attrs":{"k\nx":"v"}}`, "body.attrs", "property names " + text.MsgControl},
		{"invalid UTF-8", "/api/v1/notes/a", "{\"title\":\"a\xffb\"}", "body", text.MsgUTF8},
		{"lone high surrogate", "/api/v1/notes/a", `{"title":"a\ud800b"}`, "body", text.MsgUTF8},
		{"lone low surrogate", "/api/v1/notes/a", `{"title":"a\udc00"}`, "body", text.MsgUTF8},
		{"NUL in the path", "/api/v1/notes/a%00b", `{"title":"a"}`, "path.id", text.MsgControl},
		{"newline in the path", "/api/v1/notes/a%0Ab", `{"title":"a"}`, "path.id", text.MsgControl},
		{"invalid UTF-8 in the path", "/api/v1/notes/a%FFb", `{"title":"a"}`, "path.id", text.MsgUTF8},
		{"BEL in the query", "/api/v1/notes/a?tag=x%07", `{"title":"a"}`, "query.tag", text.MsgControl},
		{"RLO in the query", "/api/v1/notes/a?tag=%E2%80%AE", `{"title":"a"}`, "query.tag", text.MsgControl},
		{"invalid UTF-8 in an unknown query parameter", "/api/v1/notes/a?x=%C3%28", `{"title":"a"}`, "query.x", text.MsgUTF8},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPut, s.URL+tt.path, tt.body, nil)
			if tt.location == "" {
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400: %s", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422: %s", resp.StatusCode, body)
			}
			var p struct {
				Code   string `json:"code"`
				Errors []struct {
					Location string `json:"location"`
					Message  string `json:"message"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode: %v: %s", err, body)
			}
			if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Location != tt.location || p.Errors[0].Message != tt.message {
				t.Fatalf("problem = %s, want %s at %s", body, tt.message, tt.location)
			}
			if strings.ContainsRune(string(body), 0x202e) || strings.Contains(string(body), `\u0000`) {
				t.Errorf("the answer echoes the refused characters: %s", body)
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("the operation ran %d times on refused input", n)
	}

	good := []struct{ name, path, body, notes string }{
		{"plain", "/api/v1/notes/a?tag=x", `{"title":"Mug"}`, ""},
		{"multi-line body text", "/api/v1/notes/a", `{"title":"Mug","notes":"one\r\ntwo\tthree"}`, "one\r\ntwo\tthree"},
		{"escaped backslash before u", "/api/v1/notes/a", `{"title":"C:\\ud800"}`, ""},
		{"surrogate pair", "/api/v1/notes/a", `{"title":"\ud83d\ude00","notes":"\ud83d\ude00"}`, "😀"},
		{"non-Latin and RTL marks", "/api/v1/notes/%D7%90", `{"title":"אדה\u200f Ада"}`, ""},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPut, s.URL+tt.path, tt.body, nil)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status = %d, want 204: %s", resp.StatusCode, body)
			}
			if got, _ := gotNotes.Load().(string); got != tt.notes {
				t.Errorf("notes = %q, want %q", got, tt.notes)
			}
		})
	}

	// A provider's raw, signed body is not Mercato's to judge.
	resp, body := do(t, http.MethodPost, s.URL+"/api/v1/hooks", "{\"x\":\"\u202e\xff\"}", nil)
	if resp.StatusCode != http.StatusNoContent || rawRan.Load() != 1 {
		t.Fatalf("raw body: status = %d (%d runs): %s", resp.StatusCode, rawRan.Load(), body)
	}
}
