package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// flowServer answers the guest flow's requests as Mercato does, failing
// every checkout whose cart number fail picks.
func flowServer(t *testing.T, fail func(cart int64) bool) *httptest.Server {
	t.Helper()
	var carts atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/carts", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"cart_%d","lines":[]}`, carts.Add(1))
	})
	mux.HandleFunc("POST /api/v1/carts/{id}/items", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"lines":[]}`)
	})
	mux.HandleFunc("POST /api/v1/checkout", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			CartID string `json:"cart_id"`
		}
		if r.Header.Get("Idempotency-Key") == "" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "no key or no body", http.StatusBadRequest)
			return
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(body.CartID, "cart_"), 10, 64)
		if err != nil {
			http.Error(w, "not a cart", http.StatusUnprocessableEntity)
			return
		}
		if fail(n) {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"status":"confirmed"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testFlow(srv *httptest.Server) *guestFlow {
	sh := &shop{bc: apiClient{base: srv.URL}, run: "t", skus: []string{"A", "B", "C", "D"}, email: "b@example.com"}
	body, _ := sh.orderBody(map[string]any{"cart_id": "%s"})
	return &guestFlow{sh: sh, checkout: body}
}

// TestGuestFlowCountsStepsAndOrders: every flow is a cart, three lines
// and a checkout; a flow counts as an order only when its checkout is a
// confirmed order, and a failed one is named by its step.
func TestGuestFlowCountsStepsAndOrders(t *testing.T) {
	srv := flowServer(t, func(cart int64) bool { return cart%2 == 0 })
	res, err := testFlow(srv).run(t.Context(), quick())
	if err != nil {
		t.Fatal(err)
	}
	f, s := res.Flow, res.Steps
	if f.Requests < 4 || f.OK == 0 || f.Errors == 0 || f.OK+f.Errors != f.Requests {
		t.Fatalf("flows = %+v, want some confirmed and some failed", f)
	}
	if s[stepCreate].Requests != f.Requests || s[stepAdd].Requests != 3*f.Requests || s[stepCheckout].Requests != f.Requests {
		t.Errorf("steps %d, %d, %d for %d flows", s[stepCreate].Requests, s[stepAdd].Requests, s[stepCheckout].Requests, f.Requests)
	}
	if s[stepCreate].Errors != 0 || s[stepAdd].Errors != 0 || s[stepCheckout].Errors != f.Errors {
		t.Errorf("step errors %d, %d, %d; want only the %d failed checkouts", s[stepCreate].Errors, s[stepAdd].Errors, s[stepCheckout].Errors, f.Errors)
	}
	if len(f.ErrorKinds) != 1 || f.ErrorKinds[0].Kind != "check: check out cart: status 500" {
		t.Errorf("flow errors = %+v, want the checkout's status", f.ErrorKinds)
	}
	if f.Throughput <= 0 || f.P99 <= 0 || s[stepAdd].P50 <= 0 || s[stepAdd].P50 > f.P50 {
		t.Errorf("figures: flow %+v, add line %+v", f, s[stepAdd])
	}
}

// TestGuestFlowStopsAtTheFailedStep: a cart that cannot be made ends the
// flow before any line is added.
func TestGuestFlowStopsAtTheFailedStep(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	res, err := testFlow(srv).run(t.Context(), quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Flow.OK != 0 || res.Flow.Errors == 0 || res.Steps[stepAdd].Requests != 0 || res.Steps[stepCheckout].Requests != 0 {
		t.Errorf("flow %+v, steps %+v", res.Flow, res.Steps)
	}
	if k := res.Steps[stepCreate].ErrorKinds; len(k) != 1 || k[0].Kind != "HTTP 503 Service Unavailable" {
		t.Errorf("create cart errors = %+v", k)
	}
}

// TestGuestFlowKeepsToTheRate: with a rate, flows start that many times a
// second, not as fast as the workers go.
func TestGuestFlowKeepsToTheRate(t *testing.T) {
	srv := flowServer(t, func(int64) bool { return false })
	l := quick()
	l.Rate, l.Warmup = 20, 0
	res, err := testFlow(srv).run(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	// The schedule never runs ahead of the rate: 20/s for 0.3 s is about
	// 6 flows, and as fast as they go would be hundreds. (Slowness could
	// make it fewer; that is not asserted.)
	if n := res.Flow.Requests; n == 0 || n > 9 {
		t.Errorf("%d flows in 300 ms at 20/s: want 1 to 9", n)
	}
}
