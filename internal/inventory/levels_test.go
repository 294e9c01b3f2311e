package inventory

import (
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// TestEventsCarryAvailable: stock events carry each SKU's available units
// over every location after the change, which a projection such as search
// keeps without calling the inventory.
func TestEventsCarryAvailable(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 3)
		mustAdjust(t, s, ctx, "A", "north", 2)
		if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 3}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(ctx, "o1", "cancelled"); err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range outboxEnvelopes(t, db) {
			switch e.Type {
			case inventoryapi.SubjectStockAdjusted:
				var d inventoryapi.StockAdjusted
				if err := json.Unmarshal(e.Data, &d); err != nil || d.Available == nil {
					t.Fatalf("adjusted %s: %v, available %v", e.Data, err, d.Available)
				}
				got = append(got, *d.Available)
			case inventoryapi.SubjectStockReserved:
				var d inventoryapi.StockReserved
				if err := json.Unmarshal(e.Data, &d); err != nil || len(d.Levels) != 1 || d.Levels[0].SKU != "A" {
					t.Fatalf("reserved %s: %v", e.Data, err)
				}
				got = append(got, d.Levels[0].Available)
			case inventoryapi.SubjectStockReleased:
				var d inventoryapi.StockReleased
				if err := json.Unmarshal(e.Data, &d); err != nil || len(d.Levels) != 1 || d.Levels[0].SKU != "A" {
					t.Fatalf("released %s: %v", e.Data, err)
				}
				got = append(got, d.Levels[0].Available)
			}
		}
		want := []int64{3, 5, 2, 5}
		if len(got) != len(want) {
			t.Fatalf("available = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("available = %v, want %v", got, want)
			}
		}
	})
}

// outboxEnvelopes returns the outbox's events in order, every tenant's.
func outboxEnvelopes(t *testing.T, db *sqldb.DB) []outbox.Envelope {
	t.Helper()
	var out []outbox.Envelope
	ctx := sqldb.AllTenants(t.Context())
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT envelope FROM outbox ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var e outbox.Envelope
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
