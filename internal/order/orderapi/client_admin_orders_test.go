package orderapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestKeyedAdminCallsSendTheirKey checks the admin UI's keyed operations:
// the same paths as their unkeyed twins, the form's Idempotency-Key, and a
// return received with no line restocked sending restock [] (absent would
// restock every line).
func TestKeyedAdminCallsSendTheirKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = request{method: r.Method, path: r.URL.EscapedPath(), key: r.Header.Get("Idempotency-Key"), body: string(b)}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"o1"}`)
	}))
	t.Cleanup(srv.Close)
	c := orderapi.NewClient(srv.URL, nil)
	eur := money.Money{Amount: 990, Currency: "EUR"}

	tests := []struct {
		name string
		do   func(ctx context.Context) error
		want request
	}{
		{"cancel", func(ctx context.Context) error { _, err := c.CancelWithKey(ctx, "o1", "k1"); return err },
			request{method: "POST", path: "/api/v1/admin/orders/o1/cancel", key: "k1"}},
		{"track", func(ctx context.Context) error {
			_, err := c.TrackWithKey(ctx, "o1", "s/1", orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit, Note: "hub"}, "k2")
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/shipments/s%2F1/events", key: "k2", body: `{"status":"in_transit","note":"hub"}`}},
		{"receive, nothing restocked", func(ctx context.Context) error {
			_, err := c.ReceiveReturnAs(ctx, "o1", "r1", orderapi.ReturnDecision{}, "k3")
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/receive", key: "k3", body: `{"restock":[]}`}},
		{"receive, chosen lines and amount", func(ctx context.Context) error {
			_, err := c.ReceiveReturnAs(ctx, "o1", "r1", orderapi.ReturnDecision{Restock: []string{"MUG-1"}, Refund: &eur}, "k4")
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/receive", key: "k4",
			body: `{"restock":["MUG-1"],"refund":{"amount":990,"currency":"EUR"}}`}},
		{"receive with shipping", func(ctx context.Context) error {
			_, err := c.ReceiveReturnAs(ctx, "o1", "r1", orderapi.ReturnDecision{Restock: []string{"MUG-1"}, IncludeShipping: true}, "k5")
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/receive", key: "k5",
			body: `{"restock":["MUG-1"],"include_shipping":true}`}},
		{"reject", func(ctx context.Context) error { _, err := c.RejectReturnWithKey(ctx, "o1", "r1", "k6"); return err },
			request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/reject", key: "k6"}},
	}
	ctx := tenancy.WithID(t.Context(), "t1")
	for _, tt := range tests {
		if err := tt.do(ctx); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		mu.Lock()
		g := got
		mu.Unlock()
		if !sameJSON(g.body, tt.want.body) {
			t.Errorf("%s: body %s, want %s", tt.name, g.body, tt.want.body)
		}
		g.body, tt.want.body = "", ""
		if g != tt.want {
			t.Errorf("%s: sent %+v, want %+v", tt.name, g, tt.want)
		}
	}
}
