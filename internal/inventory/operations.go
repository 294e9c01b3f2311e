package inventory

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// reservationLineColumns are reservation_lines' columns in the order
// Reserve gives each row's values.
var reservationLineColumns = []string{"tenant_id", "order_id", "position", "sku", "location", "quantity"}

// Reserve holds stock for an order, all lines or none, and announces it.
// It is idempotent on the order ID: a repeat returns the existing
// reservation (whatever its lines and status) with created false. A line no
// single location can serve fails the whole reservation with
// *OutOfStockError and writes nothing.
func (s *Service) Reserve(ctx context.Context, r inventoryapi.ReserveRequest) (res inventoryapi.Reservation, created bool, err error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return res, false, err
	}
	if err := validOrderID(r.OrderID); err != nil {
		return res, false, err
	}
	lines, err := mergeLines(r.Lines)
	if err != nil {
		return res, false, err
	}
	ttl, err := s.cfg.ttl(r.TTLSeconds)
	if err != nil {
		return res, false, err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		n, err := q.InsertReservation(ctx, inventorydb.InsertReservationParams{TenantID: tenant, OrderID: r.OrderID, ExpiresAt: micros(now.Add(ttl)), CreatedAt: micros(now)})
		if err != nil {
			return fmt.Errorf("insert reservation: %w", err)
		}
		if n == 0 {
			created = false
			res, err = loadReservation(ctx, q, tenant, r.OrderID)
			return err
		}
		created = true
		held := make([]inventoryapi.ReservedLine, len(lines))
		states := make([]lowState, len(lines))
		ms := make([]movement, len(lines))
		rows := make([][]any, len(lines))
		for i, l := range lines {
			loc, st, m, err := reserveLine(ctx, q, tenant, r.OrderID, l, now)
			if err != nil {
				return err
			}
			states[i], ms[i] = st, m
			held[i] = inventoryapi.ReservedLine{SKU: l.sku, Location: loc, Quantity: l.qty}
			rows[i] = []any{tenant, r.OrderID, int64(i), l.sku, loc, l.qty}
		}
		if err := sqldb.InsertRows(ctx, tx, "reservation_lines", reservationLineColumns, rows); err != nil {
			return fmt.Errorf("insert reservation lines: %w", err)
		}
		if err := addMovements(ctx, tx, tenant, ms, now); err != nil {
			return err
		}
		// Lines are merged by SKU, so each state is its SKU's final one.
		for i, l := range lines {
			if err := s.settleLow(ctx, tx, q, tenant, l.sku, states[i], now); err != nil {
				return err
			}
		}
		res = toReservation(inventorydb.Reservation{TenantID: tenant, OrderID: r.OrderID, Status: inventoryapi.StatusHeld,
			ExpiresAt: micros(now.Add(ttl)), CreatedAt: micros(now), UpdatedAt: micros(now)}, held)
		return addEvent(ctx, tx, inventoryapi.SubjectStockReserved, now, inventoryapi.StockReserved{
			OrderID: r.OrderID, Lines: res.Lines, ExpiresAt: res.ExpiresAt, At: now})
	})
	if err != nil {
		return inventoryapi.Reservation{}, false, fmt.Errorf("reserve for order %s: %w", r.OrderID, err)
	}
	return res, created, nil
}

// Commit takes a held reservation's units off the shelf: the order is
// confirmed. A committed reservation is returned as it is; a released or
// expired one fails with ErrReservationClosed. A held reservation past its
// expiry is expired now (the sweeper may not have got to it yet) and fails
// the same way: its hold is over, whoever looks first.
func (s *Service) Commit(ctx context.Context, orderID string) (inventoryapi.Reservation, error) {
	res, err := s.close(ctx, orderID, closeCommit, "")
	if err != nil {
		return res, fmt.Errorf("commit reservation %s: %w", orderID, err)
	}
	return res, nil
}

// Release frees a held reservation's units (cancel, payment failure). A
// released or expired reservation is returned as it is; a committed one
// fails with ErrReservationClosed.
func (s *Service) Release(ctx context.Context, orderID, reason string) (inventoryapi.Reservation, error) {
	if reason == "" {
		reason = "released"
	}
	res, err := s.close(ctx, orderID, closeRelease, reason)
	if err != nil {
		return res, fmt.Errorf("release reservation %s: %w", orderID, err)
	}
	return res, nil
}

// close moves a reservation out of held as c says, in one transaction: the
// guarded status update, each line's stock and ledger row, the low-stock
// check and the event.
func (s *Service) close(ctx context.Context, orderID string, c closing, reason string) (inventoryapi.Reservation, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.Reservation{}, err
	}
	var res inventoryapi.Reservation
	var lapsed bool // a commit found the hold expired and expired it
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		lapsed = false
		cur, err := loadReservation(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		if cur.Status != inventoryapi.StatusHeld {
			res = cur
			return c.settled(cur.Status)
		}
		how, why := c, reason
		if c.commit && expired(cur.ExpiresAt, now) {
			how, why, lapsed = closeExpire, "expired", true
		}
		if how.status == inventoryapi.StatusExpired && !expired(cur.ExpiresAt, now) {
			res = cur
			return nil // the sweeper's view was stale: still held
		}
		n, err := q.CloseReservation(ctx, inventorydb.CloseReservationParams{Status: how.status, Reason: why, UpdatedAt: micros(now), TenantID: tenant, OrderID: orderID})
		if err != nil {
			return fmt.Errorf("close reservation: %w", err)
		}
		if n == 0 {
			return errRaced
		}
		// The lines read with the reservation are still its lines: they are
		// written once, with the reservation, and never change.
		if err := closeLines(ctx, tx, q, tenant, orderID, why, how, cur.Lines, now); err != nil {
			return err
		}
		if !how.commit { // a commit leaves available as it was
			for _, l := range cur.Lines {
				if err := s.checkLow(ctx, tx, q, tenant, l.SKU, now); err != nil {
					return err
				}
			}
		}
		res = cur
		res.Status, res.Reason, res.UpdatedAt = how.status, why, fromMicros(micros(now))
		if how.commit {
			return addEvent(ctx, tx, inventoryapi.SubjectStockCommitted, now, inventoryapi.StockCommitted{OrderID: orderID, Lines: res.Lines, At: now})
		}
		return addEvent(ctx, tx, inventoryapi.SubjectStockReleased, now, inventoryapi.StockReleased{
			OrderID: orderID, Status: how.status, Reason: why, Lines: res.Lines, At: now})
	})
	if err != nil {
		return res, err
	}
	if lapsed {
		return res, &ClosedError{Status: inventoryapi.StatusExpired}
	}
	return res, nil
}

// Reservation returns the reservation of an order.
func (s *Service) Reservation(ctx context.Context, orderID string) (inventoryapi.Reservation, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.Reservation{}, err
	}
	var res inventoryapi.Reservation
	err = s.readTx(ctx, func(q *inventorydb.Queries) error {
		res, err = loadReservation(ctx, q, tenant, orderID)
		return err
	})
	return res, err
}

// sweepBatch is how many due reservations one sweeper query picks up.
const sweepBatch = 100

// ExpireDue expires every held reservation past its expiry, in every
// tenant, each in its own transaction, and returns how many it expired.
// It is what Run calls each interval; running it on several replicas at
// once is safe (the status guard lets one win each reservation). The scan
// spans tenants (sqldb.AllTenants); each expiry runs as its row's tenant.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	expired := 0
	all := sqldb.AllTenants(ctx)
	for {
		var due []inventorydb.DueReservationsRow
		err := s.readTx(all, func(q *inventorydb.Queries) error {
			var err error
			due, err = q.DueReservations(all, inventorydb.DueReservationsParams{Now: micros(s.now()), Lim: sweepBatch})
			return err
		})
		if err != nil {
			return expired, fmt.Errorf("find due reservations: %w", err)
		}
		var errs []error
		for _, d := range due {
			tctx := tenancy.WithID(ctx, d.TenantID)
			res, err := s.close(tctx, d.OrderID, closeExpire, "expired")
			if err != nil {
				errs = append(errs, fmt.Errorf("expire reservation %s of %s: %w", d.OrderID, d.TenantID, err))
				continue
			}
			if res.Status == inventoryapi.StatusExpired {
				expired++
			}
		}
		// A short batch was the last; a failing one is not read again in
		// this sweep, or a reservation that cannot be expired would spin it.
		if len(due) < sweepBatch || len(errs) > 0 {
			return expired, errors.Join(errs...)
		}
	}
}

// Adjust changes a SKU's stock on hand at a location (default "default",
// created on first use) and announces it. Taking on_hand below what is
// reserved there fails with *InsufficientStockError and writes nothing.
func (s *Service) Adjust(ctx context.Context, sku string, a inventoryapi.Adjustment) (inventoryapi.StockLevel, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	var errs []FieldError
	if msg := validSKU(sku); msg != "" {
		errs = append(errs, FieldError{Field: "sku", Message: msg, Value: sku})
	}
	if a.Delta == 0 || a.Delta > 1_000_000 || a.Delta < -1_000_000 {
		errs = append(errs, FieldError{Field: "delta", Message: "must be non-zero, -1000000 to 1000000", Value: a.Delta})
	}
	if a.Reason == "" || len(a.Reason) > 200 {
		errs = append(errs, FieldError{Field: "reason", Message: "must be 1 to 200 bytes", Value: a.Reason})
	}
	if len(errs) > 0 {
		return inventoryapi.StockLevel{}, invalid(errs...)
	}
	loc, err := location(a.Location, "location")
	if err != nil {
		return inventoryapi.StockLevel{}, err
	}
	var lvl inventoryapi.StockLevel
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		onHand, reserved, err := addStock(ctx, tx, q, tenant, sku, loc, a.Delta, inventoryapi.KindAdjustment, a.Reason, a.Reference, now)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, inventoryapi.SubjectStockAdjusted, now, inventoryapi.StockAdjusted{
			SKU: sku, Location: loc, Kind: inventoryapi.KindAdjustment, Delta: a.Delta, Reason: a.Reason,
			Reference: a.Reference, OnHand: onHand, Reserved: reserved, At: now}); err != nil {
			return err
		}
		if err := s.checkLow(ctx, tx, q, tenant, sku, now); err != nil {
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
		return false, invalid(FieldError{Field: "reference", Message: "must be 1 to 100 bytes", Value: r.Reference})
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
		n, err := q.InsertRestock(ctx, inventorydb.InsertRestockParams{TenantID: tenant, Reference: r.Reference, CreatedAt: micros(now)})
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
			onHand, reserved, err := addStock(ctx, tx, q, tenant, l.sku, to, l.qty, inventoryapi.KindRestock, reason, r.Reference, now)
			if err != nil {
				return err
			}
			if err := addEvent(ctx, tx, inventoryapi.SubjectStockAdjusted, now, inventoryapi.StockAdjusted{
				SKU: l.sku, Location: to, Kind: inventoryapi.KindRestock, Delta: l.qty, Reason: reason,
				Reference: r.Reference, OnHand: onHand, Reserved: reserved, At: now}); err != nil {
				return err
			}
			if err := s.checkLow(ctx, tx, q, tenant, l.sku, now); err != nil {
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
		return inventoryapi.StockLevel{}, invalid(FieldError{Field: "sku", Message: msg, Value: sku})
	}
	if threshold < 0 || threshold > 1_000_000 {
		return inventoryapi.StockLevel{}, invalid(FieldError{Field: "threshold", Message: "must be 0 to 1000000", Value: threshold})
	}
	var lvl inventoryapi.StockLevel
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error {
		now := s.now()
		if err := q.SetThreshold(ctx, inventorydb.SetThresholdParams{TenantID: tenant, Sku: sku,
			Threshold: sql.NullInt64{Int64: threshold, Valid: true}, UpdatedAt: micros(now)}); err != nil {
			return fmt.Errorf("set threshold: %w", err)
		}
		if err := s.checkLow(ctx, tx, q, tenant, sku, now); err != nil {
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
	err = s.readTx(ctx, func(q *inventorydb.Queries) error {
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
	return web.PageSize(limit, s.cfg.PageSize, s.cfg.MaxPageSize)
}

// List returns a page of stock levels, by SKU. The cursor is the last SKU
// of the previous page, encoded.
func (s *Service) List(ctx context.Context, lq ListQuery) (inventoryapi.StockList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.StockList{}, err
	}
	after := ""
	if lq.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(lq.Cursor)
		if err != nil || len(b) == 0 {
			return inventoryapi.StockList{}, ErrInvalidCursor
		}
		after = string(b)
	}
	n := s.pageSize(lq.Limit)
	var out inventoryapi.StockList
	err = s.readTx(ctx, func(q *inventorydb.Queries) error {
		// Afresh on each run: a read transaction runs again when its
		// connection is lost.
		out = inventoryapi.StockList{Items: []inventoryapi.StockLevel{}}
		type head struct {
			sku string
			own sql.NullInt64
		}
		var heads []head
		if lq.Low {
			rows, err := q.ListLowItems(ctx, inventorydb.ListLowItemsParams{TenantID: tenant, After: after, DefaultThreshold: s.cfg.LowStockThreshold, Lim: int32(n + 1)})
			if err != nil {
				return fmt.Errorf("list low stock: %w", err)
			}
			for _, r := range rows {
				heads = append(heads, head{r.Sku, r.LowStockThreshold})
			}
		} else {
			rows, err := q.ListItems(ctx, inventorydb.ListItemsParams{TenantID: tenant, After: after, Lim: int32(n + 1)})
			if err != nil {
				return fmt.Errorf("list stock: %w", err)
			}
			for _, r := range rows {
				heads = append(heads, head{r.Sku, r.LowStockThreshold})
			}
		}
		if len(heads) > n {
			heads = heads[:n]
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(heads[n-1].sku))
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

// maxID is above every UUID: the "before" of a ledger's first page.
const maxID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// Movements returns a page of the ledger, newest first: one SKU's, or all
// of them. The cursor is the ID of the last movement of the previous page.
func (s *Service) Movements(ctx context.Context, lq ListQuery) (inventoryapi.MovementList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.MovementList{}, err
	}
	before := maxID
	if lq.Cursor != "" {
		id, err := uuid.Parse(lq.Cursor)
		if err != nil {
			return inventoryapi.MovementList{}, ErrInvalidCursor
		}
		before = id.String()
	}
	n := s.pageSize(lq.Limit)
	var rows []inventorydb.Movement
	err = s.readTx(ctx, func(q *inventorydb.Queries) error {
		var err error
		if lq.SKU != "" {
			rows, err = q.ListMovements(ctx, inventorydb.ListMovementsParams{TenantID: tenant, Sku: lq.SKU, Before: before, Lim: int32(n + 1)})
		} else {
			rows, err = q.ListAllMovements(ctx, inventorydb.ListAllMovementsParams{TenantID: tenant, Before: before, Lim: int32(n + 1)})
		}
		return err
	})
	if err != nil {
		return inventoryapi.MovementList{}, fmt.Errorf("list movements: %w", err)
	}
	out := inventoryapi.MovementList{Items: make([]inventoryapi.Movement, 0, min(len(rows), n))}
	if len(rows) > n {
		rows = rows[:n]
		out.NextCursor = rows[n-1].ID
	}
	for _, r := range rows {
		out.Items = append(out.Items, toMovement(r))
	}
	return out, nil
}

// Audit counts violations of the inventory's invariants for the tenant, in
// one snapshot. The bench and the tests expect all zero (expired_held may
// be briefly above zero between sweeps).
func (s *Service) Audit(ctx context.Context) (inventoryapi.Audit, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.Audit{}, err
	}
	var a inventoryapi.Audit
	now := s.now()
	err = s.readTx(ctx, func(q *inventorydb.Queries) error {
		var err error
		if a.NegativeStock, err = q.AuditNegativeStock(ctx, tenant); err != nil {
			return fmt.Errorf("audit negative stock: %w", err)
		}
		if a.LedgerMismatches, err = q.AuditLedgerMismatches(ctx, tenant); err != nil {
			return fmt.Errorf("audit ledger: %w", err)
		}
		if a.ExpiredHeld, err = q.AuditExpiredHeld(ctx, inventorydb.AuditExpiredHeldParams{TenantID: tenant, Now: micros(now)}); err != nil {
			return fmt.Errorf("audit expired reservations: %w", err)
		}
		if a.ReservedMismatches, err = q.AuditReservedMismatches(ctx, tenant); err != nil {
			return fmt.Errorf("audit reserved stock: %w", err)
		}
		return nil
	})
	return a, err
}
