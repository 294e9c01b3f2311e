package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Adjust changes a SKU's stock on hand at a location (default "default",
// created on first use) and announces it. Taking on_hand below what is
// reserved there fails with *InsufficientStockError and writes nothing.
func (s *Service) Adjust(ctx context.Context, sku string, a inventoryapi.Adjustment) (inventoryapi.StockLevel, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	var errs []kit.FieldError
	if msg := validSKU(sku); msg != "" {
		errs = append(errs, kit.FieldError{Field: "path.sku", Message: msg, Value: sku})
	}
	if a.Delta == 0 || a.Delta > 1_000_000 || a.Delta < -1_000_000 {
		errs = append(errs, kit.FieldError{Field: "delta", Message: "must be non-zero, -1000000 to 1000000", Value: a.Delta})
	}
	if a.Reason == "" || len(a.Reason) > 200 {
		errs = append(errs, kit.FieldError{Field: "reason", Message: "must be 1 to 200 bytes", Value: a.Reason})
	}
	if len(errs) > 0 {
		return inventoryapi.StockLevel{}, kit.Invalid(ErrInvalid, errs...)
	}
	loc, err := location(a.Location, "location")
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	var lvl inventoryapi.StockLevel
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		onHand, reserved, err := addStock(ctx, tx, q, tenant, stockChange{sku: sku, location: loc, delta: a.Delta,
			kind: inventoryapi.KindAdjustment, reason: a.Reason, reference: a.Reference}, now)
		if err != nil {
			return err
		}
		available, err := s.checkLow(ctx, tx, q, tenant, sku, now)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, inventoryapi.SubjectStockAdjusted, now, inventoryapi.StockAdjusted{
			SKU: sku, Location: loc, Kind: inventoryapi.KindAdjustment, Delta: a.Delta, Reason: a.Reason,
			Reference: a.Reference, OnHand: onHand, Reserved: reserved, At: now, Available: &available}); err != nil {
			return err
		}
		lvl, err = s.stockLevel(ctx, q, tenant, sku)
		return err
	})
	if err != nil {
		return inventoryapi.StockLevel{}, fmt.Errorf("adjust %s: %w", sku, err)
	}
	return lvl, nil
}

// Restock puts returned units back on hand, once per reference: a repeat
// returns applied false and changes nothing.
func (s *Service) Restock(ctx context.Context, r inventoryapi.RestockRequest) (applied bool, err error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return false, err
	}
	if r.Reference == "" || len(r.Reference) > 100 {
		return false, kit.Invalid(ErrInvalid, kit.FieldError{Field: "reference", Message: "must be 1 to 100 bytes", Value: r.Reference})
	}
	lines, err := mergeLines(r.Lines)
	if err != nil {
		return false, err
	}
	loc, err := location(r.Location, "location")
	if err != nil {
		return false, err
	}
	reason := r.Reason
	if reason == "" {
		reason = "restock"
	}
	if r.OrderID != "" {
		if err := validOrderID(r.OrderID); err != nil {
			return false, err
		}
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		n, err := q.InsertRestock(ctx, inventorydb.InsertRestockParams{TenantID: tenant, Reference: r.Reference, CreatedAt: sqldb.Micros(now)})
		if err != nil {
			return fmt.Errorf("record restock: %w", err)
		}
		applied = n == 1
		if !applied {
			return nil
		}
		from, err := s.soldFrom(ctx, q, tenant, r)
		if err != nil {
			return err
		}
		for _, l := range lines {
			to := loc
			if at, ok := from[l.sku]; ok {
				to = at
			}
			onHand, reserved, err := addStock(ctx, tx, q, tenant, stockChange{sku: l.sku, location: to, delta: l.qty,
				kind: inventoryapi.KindRestock, reason: reason, reference: r.Reference}, now)
			if err != nil {
				return err
			}
			available, err := s.checkLow(ctx, tx, q, tenant, l.sku, now)
			if err != nil {
				return err
			}
			if err := addEvent(ctx, tx, inventoryapi.SubjectStockAdjusted, now, inventoryapi.StockAdjusted{
				SKU: l.sku, Location: to, Kind: inventoryapi.KindRestock, Delta: l.qty, Reason: reason,
				Reference: r.Reference, OnHand: onHand, Reserved: reserved, At: now, Available: &available}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("restock %s: %w", r.Reference, err)
	}
	return applied, nil
}

// soldFrom maps each SKU of the reservation of r.OrderID to the location it
// was taken from, when the restock names an order and no location of its
// own. An order without a reservation (nothing was ever held) maps nothing:
// its units go to the default location.
func (s *Service) soldFrom(ctx context.Context, q *inventorydb.Queries, tenant string, r inventoryapi.RestockRequest) (map[string]string, error) {
	if r.OrderID == "" || r.Location != "" {
		return nil, nil
	}
	res, err := loadReservation(ctx, q, tenant, r.OrderID)
	if errors.Is(err, ErrReservationNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	from := make(map[string]string, len(res.Lines))
	for _, l := range res.Lines {
		from[l.SKU] = l.Location
	}
	return from, nil
}

// SetThreshold sets a SKU's low-stock threshold (the SKU need not be
// stocked yet). Crossing it by the change announces stock low like any
// other crossing.
func (s *Service) SetThreshold(ctx context.Context, sku string, threshold int64) (inventoryapi.StockLevel, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	if msg := validSKU(sku); msg != "" {
		return inventoryapi.StockLevel{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "path.sku", Message: msg, Value: sku})
	}
	if threshold < 0 || threshold > 1_000_000 {
		return inventoryapi.StockLevel{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "threshold", Message: "must be 0 to 1000000", Value: threshold})
	}
	var lvl inventoryapi.StockLevel
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		if err := q.SetThreshold(ctx, inventorydb.SetThresholdParams{TenantID: tenant, Sku: sku,
			Threshold: sql.NullInt64{Int64: threshold, Valid: true}, UpdatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("set threshold: %w", err)
		}
		if _, err := s.checkLow(ctx, tx, q, tenant, sku, now); err != nil {
			return err
		}
		lvl, err = s.stockLevel(ctx, q, tenant, sku)
		return err
	})
	if err != nil {
		return inventoryapi.StockLevel{}, fmt.Errorf("set threshold of %s: %w", sku, err)
	}
	return lvl, nil
}

// Stock returns a SKU's stock level, or ErrStockNotFound.
func (s *Service) Stock(ctx context.Context, sku string) (inventoryapi.StockLevel, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	var lvl inventoryapi.StockLevel
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		lvl, err = s.stockLevel(ctx, q, tenant, sku)
		return err
	})
	return lvl, err
}

// ListQuery pages a list.
type ListQuery struct {
	Cursor string
	Limit  int
	// Low keeps only SKUs at or below their threshold (stock lists).
	Low bool
	// SKU keeps only this SKU's movements (movement lists).
	SKU string
}

func (s *Service) pageSize(limit int) int {
	return s.cfg.Paging.Size(limit)
}

// stockCursor is the keyset of the stock list: the last SKU of the
// previous page.
type stockCursor struct {
	SKU string `json:"sku"`
}

// List returns a page of stock levels, by SKU (see stockCursor).
func (s *Service) List(ctx context.Context, lq ListQuery) (inventoryapi.StockList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockList{}, err
	}
	var after stockCursor
	if lq.Cursor != "" {
		if err := kit.DecodeCursor(lq.Cursor, &after); err != nil || after.SKU == "" {
			return inventoryapi.StockList{}, kit.ErrInvalidCursor
		}
	}
	n := s.pageSize(lq.Limit)
	var out inventoryapi.StockList
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		// Afresh on each run: a read transaction runs again when its
		// connection is lost.
		out = inventoryapi.StockList{Items: []inventoryapi.StockLevel{}}
		type head struct {
			sku string
			own sql.NullInt64
		}
		var heads []head
		if lq.Low {
			rows, err := q.ListLowItems(ctx, inventorydb.ListLowItemsParams{TenantID: tenant, After: after.SKU, DefaultThreshold: s.cfg.LowStockThreshold, Lim: int32(n + 1)})
			if err != nil {
				return fmt.Errorf("list low stock: %w", err)
			}
			for _, r := range rows {
				heads = append(heads, head{r.Sku, r.LowStockThreshold})
			}
		} else {
			rows, err := q.ListItems(ctx, inventorydb.ListItemsParams{TenantID: tenant, After: after.SKU, Lim: int32(n + 1)})
			if err != nil {
				return fmt.Errorf("list stock: %w", err)
			}
			for _, r := range rows {
				heads = append(heads, head{r.Sku, r.LowStockThreshold})
			}
		}
		if len(heads) > n {
			heads = heads[:n]
			out.NextCursor = kit.EncodeCursor(stockCursor{SKU: heads[n-1].sku})
		}
		if len(heads) == 0 {
			return nil
		}
		rows, err := q.ListStockRange(ctx, inventorydb.ListStockRangeParams{TenantID: tenant, FirstSku: heads[0].sku, LastSku: heads[len(heads)-1].sku})
		if err != nil {
			return fmt.Errorf("list stock rows: %w", err)
		}
		bySKU := map[string][]inventorydb.Stock{}
		for _, r := range rows {
			bySKU[r.Sku] = append(bySKU[r.Sku], r)
		}
		for _, h := range heads {
			out.Items = append(out.Items, s.level(h.sku, h.own, bySKU[h.sku]))
		}
		return nil
	})
	if err != nil {
		return inventoryapi.StockList{}, err
	}
	return out, nil
}
