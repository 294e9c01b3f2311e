package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestSlowHandlerKeepsConnection: an operation with a body that runs
// longer than huma's body read timeout (5 s) keeps its context, and so
// does the next request on the same keep-alive connection. A read
// deadline set on the connection after the body was read timed out
// net/http's background read, which cancelled the connection's context:
// the slow request failed with context.Canceled, and every later one on
// the connection started cancelled.
func TestSlowHandlerKeepsConnection(t *testing.T) {
	t.Parallel()
	type in struct {
		Body struct {
			Title string `json:"title"`
		}
	}
	errs := make(chan error, 2)
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "quick-note", Method: http.MethodPost, Path: "/api/v1/quick-notes"}),
			func(ctx context.Context, _ *in) (*struct{}, error) {
				errs <- ctx.Err()
				return nil, nil
			})
		huma.Register(api, web.Public(huma.Operation{OperationID: "slower-note", Method: http.MethodPost, Path: "/api/v1/slower-notes"}),
			func(ctx context.Context, _ *in) (*struct{}, error) {
				// Longer than huma's 5 s: the context must stay live.
				select {
				case <-ctx.Done():
				case <-time.After(6500 * time.Millisecond):
				}
				errs <- ctx.Err()
				return nil, nil
			})
	})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var reused []bool
	post := func(path string) int {
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodPost, s.URL+path, strings.NewReader(`{"title":"a"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("/api/v1/slower-notes"); code >= 300 {
		t.Errorf("slow request: status %d, want 2xx", code)
	}
	if err := <-errs; err != nil {
		t.Errorf("slow request's context: %v, want live", err)
	}
	if code := post("/api/v1/quick-notes"); code >= 300 {
		t.Errorf("next request: status %d, want 2xx", code)
	}
	if err := <-errs; err != nil {
		t.Errorf("next request's context on the same connection: %v, want live", err)
	}
	if len(reused) != 2 || !reused[1] {
		t.Errorf("connections reused: %v, want the second request on the first's connection", reused)
	}
}
