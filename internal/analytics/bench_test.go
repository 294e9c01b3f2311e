package analytics

import (
	"fmt"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// BenchmarkReports reads every report of 30 days over a store with 5,000
// orders (each from a cart, with its stock commit) spread over 90 days.
func BenchmarkReports(b *testing.B) {
	db := sqldbtest.Open(b, "", Migrations...)
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	s, err := New(b.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	s.now = func() time.Time { return now }
	for i := range 5000 {
		at := now.Add(-time.Duration(i) * 90 * 24 * time.Hour / 5000)
		cart := fmt.Sprintf("cart-%d", i)
		o := order(fmt.Sprintf("o-%d", i), fmt.Sprintf("c%d@example.com", i%700), cart, at, orderapi.StatusConfirmed, 2, 2000, 300, int64(i%7)*100)
		for _, e := range []outbox.Envelope{
			event(b, "acme", cartapi.SubjectCreated, at, cartapi.Created{CartID: cart, At: at}),
			event(b, "acme", orderapi.SubjectConfirmed, at, orderapi.OrderEvent{Order: o}),
			event(b, "acme", inventoryapi.SubjectStockCommitted, at, inventoryapi.StockCommitted{OrderID: o.ID,
				Lines: []inventoryapi.ReservedLine{{SKU: "MUG-1", Quantity: 2}}, At: at}),
		} {
			if _, err := s.Handle(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
	}
	ctx := tenancy.WithID(b.Context(), "acme")
	for _, r := range []struct {
		name string
		fn   func() error
	}{
		{"summary", func() error { _, err := s.Summary(ctx, Query{Days: 30}); return err }},
		{"series", func() error { _, err := s.Series(ctx, Query{Days: 30}); return err }},
		{"products", func() error { _, err := s.Products(ctx, Query{Days: 30}, 10); return err }},
		{"funnel", func() error { _, err := s.Funnel(ctx, Query{Days: 30}); return err }},
		{"customers", func() error { _, err := s.Customers(ctx, Query{Days: 30}); return err }},
	} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if err := r.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
