package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// orderPages serves GET /api/v1/admin/orders from orders (newest first),
// paged by an index cursor, keeping only those created at or after the
// created_from the caller sends, as the order service does.
func orderPages(t *testing.T, orders []orderapi.Order) (*httptest.Server, *int) {
	t.Helper()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path != "/api/v1/admin/orders" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var list []orderapi.Order
		from, _ := time.Parse(time.RFC3339Nano, q.Get("created_from"))
		for _, o := range orders {
			if !o.CreatedAt.Before(from) {
				list = append(list, o)
			}
		}
		start, _ := strconv.Atoi(q.Get("cursor"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit <= 0 || limit > 100 {
			limit = 20
		}
		end := min(start+limit, len(list))
		out := orderapi.OrderList{Items: list[start:end]}
		if end < len(list) {
			out.NextCursor = strconv.Itoa(end)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func eur(n int64) money.Money { return money.Money{Amount: n, Currency: "EUR"} }

func TestRevenue(t *testing.T) {
	now := time.Date(2026, 3, 30, 15, 0, 0, 0, time.UTC)
	order := func(id string, at time.Time, status orderapi.Status, total, refunded int64, currency string) orderapi.Order {
		return orderapi.Order{ID: id, CreatedAt: at, Status: status, Currency: currency,
			Total: money.Money{Amount: total, Currency: currency}, Refunded: money.Money{Amount: refunded, Currency: currency}}
	}
	orders := []orderapi.Order{ // newest first
		order("today-paid", now.Add(-time.Hour), orderapi.StatusConfirmed, 2000, 0, "EUR"),
		order("today-pending", now.Add(-2*time.Hour), orderapi.StatusPending, 9999, 0, "EUR"),
		order("today-refunded", now.Add(-3*time.Hour), orderapi.StatusDelivered, 5000, 1500, "EUR"),
		order("yesterday", now.AddDate(0, 0, -1), orderapi.StatusShipped, 1000, 0, "EUR"),
		order("cancelled", now.AddDate(0, 0, -2), orderapi.StatusCancelled, 7000, 0, "EUR"),
		order("dollars", now.AddDate(0, 0, -3), orderapi.StatusConfirmed, 3000, 0, "USD"),
		order("first-day", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), orderapi.StatusShipping, 400, 0, "EUR"),
		order("too-old", time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC), orderapi.StatusDelivered, 800, 0, "EUR"),
	}
	srv, _ := orderPages(t, orders)
	s := &Service{deps: Deps{Orders: orderapi.NewClient(srv.URL, nil)}}
	ctx := tenancy.WithID(t.Context(), "acme")

	rev, latest, err := s.revenue(ctx, "EUR", now)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Today != eur(2000+3500) || rev.TodayOrders != 2 {
		t.Errorf("today %v in %d orders, want 55.00 in 2", rev.Today, rev.TodayOrders)
	}
	if rev.Total != eur(5500+1000+400) || rev.PaidOrders != 4 {
		t.Errorf("30 days %v in %d orders, want 69.00 in 4", rev.Total, rev.PaidOrders)
	}
	if rev.OtherCurrency != 1 || rev.Cut || rev.Read != 7 {
		t.Errorf("other currency %d, cut %v, read %d; want 1, false, 7", rev.OtherCurrency, rev.Cut, rev.Read)
	}
	if len(rev.Days) != revenueDays || !rev.Days[0].Day.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%d days from %v", len(rev.Days), rev.Days[0].Day)
	}
	want := map[int]int64{0: 400, 28: 1000, 29: 5500}
	for i, d := range rev.Days {
		if d.Amount != want[i] {
			t.Errorf("day %d (%v): %d, want %d", i, d.Day, d.Amount, want[i])
		}
	}
	if len(latest) != latestOrders || latest[0].ID != "today-paid" {
		t.Errorf("latest orders %d, first %q", len(latest), latest[0].ID)
	}
}

// TestRevenueBounded: a store with more orders than the walk reads says
// so, and the walk stops there.
func TestRevenueBounded(t *testing.T) {
	now := time.Date(2026, 3, 30, 15, 0, 0, 0, time.UTC)
	orders := make([]orderapi.Order, maxRevenueOrders+150)
	for i := range orders {
		orders[i] = orderapi.Order{ID: strconv.Itoa(i), CreatedAt: now.Add(-time.Duration(i) * time.Minute),
			Status: orderapi.StatusConfirmed, Currency: "EUR", Total: eur(100)}
	}
	srv, calls := orderPages(t, orders)
	s := &Service{deps: Deps{Orders: orderapi.NewClient(srv.URL, nil)}}
	rev, _, err := s.revenue(tenancy.WithID(t.Context(), "acme"), "EUR", now)
	if err != nil {
		t.Fatal(err)
	}
	if !rev.Cut || rev.Read != maxRevenueOrders || rev.Total != eur(100*maxRevenueOrders) {
		t.Errorf("cut %v after %d orders, total %v", rev.Cut, rev.Read, rev.Total)
	}
	if *calls > maxRevenueOrders/100+1 {
		t.Errorf("%d pages read for %d orders", *calls, maxRevenueOrders)
	}
}

// TestRevenueNoRecentOrders: with nothing in the chart's days, the latest
// orders are the older ones.
func TestRevenueNoRecentOrders(t *testing.T) {
	now := time.Date(2026, 3, 30, 15, 0, 0, 0, time.UTC)
	old := orderapi.Order{ID: "old", CreatedAt: now.AddDate(0, -3, 0), Status: orderapi.StatusDelivered, Currency: "EUR", Total: eur(100)}
	srv, _ := orderPages(t, []orderapi.Order{old})
	s := &Service{deps: Deps{Orders: orderapi.NewClient(srv.URL, nil)}}
	rev, latest, err := s.revenue(tenancy.WithID(t.Context(), "acme"), "EUR", now)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Total.Amount != 0 || len(latest) != 1 || latest[0].ID != "old" {
		t.Errorf("total %v, latest %+v", rev.Total, latest)
	}
}
