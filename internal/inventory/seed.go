package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// demoReason is the ledger reason of demo stock.
const demoReason = "demo seed"

// demoQuantity is the demo stock of the i-th SKU (in SKU order): 20 to 200
// units derived from the SKU, except the first, out of stock, and the
// second, low (3 units), so the storefront and the low-stock list show both.
func demoQuantity(i int, sku string) int64 {
	switch i {
	case 0:
		return 0
	case 1:
		return 3
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(sku)) // a hash never fails to write
	return 20 + int64(h.Sum32()%181)
}

// SeedDemo gives every SKU of the tenant's active catalog stock in the
// default location, as adjustments with reason "demo seed", and returns
// the number of stock rows created. It seeds nothing when the tenant has
// stock already, or when the service has no catalog client.
func (s *Service) SeedDemo(ctx context.Context) (int, error) {
	if s.catalog == nil {
		return 0, nil
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		var err error
		n, err = q.CountStock(ctx, tenant)
		return err
	})
	if err != nil || n > 0 {
		if err != nil {
			return 0, fmt.Errorf("seed demo stock: count stock: %w", err)
		}
		return 0, nil
	}
	var skus []string
	for lp := (catalogapi.ListParams{Limit: 100}); ; {
		page, err := s.catalog.Products(ctx, lp)
		if err != nil {
			return 0, fmt.Errorf("seed demo stock: list products: %w", err)
		}
		for _, p := range page.Items {
			for _, v := range p.Variants {
				if validSKU(v.SKU) == "" {
					skus = append(skus, v.SKU)
				}
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		lp.Cursor = page.NextCursor
	}
	slices.Sort(skus)
	skus = slices.Compact(skus)
	created := 0
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		created = 0
		// Again inside the transaction: two seeds at once seed once.
		if n, err := q.CountStock(ctx, tenant); err != nil || n > 0 {
			return err
		}
		now := s.now()
		loc := inventoryapi.DefaultLocation
		for i, sku := range skus {
			qty := demoQuantity(i, sku)
			if qty == 0 {
				if err := ensureStockRow(ctx, q, tenant, sku, loc, now); err != nil {
					return err
				}
				if _, err := q.CreateEmptyStock(ctx, inventorydb.CreateEmptyStockParams{TenantID: tenant, Sku: sku, Location: loc, UpdatedAt: sqldb.Micros(now)}); err != nil {
					return fmt.Errorf("create stock of %s: %w", sku, err)
				}
			} else {
				onHand, reserved, err := addStock(ctx, tx, q, tenant, stockChange{sku: sku, location: loc, delta: qty,
					kind: inventoryapi.KindAdjustment, reason: demoReason}, now)
				if err != nil {
					return err
				}
				// One location: what it holds is all there is.
				available := onHand - reserved
				if err := addEvent(ctx, tx, inventoryapi.SubjectStockAdjusted, now, inventoryapi.StockAdjusted{
					SKU: sku, Location: loc, Kind: inventoryapi.KindAdjustment, Delta: qty, Reason: demoReason,
					OnHand: onHand, Reserved: reserved, At: now, Available: &available}); err != nil {
					return err
				}
			}
			if _, err := s.checkLow(ctx, tx, q, tenant, sku, now); err != nil {
				return err
			}
			created++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seed demo stock: %w", err)
	}
	s.log.InfoContext(ctx, "demo stock seeded", "tenant", tenant, "count", created)
	return created, nil
}
