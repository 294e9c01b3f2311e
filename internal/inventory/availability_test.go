package inventory

import (
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

func TestAvailabilityOfALevel(t *testing.T) {
	loc := func(avail ...int64) []inventoryapi.LocationStock {
		var ls []inventoryapi.LocationStock
		for _, a := range avail {
			ls = append(ls, inventoryapi.LocationStock{Available: a})
		}
		return ls
	}
	for _, tc := range []struct {
		name      string
		threshold int64
		locs      []inventoryapi.LocationStock
		status    string
		available int64 // -1: not told
	}{
		{"never stocked anywhere", 5, nil, inventoryapi.AvailabilitySoldOut, -1},
		{"all reserved", 5, loc(0), inventoryapi.AvailabilitySoldOut, -1},
		{"plenty", 5, loc(40), inventoryapi.AvailabilityInStock, -1},
		{"at the threshold", 8, loc(8), inventoryapi.AvailabilityFewLeft, 8},
		{"above the threshold", 8, loc(9), inventoryapi.AvailabilityInStock, -1},
		{"few under a zero threshold", 0, loc(3), inventoryapi.AvailabilityFewLeft, 3},
		{"few means five", 0, loc(5), inventoryapi.AvailabilityFewLeft, 5},
		{"six is not few", 0, loc(6), inventoryapi.AvailabilityInStock, -1},
		// One line is served from one location: 4 + 4 is not 8 to a buyer.
		{"split over locations", 0, loc(4, 4), inventoryapi.AvailabilityFewLeft, 4},
		{"best location counts", 5, loc(2, 30), inventoryapi.AvailabilityInStock, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := availability(inventoryapi.StockLevel{SKU: "S-1", LowStockThreshold: tc.threshold, Locations: tc.locs})
			if got.SKU != "S-1" || got.Status != tc.status {
				t.Fatalf("got %+v, want status %s", got, tc.status)
			}
			switch {
			case tc.available < 0 && got.Available != nil:
				t.Fatalf("available %d told for %s", *got.Available, got.Status)
			case tc.available >= 0 && (got.Available == nil || *got.Available != tc.available):
				t.Fatalf("available %v, want %d", got.Available, tc.available)
			}
		})
	}
}

// TestPublicAvailability: anyone (no token) may ask whether SKUs can be
// bought, and learns no more than that: held stock is not for sale, a SKU
// never stocked is sold out, the count is told only when few are left.
// Bad requests are refused with the SKU at fault.
func TestPublicAvailability(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, f.svc, ctx, "PLENTY-1", "", 50)
		mustAdjust(t, f.svc, ctx, "FEW-1", "", 3)
		mustAdjust(t, f.svc, ctx, "HELD-1", "", 2)
		if _, _, err := f.svc.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o-held", Lines: []inventoryapi.Line{{SKU: "HELD-1", Quantity: 2}}}); err != nil {
			t.Fatal(err)
		}
		guest := inventoryapi.NewClient(f.url, &http.Client{})
		got, err := guest.Availability(ctx, []string{"FEW-1", "PLENTY-1", "HELD-1", "NEVER-1", "FEW-1"})
		if err != nil {
			t.Fatalf("a guest asks: %v", err)
		}
		want := []struct {
			sku, status string
			available   int64
		}{
			{"FEW-1", inventoryapi.AvailabilityFewLeft, 3},
			{"PLENTY-1", inventoryapi.AvailabilityInStock, -1},
			{"HELD-1", inventoryapi.AvailabilitySoldOut, -1},
			{"NEVER-1", inventoryapi.AvailabilitySoldOut, -1},
		}
		if len(got.Items) != len(want) {
			t.Fatalf("got %+v, want one item per SKU asked", got.Items)
		}
		for i, w := range want {
			g := got.Items[i]
			told := int64(-1)
			if g.Available != nil {
				told = *g.Available
			}
			if g.SKU != w.sku || g.Status != w.status || told != w.available {
				t.Errorf("item %d: %s %s %d, want %s %s %d", i, g.SKU, g.Status, told, w.sku, w.status, w.available)
			}
		}

		if _, err := guest.Availability(ctx, []string{"MUG-1", "no spaces"}); !apiclient.IsStatus(err, http.StatusUnprocessableEntity) {
			t.Errorf("a bad SKU: %v, want 422", err)
		}
		if none, err := guest.Availability(ctx, nil); err != nil || len(none.Items) != 0 {
			t.Errorf("no SKU: %+v %v, want no items", none, err)
		}
		webtest.CheckCalls(t, f.url, []webtest.Call{
			{Name: "anonymous reads availability", Method: "GET", Path: "/api/v1/availability?sku=PLENTY-1", Want: 200},
			{Name: "a customer reads availability", Method: "GET", Path: "/api/v1/availability?sku=PLENTY-1", Authz: webtest.Customer(t), Want: 200},
		})
	}, Migrations...)
}
