package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
)

// line is one SKU of a request after merging: the total quantity and the
// index of its first line in the request (for error locations).
type line struct {
	index int
	sku   string
	qty   int64
}

// validSKU checks a SKU by the platform's one rule (text.SKU), the rule
// the catalog applies too: "" or what is wrong.
func validSKU(sku string) string {
	if err := text.SKU(sku); err != nil {
		return err.Error()
	}
	return ""
}

var locationCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// location normalises a location code: empty means the default location.
func location(code, field string) (string, error) {
	if code == "" {
		return inventoryapi.DefaultLocation, nil
	}
	if !locationCode.MatchString(code) {
		return "", kit.Invalid(ErrInvalid, kit.FieldError{Field: field, Message: "must be lowercase letters, digits, - and _, at most 64", Value: code})
	}
	return code, nil
}

// mergeLines validates the lines of a reservation or restock and merges
// lines of the same SKU. The result is sorted by SKU: reservations take
// their row locks in that order, so two reservations of the same SKUs queue
// on PostgreSQL instead of deadlocking.
func mergeLines(lines []inventoryapi.Line) ([]line, error) {
	if len(lines) == 0 {
		return nil, kit.Invalid(ErrInvalid, kit.FieldError{Field: "lines", Message: "must have at least one line"})
	}
	var errs []kit.FieldError
	at := map[string]int{}
	var out []line
	for i, l := range lines {
		if msg := validSKU(l.SKU); msg != "" {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("lines[%d].sku", i), Message: msg, Value: l.SKU})
			continue
		}
		if l.Quantity < 1 || l.Quantity > inventoryapi.MaxLineQuantity {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("lines[%d].quantity", i), Message: fmt.Sprintf("must be 1 to %d", inventoryapi.MaxLineQuantity), Value: l.Quantity})
			continue
		}
		j, ok := at[l.SKU]
		if !ok {
			at[l.SKU] = len(out)
			out = append(out, line{index: i, sku: l.SKU, qty: l.Quantity})
			continue
		}
		out[j].qty += l.Quantity
		if out[j].qty > inventoryapi.MaxLineQuantity {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("lines[%d].quantity", i), Message: fmt.Sprintf("lines of %s add up to more than %d", l.SKU, inventoryapi.MaxLineQuantity), Value: l.Quantity})
		}
	}
	if len(errs) > 0 {
		return nil, kit.Invalid(ErrInvalid, errs...)
	}
	slices.SortFunc(out, func(a, b line) int { return strings.Compare(a.sku, b.sku) })
	return out, nil
}

// ttl is the hold time a reservation request asks for: the default for 0,
// else 1 s to MaxReservationTTL.
func (c Config) ttl(seconds int64) (time.Duration, error) {
	if seconds == 0 {
		return c.ReservationTTL, nil
	}
	if seconds < 1 || seconds > int64(c.MaxReservationTTL/time.Second) {
		return 0, kit.Invalid(ErrInvalid, kit.FieldError{Field: "ttl_seconds", Message: fmt.Sprintf("must be 1 to %d", int64(c.MaxReservationTTL/time.Second)), Value: seconds})
	}
	return time.Duration(seconds) * time.Second, nil
}

// validOrderID checks an order ID: 1 to 100 bytes without controls or
// slashes (it is a path segment of the API).
func validOrderID(id string) error {
	if id == "" || len(id) > 100 || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || r == '/' }) {
		return kit.Invalid(ErrInvalid, kit.FieldError{Field: "order_id", Message: "must be 1 to 100 bytes without control characters or slashes", Value: id})
	}
	return nil
}

// closing describes one way out of the held state.
type closing struct {
	status string // the final status
	kind   string // the ledger kind of its movements
	// commit takes the units off the shelf; the others only unreserve them.
	commit bool
}

var (
	closeCommit  = closing{status: inventoryapi.StatusCommitted, kind: inventoryapi.KindCommit, commit: true}
	closeRelease = closing{status: inventoryapi.StatusReleased, kind: inventoryapi.KindRelease}
	closeExpire  = closing{status: inventoryapi.StatusExpired, kind: inventoryapi.KindExpire}
)

// settled decides a close of a reservation that is no longer held: nil when
// the reservation is already where the caller wants it (a repeat), or
// ErrReservationClosed. Releasing an expired reservation is a repeat too:
// its stock is free either way.
func (c closing) settled(status string) error {
	switch c.status {
	case inventoryapi.StatusCommitted:
		if status == inventoryapi.StatusCommitted {
			return nil
		}
	case inventoryapi.StatusReleased, inventoryapi.StatusExpired:
		if status == inventoryapi.StatusReleased || status == inventoryapi.StatusExpired {
			return nil
		}
	}
	return &ClosedError{Status: status}
}

// ClosedError says a reservation is no longer held, and how it ended. It
// matches ErrReservationClosed.
type ClosedError struct {
	Status string
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("%s: it is %s", ErrReservationClosed, e.Status)
}

// Is makes errors.Is(err, ErrReservationClosed) true.
func (e *ClosedError) Is(target error) bool { return target == ErrReservationClosed }

// expired reports whether a held reservation is past its expiry at now:
// from then on it can only expire, even before the sweeper gets to it.
func expired(expiresAt, now time.Time) bool { return !now.Before(expiresAt) }

// lowStock reports whether available stock is at or below threshold.
func lowStock(available, threshold int64) bool { return available <= threshold }

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
		n, err := q.InsertReservation(ctx, inventorydb.InsertReservationParams{TenantID: tenant, OrderID: r.OrderID, ExpiresAt: sqldb.Micros(now.Add(ttl)), CreatedAt: sqldb.Micros(now)})
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
		// Pipelined: goes out with the ledger rows and the rest.
		if err := sqldb.InsertRows(sqldb.Pipelined(ctx), tx, "reservation_lines", reservationLineColumns, rows); err != nil {
			return fmt.Errorf("insert reservation lines: %w", err)
		}
		if err := addMovements(ctx, tx, tenant, ms, now); err != nil {
			return err
		}
		// Lines are merged by SKU, so each state is its SKU's final one.
		levels := make([]inventoryapi.SKULevel, len(lines))
		for i, l := range lines {
			if err := s.settleLow(ctx, tx, q, tenant, l.sku, states[i], now); err != nil {
				return err
			}
			levels[i] = inventoryapi.SKULevel{SKU: l.sku, Available: states[i].available}
		}
		res = toReservation(inventorydb.Reservation{TenantID: tenant, OrderID: r.OrderID, Status: inventoryapi.StatusHeld,
			ExpiresAt: sqldb.Micros(now.Add(ttl)), CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)}, held)
		return addEvent(ctx, tx, inventoryapi.SubjectStockReserved, now, inventoryapi.StockReserved{
			OrderID: r.OrderID, Lines: res.Lines, ExpiresAt: res.ExpiresAt, At: now, Levels: levels})
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
		n, err := q.CloseReservation(ctx, inventorydb.CloseReservationParams{Status: how.status, Reason: why, UpdatedAt: sqldb.Micros(now), TenantID: tenant, OrderID: orderID})
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
		var levels []inventoryapi.SKULevel
		if !how.commit { // a commit leaves available as it was
			for _, l := range cur.Lines {
				available, err := s.checkLow(ctx, tx, q, tenant, l.SKU, now)
				if err != nil {
					return err
				}
				levels = append(levels, inventoryapi.SKULevel{SKU: l.SKU, Available: available})
			}
		}
		res = cur
		res.Status, res.Reason, res.UpdatedAt = how.status, why, sqldb.FromMicros(sqldb.Micros(now))
		if how.commit {
			return addEvent(ctx, tx, inventoryapi.SubjectStockCommitted, now, inventoryapi.StockCommitted{OrderID: orderID, Lines: res.Lines, At: now})
		}
		return addEvent(ctx, tx, inventoryapi.SubjectStockReleased, now, inventoryapi.StockReleased{
			OrderID: orderID, Status: how.status, Reason: why, Lines: res.Lines, At: now, Levels: levels})
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
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
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
		err := s.store.Read(all, func(q *inventorydb.Queries) error {
			var err error
			due, err = q.DueReservations(all, inventorydb.DueReservationsParams{Now: sqldb.Micros(s.now()), Lim: sweepBatch})
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

// Run releases expired reservations every SweepInterval until ctx is done,
// then returns nil. A failed sweep is logged and tried again next time.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := s.ExpireDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "expire reservations", "err", err)
		}
		if n > 0 {
			s.log.InfoContext(ctx, "reservations expired", "count", n)
		}
	}
}
