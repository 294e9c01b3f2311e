package inventory

import (
	"testing"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// TestClientStockPages walks the admin UI's stock calls through the typed
// client against the real handlers: an adjustment resent with its
// Idempotency-Key counts once, and the stock list and ledger page and
// filter as asked.
func TestClientStockPages(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t, sqldbtest.Open(t, "", Migrations...))
	c, ctx := f.client, tenantCtx(t, "default")
	adjust := func(sku string, delta int64, key string) inventoryapi.StockLevel {
		t.Helper()
		l, err := c.Adjust(ctx, sku, inventoryapi.Adjustment{Delta: delta, Reason: "delivery", Reference: "dn-" + sku}, key)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	adjust("A-1", 5, "adj-1")
	if l := adjust("A-1", 5, "adj-1"); l.OnHand != 5 {
		t.Fatalf("a resent adjustment: on hand %d, want 5", l.OnHand)
	}
	adjust("A-1", 1, "")
	adjust("B-1", 2, "")
	adjust("C-1", 9, "")
	if _, err := c.SetThreshold(ctx, "B-1", 3); err != nil {
		t.Fatal(err)
	}

	if low, err := c.List(ctx, inventoryapi.ListParams{Low: true}); err != nil || len(low.Items) != 1 || low.Items[0].SKU != "B-1" || !low.Items[0].Low {
		t.Fatalf("low stock = %+v, %v", low, err)
	}
	var skus []string
	p := inventoryapi.ListParams{Limit: 2}
	for range 3 {
		page, err := c.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Items {
			skus = append(skus, l.SKU)
		}
		if p.Cursor = page.NextCursor; p.Cursor == "" {
			break
		}
	}
	if len(skus) != 3 || skus[0] != "A-1" || skus[2] != "C-1" || p.Cursor != "" {
		t.Fatalf("paged list = %v (cursor %q), want A-1 B-1 C-1", skus, p.Cursor)
	}

	mv, err := c.Movements(ctx, inventoryapi.ListParams{SKU: "A-1"})
	if err != nil || len(mv.Items) != 2 || mv.Items[0].DeltaOnHand != 1 || mv.Items[1].Reference != "dn-A-1" {
		t.Fatalf("A-1 ledger = %+v, %v", mv, err)
	}
	all, err := c.Movements(ctx, inventoryapi.ListParams{Limit: 3})
	if err != nil || len(all.Items) != 3 || all.NextCursor == "" {
		t.Fatalf("ledger page = %+v, %v", all, err)
	}
	rest, err := c.Movements(ctx, inventoryapi.ListParams{Limit: 3, Cursor: all.NextCursor})
	if err != nil || len(rest.Items) != 1 || rest.Items[0].SKU != "A-1" || rest.NextCursor != "" {
		t.Fatalf("ledger second page = %+v, %v", rest, err)
	}
}
