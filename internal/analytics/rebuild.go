package analytics

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mercato/mercato/internal/analytics/analyticsdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Rebuilt is what a rebuild did.
type Rebuilt struct {
	Stores int
	Events int64
}

// Rebuild empties every store's read models and folds its log again, in
// the order the events were logged; it returns how many stores and events
// it replayed. Each store is rebuilt in one transaction: reports read the
// old figures until the new ones are complete. The fold does not depend on
// the order of events (see fold), so the result is the state the live
// consumer reached, exactly.
func (s *Service) Rebuild(ctx context.Context) (Rebuilt, error) {
	var tenants []string
	all := sqldb.AllTenants(ctx)
	err := s.store.Read(all, func(q *analyticsdb.Queries) error {
		var err error
		tenants, err = q.LoggedTenants(all)
		return err
	})
	if err != nil {
		return Rebuilt{}, fmt.Errorf("analytics: rebuild: list stores: %w", err)
	}
	var out Rebuilt
	for _, t := range tenants {
		n, err := s.rebuildStore(tenancy.WithID(ctx, t), t)
		if err != nil {
			return out, fmt.Errorf("analytics: rebuild store %s: %w", t, err)
		}
		out.Stores++
		out.Events += n
	}
	return out, nil
}

// rebuildStore rebuilds one store's read models from its log.
func (s *Service) rebuildStore(ctx context.Context, tenant string) (int64, error) {
	var n int64
	err := s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *analyticsdb.Queries) error {
		n = 0 // the transaction may be retried
		for _, clear := range []func(context.Context, string) error{q.ClearStores, q.ClearOrders, q.ClearOrderLines,
			q.ClearReturns, q.ClearCarts, q.ClearProducts, q.ClearVariants, q.ClearStockMoves} {
			if err := clear(ctx, tenant); err != nil {
				return fmt.Errorf("clear: %w", err)
			}
		}
		var afterAt int64
		afterID := ""
		for {
			page, err := q.ReplayPage(ctx, analyticsdb.ReplayPageParams{TenantID: tenant, AfterAt: afterAt, AfterID: afterID, Lim: replayPage})
			if err != nil {
				return fmt.Errorf("read the log: %w", err)
			}
			for _, row := range page {
				var e outbox.Envelope
				if err := json.Unmarshal([]byte(row.Envelope), &e); err != nil {
					return fmt.Errorf("decode logged event %s: %w", row.ID, err)
				}
				if err := fold(ctx, q, tenant, e); err != nil && !bus.IsPermanent(err) {
					return err
				}
				n++
				afterAt, afterID = row.ReceivedAt, row.ID
			}
			if len(page) < replayPage {
				return nil
			}
		}
	})
	return n, err
}
