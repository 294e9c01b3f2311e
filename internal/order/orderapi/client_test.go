package orderapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// request is what the server saw of a call, or what a call must send.
type request struct {
	method, path, query, key, token, body string
}

// TestClientSendsTheOperations checks each call's method, path (escaped),
// query, Idempotency-Key, order token and body against the service's
// routes (order/http.go).
func TestClientSendsTheOperations(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Idempotency-Key"), r.Header.Get(orderapi.OrderTokenHeader), string(b)}
		if r.Header.Get("Authorization") != "" {
			got.method = "with Authorization"
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"o1","next_cursor":"c2"}`)
	}))
	t.Cleanup(srv.Close)
	c := orderapi.NewClient(srv.URL, nil)
	eur := money.Money{Amount: 250, Currency: "EUR"}
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	tests := []struct {
		name string
		do   func(ctx context.Context) error
		want request
	}{
		{"checkout", func(ctx context.Context) error {
			_, err := c.Checkout(ctx, orderapi.CheckoutRequest{CartID: "cart1", Email: "a@b.c", Payment: orderapi.PaymentInput{Provider: "fake", Token: "tok_visa"}}, "key1")
			return err
		}, request{method: "POST", path: "/api/v1/checkout", key: "key1",
			body: `{"cart_id":"cart1","email":"a@b.c","shipping_address":{"name":"","line1":"","city":"","postal_code":"","country":""},"payment":{"provider":"fake","token":"tok_visa"}}`}},
		{"guest order", func(ctx context.Context) error { _, err := c.GuestOrder(ctx, "o/1", "secret"); return err },
			request{method: "GET", path: "/api/v1/orders/o%2F1", token: "secret"}},
		{"customer's order", func(ctx context.Context) error { _, err := c.GuestOrder(ctx, "o1", ""); return err },
			request{method: "GET", path: "/api/v1/orders/o1"}},
		{"guest cancel", func(ctx context.Context) error { _, err := c.GuestCancel(ctx, "o1", "secret"); return err },
			request{method: "POST", path: "/api/v1/orders/o1/cancel", token: "secret"}},
		{"request return", func(ctx context.Context) error {
			_, err := c.RequestReturn(ctx, "o1", "secret", orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 2}}, Reason: "too big"}, "key2")
			return err
		}, request{method: "POST", path: "/api/v1/orders/o1/returns", token: "secret", key: "key2",
			body: `{"lines":[{"sku":"MUG-1","quantity":2}],"reason":"too big"}`}},
		{"my orders", func(ctx context.Context) error { _, err := c.MyOrders(ctx, "c1", 10); return err },
			request{method: "GET", path: "/api/v1/me/orders", query: "cursor=c1&limit=10"}},
		{"my first orders", func(ctx context.Context) error { _, err := c.MyOrders(ctx, "", 0); return err },
			request{method: "GET", path: "/api/v1/me/orders"}},
		{"list", func(ctx context.Context) error {
			_, err := c.List(ctx, orderapi.ListParams{Status: orderapi.StatusShipped, Email: "a+b@c.d", CreatedFrom: from,
				CreatedTo: from.Add(time.Hour), Cursor: "c1", Limit: 5})
			return err
		}, request{method: "GET", path: "/api/v1/admin/orders",
			query: "created_from=2026-01-02T03%3A04%3A05Z&created_to=2026-01-02T04%3A04%3A05Z&cursor=c1&email=a%2Bb%40c.d&limit=5&status=shipped"}},
		{"get", func(ctx context.Context) error { _, err := c.Get(ctx, "o1"); return err },
			request{method: "GET", path: "/api/v1/admin/orders/o1"}},
		{"cancel", func(ctx context.Context) error { _, err := c.Cancel(ctx, "o1"); return err },
			request{method: "POST", path: "/api/v1/admin/orders/o1/cancel"}},
		{"refund", func(ctx context.Context) error {
			_, err := c.Refund(ctx, "o1", orderapi.RefundCreate{Amount: eur, Reason: "shipping", Key: "r1"})
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/refunds",
			body: `{"amount":{"amount":250,"currency":"EUR"},"reason":"shipping","key":"r1"}`}},
		{"ship", func(ctx context.Context) error {
			_, err := c.Ship(ctx, "o1", orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "JD1"}, "key3")
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/shipments", key: "key3", body: `{"carrier":"DHL","tracking_number":"JD1"}`}},
		{"deliver", func(ctx context.Context) error {
			_, err := c.Track(ctx, "o1", "s 1", orderapi.TrackingUpdate{Status: orderapi.ShipmentDelivered, Location: "Leeds"})
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/shipments/s%201/events", body: `{"status":"delivered","location":"Leeds"}`}},
		{"receive return", func(ctx context.Context) error {
			_, err := c.ReceiveReturn(ctx, "o1", "r1", orderapi.ReturnReceive{Restock: []string{"MUG-1"}, Refund: &eur, IncludeShipping: true})
			return err
		}, request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/receive",
			body: `{"restock":["MUG-1"],"refund":{"amount":250,"currency":"EUR"},"include_shipping":true}`}},
		{"reject return", func(ctx context.Context) error { _, err := c.RejectReturn(ctx, "o1", "r1"); return err },
			request{method: "POST", path: "/api/v1/admin/orders/o1/returns/r1/reject"}},
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
		if !sameQuery(g.query, tt.want.query) {
			t.Errorf("%s: query %q, want %q", tt.name, g.query, tt.want.query)
		}
		g.query, tt.want.query = "", ""
		if g != tt.want {
			t.Errorf("%s: sent %+v, want %+v", tt.name, g, tt.want)
		}
	}
}

// sameJSON reports whether two JSON texts (or two empty bodies) are equal
// as values.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

func sameQuery(a, b string) bool {
	va, err1 := url.ParseQuery(a)
	vb, err2 := url.ParseQuery(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(va, vb)
}

// TestNotFoundAnswersMatchTheirSentinel checks each 404 code becomes its
// sentinel, the answer staying in the chain.
func TestNotFoundAnswersMatchTheirSentinel(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]error{
		"order_not_found":    orderapi.ErrNotFound,
		"not_found":          orderapi.ErrNotFound,
		"shipment_not_found": orderapi.ErrShipmentNotFound,
		"return_not_found":   orderapi.ErrReturnNotFound,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"status":404,"code":"`+code+`"}`)
		}))
		_, err := orderapi.NewClient(srv.URL, nil).Track(tenancy.WithID(t.Context(), "t1"), "o1", "s1",
			orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit})
		srv.Close()
		if !errors.Is(err, want) || !apiclient.IsCode(err, code) {
			t.Errorf("404 %s: %v, want %v with the answer", code, err, want)
		}
	}
}
