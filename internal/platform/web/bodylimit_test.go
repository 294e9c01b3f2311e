package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type rawIn struct {
	RawBody []byte
}

type sizeOut struct {
	Body struct {
		Bytes int `json:"bytes"`
	}
}

// TestLimitBody: an operation given a larger body limit takes bodies over
// the server's and refuses those over its own, announced or streamed; the
// server's limit still holds everywhere else, also beside it.
func TestLimitBody(t *testing.T) {
	const limit = 4 * webtest.MaxBodyBytes
	s := webtest.New(t, func(api *web.API) {
		api.LimitBody(http.MethodPost, "/api/v1/admin/uploads", limit)
		size := func(_ context.Context, in *rawIn) (*sizeOut, error) {
			out := &sizeOut{}
			out.Body.Bytes = len(in.RawBody)
			return out, nil
		}
		huma.Register(api, web.Admin(huma.Operation{OperationID: "upload", Method: http.MethodPost, Path: "/api/v1/admin/uploads", MaxBodyBytes: limit}), size)
		// As every other operation is: its limit is the server's.
		huma.Register(api, web.Admin(huma.Operation{OperationID: "other", Method: http.MethodPost, Path: "/api/v1/admin/other", MaxBodyBytes: webtest.MaxBodyBytes}), size)
	})
	send := func(path string, n int, announced bool) int {
		t.Helper()
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if !announced {
			body = io.NopCloser(body) // no Content-Length: streamed
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
		req.Header.Set(tenancy.Header, "default")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		path      string
		n         int
		announced bool
		want      int
	}{
		{"/api/v1/admin/uploads", 3 * webtest.MaxBodyBytes, true, 200},
		{"/api/v1/admin/uploads", 3 * webtest.MaxBodyBytes, false, 200},
		{"/api/v1/admin/uploads", limit, true, 413}, // huma's own limit is exclusive
		{"/api/v1/admin/uploads", limit + 1, true, 413},
		{"/api/v1/admin/uploads", 2 * limit, false, 413},
		{"/api/v1/admin/other", 2 * webtest.MaxBodyBytes, true, 413},
		{"/api/v1/admin/other", 2 * webtest.MaxBodyBytes, false, 413},
	} {
		if got := send(tc.path, tc.n, tc.announced); got != tc.want {
			t.Errorf("POST %s with %d bytes (announced %v) = %d, want %d", tc.path, tc.n, tc.announced, got, tc.want)
		}
	}
}
