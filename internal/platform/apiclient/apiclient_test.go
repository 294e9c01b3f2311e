package apiclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

func TestDo(t *testing.T) {
	var gotTenant, gotKey, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTenant, gotKey, gotType = r.Header.Get(tenancy.Header), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type")
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"name":"mug"}`))
		case "/conflict":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"status":409,"code":"out_of_stock","detail":"MUG-1 is out of stock","errors":[{"location":"lines[0].sku","message":"only 0 available","value":"MUG-1"}]}`))
		case "/plain":
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte("not json"))
		}
	}))
	t.Cleanup(srv.Close)
	c := New("inventory", srv.URL, nil)
	ctx := tenancy.WithID(t.Context(), "acme")

	var out struct{ Name string }
	if err := c.Do(ctx, Call{Method: http.MethodPost, Path: "/ok", Body: map[string]int{"n": 1}, Out: &out, IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if out.Name != "mug" || gotTenant != "acme" || gotKey != "k1" || gotType != "application/json" {
		t.Errorf("got out %+v, tenant %q, key %q, content type %q", out, gotTenant, gotKey, gotType)
	}

	err := c.Do(ctx, Call{Method: http.MethodPost, Path: "/conflict"})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != "out_of_stock" || len(e.Errors) != 1 || e.Errors[0].Value != "MUG-1" || e.Service != "inventory" {
		t.Fatalf("conflict: got %#v", err)
	}
	if !IsCode(err, "out_of_stock") || !IsStatus(err, http.StatusConflict) || IsCode(err, "other") {
		t.Error("IsCode/IsStatus disagree with the error")
	}

	err = c.Do(ctx, Call{Method: http.MethodGet, Path: "/plain"})
	if !errors.As(err, &e) || e.Status != http.StatusTeapot || e.Code == "" {
		t.Fatalf("non-problem answer: got %#v", err)
	}

	if err := c.Do(context.Background(), Call{Method: http.MethodGet, Path: "/ok"}); err == nil {
		t.Error("a call without a tenant went out")
	}
}

func TestRetriesOnlySafeCalls(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	ctx := tenancy.WithID(t.Context(), "default")

	tests := []struct {
		name      string
		call      Call
		wantCalls int32
		wantErr   bool
	}{
		{"get is retried", Call{Method: http.MethodGet, Path: "/"}, 3, false},
		{"idempotent post is retried", Call{Method: http.MethodPost, Path: "/", Idempotent: true}, 3, false},
		{"keyed post is retried", Call{Method: http.MethodPost, Path: "/", IdempotencyKey: "k"}, 3, false},
		{"plain post is not", Call{Method: http.MethodPost, Path: "/"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			err := New("svc", srv.URL, nil).Do(ctx, tt.call)
			if got := calls.Load(); got != tt.wantCalls || (err != nil) != tt.wantErr {
				t.Errorf("calls %d, err %v; want %d calls, error %v", got, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
}

func TestBreakerOpensOnAServiceThatIsDown(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	ctx := tenancy.WithID(t.Context(), "default")
	c := New("svc", srv.URL, nil)

	// 4xx answers are the service working: they never open the breaker.
	for range 20 {
		_ = c.Do(ctx, Call{Method: http.MethodPost, Path: "/missing"})
	}
	for range 10 {
		_ = c.Do(ctx, Call{Method: http.MethodPost, Path: "/down"})
	}
	before := calls.Load()
	err := c.Do(ctx, Call{Method: http.MethodPost, Path: "/down"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after 10 failures: got %v, want ErrUnavailable", err)
	}
	if calls.Load() != before {
		t.Error("an open breaker still sent the request")
	}
}

func TestDeliberateGatewayAnswersAreNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte(`{"status":504,"code":"payment_timeout","detail":"the provider did not answer"}`))
	}))
	t.Cleanup(srv.Close)
	ctx := tenancy.WithID(t.Context(), "default")
	c := New("payment", srv.URL, nil)
	for range 15 {
		err := c.Do(ctx, Call{Method: http.MethodPost, Path: "/", Idempotent: true})
		if !IsCode(err, "payment_timeout") {
			t.Fatalf("got %v, want the payment_timeout answer", err)
		}
	}
	if n := calls.Load(); n != 15 {
		t.Errorf("%d requests for 15 calls: a deliberate 504 was retried, or the breaker opened", n)
	}
}

// TestWithToken: a call whose context carries a person's token sends it,
// in place of whatever the transport would add; without one it sends none.
func TestWithToken(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	c := New("order", srv.URL, nil)
	ctx := tenancy.WithID(t.Context(), "acme")
	if err := c.Do(WithToken(ctx, "tok-1"), Call{Method: http.MethodGet, Path: "/x", Header: http.Header{"Authorization": {"Bearer other"}}}); err != nil {
		t.Fatal(err)
	}
	if a := got.Load(); a != "Bearer tok-1" {
		t.Errorf("with a token: Authorization %q, want Bearer tok-1", a)
	}
	if err := c.Do(ctx, Call{Method: http.MethodGet, Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	if a := got.Load(); a != "" {
		t.Errorf("without a token: Authorization %q, want none", a)
	}
}
