package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into inventorydb
// (`go tool sqlc generate -f internal/inventory/sqlc.yaml`). The functions
// here run inside a write transaction: q is bound to it, and tx takes the
// outbox rows of the change, and the rows written several at a time
// (ledger rows, reservation lines) with sqldb.InsertRows.

// write runs fn in a write transaction (Store.Write). When fn finds that a
// concurrent transaction closed the reservation it read (errRaced), the
// whole operation runs again and then sees the final state; after
// raceAttempts races it fails with ErrConflict.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries) error) error {
	const raceAttempts = 3
	var err error
	for range raceAttempts {
		if err = s.store.Write(ctx, fn); !errors.Is(err, errRaced) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

// errRaced means a reservation read as held was closed by a concurrent
// transaction before this one's guarded update (PostgreSQL only).
var errRaced = errors.New("inventory: reservation closed concurrently")

// addEvent writes one event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, inventoryapi.Source, subject, at, data)
}

// movement is one ledger row before it is written.
type movement struct {
	sku, location, kind, reason, reference string
	deltaOnHand, deltaReserved             int64
	// after is the stock row as the change left it (from RETURNING).
	onHandAfter, reservedAfter int64
}

// movementColumns are the ledger's columns in the order addMovements gives
// each row's values.
var movementColumns = []string{"tenant_id", "id", "sku", "location", "kind", "delta_on_hand", "delta_reserved",
	"reason", "reference", "on_hand_after", "reserved_after", "at"}

// addMovements writes ledger rows, all in one statement: a reservation or
// its close writes one per line. On PostgreSQL the statement goes out with
// the transaction's next one or its COMMIT (sqldb.Pipelined): a failure
// is only passed on.
func addMovements(ctx context.Context, tx *sql.Tx, tenant string, ms []movement, now time.Time) error {
	ctx = sqldb.Pipelined(ctx)
	rows := make([][]any, len(ms))
	for i, m := range ms {
		rows[i] = []any{tenant, kit.NewID(), m.sku, m.location, m.kind, m.deltaOnHand, m.deltaReserved,
			m.reason, m.reference, m.onHandAfter, m.reservedAfter, sqldb.Micros(now)}
	}
	if err := sqldb.InsertRows(ctx, tx, "movements", movementColumns, rows); err != nil {
		if len(ms) == 1 {
			return fmt.Errorf("record %s of %s at %s: %w", ms[0].kind, ms[0].sku, ms[0].location, err)
		}
		return fmt.Errorf("record %d movements: %w", len(ms), err)
	}
	return nil
}

// ensureStockRow makes sure the SKU's settings row and the location exist,
// so a stock row for them may be written.
func ensureStockRow(ctx context.Context, q *inventorydb.Queries, tenant, sku, loc string, now time.Time) error {
	if err := q.EnsureItem(ctx, inventorydb.EnsureItemParams{TenantID: tenant, Sku: sku, CreatedAt: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("create item %s: %w", sku, err)
	}
	if err := q.EnsureLocation(ctx, inventorydb.EnsureLocationParams{TenantID: tenant, Code: loc, Name: loc, CreatedAt: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("create location %s: %w", loc, err)
	}
	return nil
}

// reserveLine holds l.qty units of l.sku at one location: the default
// location if it has them, else any other that does. Each try is the one
// conditional UPDATE; a location read as having enough may have lost it to
// a concurrent reservation, and then the next is tried. When none can serve
// the line it fails with *OutOfStockError.
//
// It also returns the SKU's low-stock state after the reservation, which
// the conditional UPDATE reads in the same statement, and the ledger row
// of the change for the caller to write with the other lines'.
func reserveLine(ctx context.Context, q *inventorydb.Queries, tenant, orderID string, l line, now time.Time) (string, lowState, movement, error) {
	var (
		st lowState
		m  movement
	)
	try := func(loc string) (bool, error) {
		row, err := q.ReserveStock(ctx, inventorydb.ReserveStockParams{Quantity: l.qty, UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: l.sku, Location: loc})
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reserve %s at %s: %w", l.sku, loc, err)
		}
		st = lowState{available: row.OnHand - row.Reserved + row.Elsewhere, marked: row.Low == 1}
		if row.OwnThreshold >= 0 {
			st.own = sql.NullInt64{Int64: row.OwnThreshold, Valid: true}
		}
		m = movement{
			sku: l.sku, location: loc, kind: inventoryapi.KindReserve, reason: "reservation", reference: orderID,
			deltaReserved: l.qty, onHandAfter: row.OnHand, reservedAfter: row.Reserved,
		}
		return true, nil
	}
	ok, err := try(inventoryapi.DefaultLocation)
	if ok || err != nil {
		return inventoryapi.DefaultLocation, st, m, err
	}
	others, err := q.CandidateLocations(ctx, inventorydb.CandidateLocationsParams{TenantID: tenant, Sku: l.sku, Skip: inventoryapi.DefaultLocation, Quantity: l.qty})
	if err != nil {
		return "", st, m, fmt.Errorf("find stock of %s: %w", l.sku, err)
	}
	for _, loc := range others {
		ok, err := try(loc)
		if ok || err != nil {
			return loc, st, m, err
		}
	}
	avail, err := q.MaxAvailable(ctx, inventorydb.MaxAvailableParams{TenantID: tenant, Sku: l.sku})
	if err != nil {
		return "", st, m, fmt.Errorf("read stock of %s: %w", l.sku, err)
	}
	return "", st, m, &OutOfStockError{Index: l.index, SKU: l.sku, Requested: l.qty, Available: max(avail, 0)}
}

// closeLines gives back (or, committing, takes off the shelf) every held
// line of a reservation: one conditional UPDATE per line, in the lines'
// order (by SKU, as Reserve took the row locks: on PostgreSQL a single
// statement over all lines would lock in whatever order its plan visits
// the rows, and could deadlock with a reservation), then the ledger rows in
// one statement. Each stock row must hold its line's units: anything else
// means the tables disagree, and the transaction fails rather than make it
// worse.
func closeLines(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries, tenant, orderID, reason string, c closing, lines []inventoryapi.ReservedLine, now time.Time) error {
	ms := make([]movement, len(lines))
	for i, l := range lines {
		var onHand, reserved int64
		var err error
		if c.commit {
			var row inventorydb.CommitStockRow
			row, err = q.CommitStock(ctx, inventorydb.CommitStockParams{Quantity: l.Quantity, UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: l.SKU, Location: l.Location})
			onHand, reserved = row.OnHand, row.Reserved
		} else {
			var row inventorydb.UnreserveStockRow
			row, err = q.UnreserveStock(ctx, inventorydb.UnreserveStockParams{Quantity: l.Quantity, UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: l.SKU, Location: l.Location})
			onHand, reserved = row.OnHand, row.Reserved
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s at %s for %s: fewer units reserved than the reservation holds", c.kind, l.SKU, l.Location, orderID)
		}
		if err != nil {
			return fmt.Errorf("%s %s at %s: %w", c.kind, l.SKU, l.Location, err)
		}
		ms[i] = movement{sku: l.SKU, location: l.Location, kind: c.kind, reason: reason, reference: orderID,
			deltaReserved: -l.Quantity, onHandAfter: onHand, reservedAfter: reserved}
		if c.commit {
			ms[i].deltaOnHand = -l.Quantity
		}
	}
	return addMovements(ctx, tx, tenant, ms, now)
}

// stockChange is a change of a SKU's stock on hand at a location, with
// what the ledger records of it.
type stockChange struct {
	sku, location string
	delta         int64 // not 0
	kind          string
	reason        string
	reference     string
}

// addStock applies c: on_hand goes up with an upsert, down with the
// conditional UPDATE that keeps on_hand at or above reserved (else
// *InsufficientStockError). It writes the ledger row and returns the stock
// row after the change.
func addStock(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries, tenant string, c stockChange, now time.Time) (onHand, reserved int64, err error) {
	sku, loc, delta := c.sku, c.location, c.delta
	if err := ensureStockRow(ctx, q, tenant, sku, loc, now); err != nil {
		return 0, 0, err
	}
	if delta > 0 {
		row, err := q.AddStock(ctx, inventorydb.AddStockParams{TenantID: tenant, Sku: sku, Location: loc, Quantity: delta, UpdatedAt: sqldb.Micros(now)})
		if err != nil {
			return 0, 0, fmt.Errorf("add %d of %s at %s: %w", delta, sku, loc, err)
		}
		onHand, reserved = row.OnHand, row.Reserved
	} else {
		row, err := q.RemoveStock(ctx, inventorydb.RemoveStockParams{Quantity: -delta, UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: sku, Location: loc})
		if errors.Is(err, sql.ErrNoRows) {
			e := &InsufficientStockError{SKU: sku, Location: loc, Delta: delta}
			rows, err := q.ListSKUStock(ctx, inventorydb.ListSKUStockParams{TenantID: tenant, Sku: sku})
			if err != nil {
				return 0, 0, fmt.Errorf("read stock of %s: %w", sku, err)
			}
			for _, r := range rows {
				if r.Location == loc {
					e.OnHand, e.Reserved = r.OnHand, r.Reserved
				}
			}
			return 0, 0, e
		}
		if err != nil {
			return 0, 0, fmt.Errorf("remove %d of %s at %s: %w", -delta, sku, loc, err)
		}
		onHand, reserved = row.OnHand, row.Reserved
	}
	err = addMovements(ctx, tx, tenant, []movement{{sku: sku, location: loc, kind: c.kind, reason: c.reason, reference: c.reference,
		deltaOnHand: delta, onHandAfter: onHand, reservedAfter: reserved}}, now)
	return onHand, reserved, err
}

// checkLow announces inventory.stock_low.v1 when the SKU's available stock
// (over every location) is at or below its threshold and was not before,
// and clears the mark when it is above again. It is one read, and a write
// only when the mark must flip: this runs for every SKU of every reserve
// and release, and most of them cross nothing. The mark is flipped by a
// guarded UPDATE, so of concurrent writers that cross the threshold
// together exactly one announces it.
//
// It returns the SKU's available units over every location, which the
// events of the change carry (0 for a SKU never stocked).
func (s *Service) checkLow(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries, tenant, sku string, now time.Time) (int64, error) {
	row, err := q.LowState(ctx, inventorydb.LowStateParams{TenantID: tenant, Sku: sku})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // never stocked: nothing to be low
	}
	if err != nil {
		return 0, fmt.Errorf("load stock state of %s: %w", sku, err)
	}
	return row.Available, s.settleLow(ctx, tx, q, tenant, sku, lowState{available: row.Available, own: row.LowStockThreshold, marked: row.Low == 1}, now)
}

// lowState is what the low-stock check decides on: the SKU's available
// stock over every location, its own threshold and its low mark.
type lowState struct {
	available int64
	own       sql.NullInt64
	marked    bool
}

// settleLow is checkLow's decision on a state already read (a reservation
// reads it with its UPDATE).
func (s *Service) settleLow(ctx context.Context, tx *sql.Tx, q *inventorydb.Queries, tenant, sku string, st lowState, now time.Time) error {
	threshold := s.threshold(st.own)
	low, marked := lowStock(st.available, threshold), st.marked
	switch {
	case low == marked:
		return nil
	case !low:
		if _, err := q.ClearLow(ctx, inventorydb.ClearLowParams{UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: sku}); err != nil {
			return fmt.Errorf("clear low mark of %s: %w", sku, err)
		}
		return nil
	}
	n, err := q.MarkLow(ctx, inventorydb.MarkLowParams{UpdatedAt: sqldb.Micros(now), TenantID: tenant, Sku: sku})
	if err != nil {
		return fmt.Errorf("mark %s low: %w", sku, err)
	}
	if n == 0 {
		return nil // a concurrent writer announced this crossing
	}
	return addEvent(ctx, tx, inventoryapi.SubjectStockLow, now, inventoryapi.StockLow{SKU: sku, Available: st.available, Threshold: threshold, At: now})
}

// threshold is a SKU's own threshold or the configured default.
func (s *Service) threshold(own sql.NullInt64) int64 {
	if own.Valid {
		return own.Int64
	}
	return s.cfg.LowStockThreshold
}

// loadReservation reads a reservation with its lines through q.
func loadReservation(ctx context.Context, q *inventorydb.Queries, tenant, orderID string) (inventoryapi.Reservation, error) {
	rows, err := q.GetReservation(ctx, inventorydb.GetReservationParams{TenantID: tenant, OrderID: orderID})
	if err != nil {
		return inventoryapi.Reservation{}, fmt.Errorf("load reservation %s: %w", orderID, err)
	}
	if len(rows) == 0 {
		return inventoryapi.Reservation{}, ErrReservationNotFound
	}
	r := rows[0]
	lines := make([]inventoryapi.ReservedLine, 0, len(rows))
	for _, l := range rows {
		if l.Sku.Valid {
			lines = append(lines, inventoryapi.ReservedLine{SKU: l.Sku.String, Location: l.Location.String, Quantity: l.Quantity.Int64})
		}
	}
	return toReservation(inventorydb.Reservation{OrderID: orderID, Status: r.Status, Reason: r.Reason,
		ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, lines), nil
}

func toReservation(r inventorydb.Reservation, lines []inventoryapi.ReservedLine) inventoryapi.Reservation {
	return inventoryapi.Reservation{
		OrderID: r.OrderID, Status: r.Status, Reason: r.Reason, Lines: lines,
		ExpiresAt: sqldb.FromMicros(r.ExpiresAt), CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
	}
}

// stockLevel reads a SKU's settings and stock rows through q, or
// ErrStockNotFound when the SKU was never stocked.
func (s *Service) stockLevel(ctx context.Context, q *inventorydb.Queries, tenant, sku string) (inventoryapi.StockLevel, error) {
	item, err := q.GetItem(ctx, inventorydb.GetItemParams{TenantID: tenant, Sku: sku})
	if errors.Is(err, sql.ErrNoRows) {
		return inventoryapi.StockLevel{}, ErrStockNotFound
	}
	if err != nil {
		return inventoryapi.StockLevel{}, fmt.Errorf("load item %s: %w", sku, err)
	}
	rows, err := q.ListSKUStock(ctx, inventorydb.ListSKUStockParams{TenantID: tenant, Sku: sku})
	if err != nil {
		return inventoryapi.StockLevel{}, fmt.Errorf("load stock of %s: %w", sku, err)
	}
	return s.level(sku, item.LowStockThreshold, rows), nil
}

// level sums a SKU's stock rows into its stock level.
func (s *Service) level(sku string, own sql.NullInt64, rows []inventorydb.Stock) inventoryapi.StockLevel {
	l := inventoryapi.StockLevel{SKU: sku, LowStockThreshold: s.threshold(own), Locations: make([]inventoryapi.LocationStock, len(rows))}
	for i, r := range rows {
		l.OnHand += r.OnHand
		l.Reserved += r.Reserved
		l.Locations[i] = inventoryapi.LocationStock{Location: r.Location, OnHand: r.OnHand, Reserved: r.Reserved, Available: r.OnHand - r.Reserved}
	}
	l.Available = l.OnHand - l.Reserved
	l.Low = lowStock(l.Available, l.LowStockThreshold)
	return l
}

func toMovement(m inventorydb.Movement) inventoryapi.Movement {
	return inventoryapi.Movement{
		ID: m.ID, SKU: m.Sku, Location: m.Location, Kind: m.Kind, DeltaOnHand: m.DeltaOnHand,
		DeltaReserved: m.DeltaReserved, Reason: m.Reason, Reference: m.Reference,
		OnHandAfter: m.OnHandAfter, ReservedAfter: m.ReservedAfter, At: sqldb.FromMicros(m.At),
	}
}
