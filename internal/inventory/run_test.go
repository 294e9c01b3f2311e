package inventory

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestRunSweepsExpired runs the sweeper on the fake clock of a synctest
// bubble: a reservation with a 1 s TTL is expired by the first sweep after
// it is due, and Run returns nil when its context ends.
func TestRunSweepsExpired(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	synctest.Test(t, func(t *testing.T) {
		s, err := New(t.Context(), Config{LowStockThreshold: 1, SweepInterval: 5 * time.Second}, Deps{Deps: kit.Deps{DB: db}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithID(context.Background(), "default")
		mustAdjust(t, s, ctx, "A", "", 3)
		if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1", TTLSeconds: 1, Lines: []inventoryapi.Line{{SKU: "A", Quantity: 2}}}); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()

		time.Sleep(4 * time.Second) // due, but no sweep yet
		if r, _ := s.Reservation(ctx, "o1"); r.Status != inventoryapi.StatusHeld {
			t.Fatalf("before the first sweep: %s, want held", r.Status)
		}
		time.Sleep(2 * time.Second) // the 5 s sweep has run
		if r, _ := s.Reservation(ctx, "o1"); r.Status != inventoryapi.StatusExpired {
			t.Fatalf("after the first sweep: %s, want expired", r.Status)
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}
