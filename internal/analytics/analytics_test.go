package analytics

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

func newTestService(t *testing.T, db *sqldb.DB, now time.Time) *Service {
	t.Helper()
	s, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	return s
}

// event builds an envelope of tenant with data.
func event(t testing.TB, tenant, typ string, at time.Time, data any) outbox.Envelope {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Envelope{ID: kit.NewID(), Type: typ, Source: strings.Split(typ, ".")[0], Tenant: tenant, Time: at, Data: raw}
}

func eur(v int64) money.Money { return money.Money{Amount: v, Currency: "EUR"} }

func order(id, email, cart string, placed time.Time, status orderapi.Status, qty, total, tax, refunded int64) orderapi.Order {
	return orderapi.Order{ID: id, Status: status, Email: email, Currency: "EUR", CartID: cart, CreatedAt: placed,
		Lines: []orderapi.Line{{SKU: "MUG-1", ProductID: "p1", Title: "Mug", Quantity: qty, Total: eur(total)}},
		Total: eur(total), Tax: eur(tax), Refunded: eur(refunded)}
}

// workload is one store's events: a store in Paris, a mug with a cost
// price, stock, two carts (one abandoned), three orders of one customer
// (one cancelled before confirmation), a refund and a return.
func workload(t *testing.T, tenant string) []outbox.Envelope {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 30, 0, 0, time.UTC) }
	cost := int64(300)
	zone := map[string]any{"tenant_id": tenant, "settings": map[string]any{"currency": "EUR", "time_zone": "Europe/Paris"}, "updated_at": day(1, 0)}
	product := catalogapi.ProductUpdated{Product: catalogapi.Product{ID: "p1", Title: "Mug", UpdatedAt: day(1, 1),
		Variants: []catalogapi.Variant{{SKU: "MUG-1", Price: eur(1000), CostPrice: &cost}, {SKU: "MUG-2", Price: eur(1000)}}},
		Category: &catalogapi.CategoryRef{ID: "c1", Name: "Kitchen"}}
	o1 := order("o1", "Ann@example.com", "cart1", day(10, 23), orderapi.StatusConfirmed, 2, 2000, 300, 0)
	o1r := o1
	o1r.Refunded = eur(500)
	ret := orderapi.Return{ID: "r1", Status: orderapi.ReturnReceived, Lines: []orderapi.ReturnLine{{SKU: "MUG-1", Quantity: 1}}, UpdatedAt: day(12, 9)}
	o2 := order("o2", "bob@example.com", "cart2", day(11, 8), orderapi.StatusCancelled, 1, 1000, 150, 0)
	o3 := order("o3", "ann@example.com", "", day(12, 8), orderapi.StatusConfirmed, 1, 1000, 150, 0)
	return []outbox.Envelope{
		event(t, tenant, tenantapi.SubjectTenantUpdated, day(1, 0), zone),
		event(t, tenant, catalogapi.SubjectProductCreated, day(1, 1), product),
		event(t, tenant, inventoryapi.SubjectStockAdjusted, day(1, 2), inventoryapi.StockAdjusted{SKU: "MUG-1", Kind: "adjustment", Delta: 10, At: day(1, 2)}),
		event(t, tenant, cartapi.SubjectCreated, day(10, 22), cartapi.Created{CartID: "cart1", At: day(10, 22)}),
		event(t, tenant, cartapi.SubjectCreated, day(11, 7), cartapi.Created{CartID: "cart2", At: day(11, 7)}),
		event(t, tenant, cartapi.SubjectCreated, day(11, 7), cartapi.Created{CartID: "cart3", At: day(11, 7)}),
		event(t, tenant, orderapi.SubjectConfirmed, day(10, 23), orderapi.OrderEvent{Order: o1}),
		event(t, tenant, inventoryapi.SubjectStockCommitted, day(10, 23), inventoryapi.StockCommitted{OrderID: "o1",
			Lines: []inventoryapi.ReservedLine{{SKU: "MUG-1", Quantity: 2}}, At: day(10, 23)}),
		event(t, tenant, orderapi.SubjectCancelled, day(11, 8), orderapi.OrderEvent{Order: o2}),
		event(t, tenant, orderapi.SubjectRefunded, day(11, 9), orderapi.Refunded{Order: o1r, Amount: eur(500)}),
		event(t, tenant, orderapi.SubjectReturnReceived, day(12, 9), orderapi.ReturnEvent{Order: o1r, Return: ret}),
		event(t, tenant, orderapi.SubjectConfirmed, day(12, 8), orderapi.OrderEvent{Order: o3}),
	}
}

// reports reads every report of the period.
func reports(t *testing.T, s *Service, tenant string, q Query) []any {
	t.Helper()
	ctx := tenancy.WithID(t.Context(), tenant)
	sum, err := s.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	ser, err := s.Series(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := s.Products(ctx, q, 100)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := s.Categories(ctx, q, 100)
	if err != nil {
		t.Fatal(err)
	}
	fun, err := s.Funnel(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	cus, err := s.Customers(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return []any{sum, ser, prod, cat, fun, cus}
}

// TestFiguresFromEvents: the figures of a small workload, days counted in
// the store's zone; the same events in reverse order, or twice, give the
// same figures; a rebuild from the log gives them again.
func TestFiguresFromEvents(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
		for _, e := range workload(t, "acme") {
			if applied, err := s.Handle(t.Context(), e); err != nil || !applied {
				t.Fatalf("handle %s: %v %v", e.Type, applied, err)
			}
			if applied, err := s.Handle(t.Context(), e); err != nil || applied {
				t.Fatalf("handle %s again: %v %v", e.Type, applied, err)
			}
		}
		evs := workload(t, "beta")
		slices.Reverse(evs)
		for _, e := range evs {
			if _, err := s.Handle(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		// o1 was placed on the 10th at 23:30 UTC: the 11th in Paris.
		q := Query{From: "2026-03-11", To: "2026-03-12"}
		got := reports(t, s, "acme", q)
		sum := got[0].(analyticsapi.Summary)
		want := analyticsapi.Figures{Orders: 2, Gross: 3000, Refunded: 500, Net: 2500, Tax: 450, AverageOrderValue: 1500, Units: 3,
			RefundedOrders: 1, RefundRate: 0.5, ReturnedUnits: 1, ReturnRate: 1.0 / 3, NewCustomers: 1,
			Turnover: analyticsapi.Turnover{CostOfGoodsSold: 600, OpeningStock: 3000, ClosingStock: 2400, AverageStock: 2700, Ratio: 600.0 / 2700}}
		if sum.TimeZone != "Europe/Paris" || sum.Currency != "EUR" || sum.Days != 2 || sum.PreviousFrom != "2026-03-09" {
			t.Errorf("range = %+v", sum.Range)
		}
		if !reflect.DeepEqual(sum.Current, want) {
			t.Errorf("figures =\n%+v, want\n%+v", sum.Current, want)
		}
		// The stock came on the 1st; the two mugs left on the 11th in Paris.
		if p := sum.Previous; p.Orders != 0 || p.Turnover.CostOfGoodsSold != 0 || p.Turnover.OpeningStock != 3000 || p.Turnover.ClosingStock != 3000 {
			t.Errorf("previous = %+v", p)
		}
		ser := got[1].(analyticsapi.Series)
		if len(ser.Items) != 2 || ser.Items[0].Gross != 2000 || ser.Items[0].Net != 1500 || ser.Items[1].Gross != 1000 || ser.Items[1].Gross7 != 3000 {
			t.Errorf("series = %+v", ser.Items)
		}
		if top := got[2].(analyticsapi.TopList); len(top.Items) != 1 || top.Items[0] != (analyticsapi.Top{ID: "p1", Name: "Mug", Units: 3, Revenue: 3000}) {
			t.Errorf("products = %+v", top.Items)
		}
		if top := got[3].(analyticsapi.TopList); len(top.Items) != 1 || top.Items[0] != (analyticsapi.Top{ID: "c1", Name: "Kitchen", Units: 3, Revenue: 3000}) {
			t.Errorf("categories = %+v", top.Items)
		}
		// cart1 was opened on the 10th in Paris (22:30 UTC): not in the period.
		if f := got[4].(analyticsapi.Funnel); f.CartsCreated != 2 || f.CheckoutsStarted != 1 || f.OrdersConfirmed != 0 {
			t.Errorf("funnel = %+v", f)
		}
		if c := got[5].(analyticsapi.Customers); c.New != 1 || c.Returning != 0 {
			t.Errorf("customers = %+v", c)
		}
		// Ann's order on the 12th alone: a returning customer.
		if c := reports(t, s, "acme", Query{From: "2026-03-12", To: "2026-03-12"})[5].(analyticsapi.Customers); c.New != 0 || c.Returning != 1 {
			t.Errorf("customers of the 12th = %+v", c)
		}
		if other := reports(t, s, "beta", q); !reflect.DeepEqual(other, got) {
			t.Errorf("the events in reverse order:\n%+v\nwant\n%+v", other, got)
		}

		n, err := s.Rebuild(t.Context())
		if err != nil || n.Stores != 2 || n.Events != int64(2*len(evs)) {
			t.Fatalf("rebuild = %+v, %v", n, err)
		}
		if again := reports(t, s, "acme", q); !reflect.DeepEqual(again, got) {
			t.Errorf("after rebuild:\n%+v\nwant\n%+v", again, got)
		}
	}, Migrations...)
}

// TestPeriods: the default period ends today in the store's zone; periods
// refused name their field.
func TestPeriods(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	s := newTestService(t, db, time.Date(2026, 3, 20, 23, 30, 0, 0, time.UTC))
	ctx := tenancy.WithID(t.Context(), "acme")
	sum, err := s.Summary(ctx, Query{Days: 7})
	if err != nil || sum.From != "2026-03-14" || sum.To != "2026-03-20" || sum.TimeZone != "UTC" {
		t.Fatalf("7 days = %+v, %v", sum.Range, err)
	}
	for _, q := range []Query{{From: "2026-03-10"}, {From: "2026-03-10", To: "2026-03-09"}, {From: "x", To: "2026-03-09"}, {Days: 400}} {
		_, err := s.Summary(ctx, q)
		var se huma.StatusError
		if !errors.As(problems.Map(err), &se) || se.GetStatus() != 422 {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

// TestCSV: formulas in text cells are neutralised, numbers kept.
func TestCSV(t *testing.T) {
	b, err := analyticsapi.EncodeCSV([][]string{{"=HYPERLINK(\"x\")", "-12", "@SUM", "+1", "plain", "-x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "\"'=HYPERLINK(\"\"x\"\")\",-12,'@SUM,+1,plain,'-x\n"; got != want {
		t.Errorf("csv = %q, want %q", got, want)
	}
}
