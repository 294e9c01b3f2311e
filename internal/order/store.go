package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into orderdb
// (`go tool sqlc generate -f internal/order/sqlc.yaml`).

// errStale means the order changed since it was read (another driver, a
// recovery pass or a concurrent request won): the conditional UPDATE matched
// no row. Callers re-read and decide again.
var errStale = errors.New("order: order changed concurrently")

// record is an order with what the API never shows: its tenant, version,
// secrets' hashes, idempotency key and the detail of a cancellation.
type record struct {
	orderapi.Order
	tenant       string
	version      int64
	key          string
	requestHash  string
	tokenHash    string
	cancelDetail string
	// returnKeys are the Idempotency-Keys returns were requested with,
	// by return ID (none for a return requested without one).
	returnKeys map[string]string
}

// store is the order tables' prepared queries (kit.Store) with the reads
// and writes of a whole order: the order row with its shipments and
// returns, as a record.
type store struct {
	*kit.Store[*orderdb.Queries]
}

// get loads an order of tenant with its children in one read transaction.
func (s store) get(ctx context.Context, tenant, id string) (record, error) {
	return kit.ReadOne(ctx, s.Store, func(q *orderdb.Queries) (record, error) { return s.order(ctx, q, tenant, id) })
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// jsonText encodes a JSON column. The values are plain structs and slices
// of them, which always encode.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func toRecord(r orderdb.Order) (record, error) {
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: r.Currency} }
	rec := record{
		Order: orderapi.Order{
			ID: r.ID, Status: orderapi.Status(r.Status), Email: r.Email, Currency: r.Currency,
			Subtotal: m(r.Subtotal), Discount: m(r.Discount), Shipping: m(r.Shipping), Tax: m(r.Tax),
			Total: m(r.Total), Captured: m(r.Captured), Refunded: m(r.Refunded), TotalDue: m(r.TotalDue),
			TaxInclusive: r.TaxInclusive != 0, ShippingMethod: r.ShippingMethod, Coupon: r.Coupon,
			CartID: r.CartID, CancelReason: r.CancelReason, CustomerID: r.CustomerID.String,
			Shipments: []orderapi.Shipment{}, Returns: []orderapi.Return{},
			CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
		},
		tenant: r.TenantID, version: r.Version, key: r.IdempotencyKey, requestHash: r.RequestHash,
		tokenHash: r.TokenHash, cancelDetail: r.CancelDetail,
	}
	if err := json.Unmarshal([]byte(r.Lines), &rec.Lines); err != nil {
		return record{}, fmt.Errorf("decode lines of order %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Address), &rec.ShippingAddress); err != nil {
		return record{}, fmt.Errorf("decode address of order %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Timeline), &rec.Timeline); err != nil {
		return record{}, fmt.Errorf("decode timeline of order %s: %w", r.ID, err)
	}
	if r.BillingAddress != "" {
		rec.BillingAddress = &orderapi.Address{}
		if err := json.Unmarshal([]byte(r.BillingAddress), rec.BillingAddress); err != nil {
			return record{}, fmt.Errorf("decode billing address of order %s: %w", r.ID, err)
		}
	}
	return rec, nil
}

// billingText is a billing address as stored: JSON, or ” for none.
func billingText(a *orderapi.Address) string {
	if a == nil {
		return ""
	}
	return jsonText(*a)
}

func (s store) insert(ctx context.Context, rec record) error {
	return s.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries) error {
		err := q.InsertOrder(ctx, orderdb.InsertOrderParams{
			TenantID: rec.tenant, ID: rec.ID, IdempotencyKey: rec.key, RequestHash: rec.requestHash,
			TokenHash: rec.tokenHash, Status: string(rec.Status), Email: rec.Email, Currency: rec.Currency,
			Subtotal: rec.Subtotal.Amount, Discount: rec.Discount.Amount, Shipping: rec.Shipping.Amount,
			Tax: rec.Tax.Amount, Total: rec.Total.Amount, TaxInclusive: boolInt(rec.TaxInclusive),
			ShippingMethod: rec.ShippingMethod, Coupon: rec.Coupon, CartID: rec.CartID,
			Lines: jsonText(rec.Lines), Address: jsonText(rec.ShippingAddress), Timeline: jsonText(rec.Timeline),
			CreatedAt:  sqldb.Micros(rec.CreatedAt),
			CustomerID: sql.NullString{String: rec.CustomerID, Valid: rec.CustomerID != ""},
			EmailLower: emailKey(rec.Email), BillingAddress: billingText(rec.BillingAddress),
		})
		if err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		return nil
	})
}

// order loads an order through q (bound to a read or write transaction), with its shipments and returns when it can have any.
func (s store) order(ctx context.Context, q *orderdb.Queries, tenant, id string) (record, error) {
	row, err := q.GetOrder(ctx, orderdb.GetOrderParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, fmt.Errorf("load order %s: %w", id, err)
	}
	rec, err := toRecord(row)
	if err != nil {
		return record{}, err
	}
	return rec, s.children(ctx, q, &rec)
}

// byKey loads the order created under an idempotency key.
func (s store) byKey(ctx context.Context, tenant, key string) (record, error) {
	return kit.ReadOne(ctx, s.Store, func(q *orderdb.Queries) (record, error) {
		row, err := q.GetOrderByKey(ctx, orderdb.GetOrderByKeyParams{TenantID: tenant, IdempotencyKey: key})
		if errors.Is(err, sql.ErrNoRows) {
			return record{}, ErrNotFound
		}
		if err != nil {
			return record{}, fmt.Errorf("load order by key: %w", err)
		}
		rec, err := toRecord(row)
		if err != nil {
			return record{}, err
		}
		return rec, s.children(ctx, q, &rec)
	})
}

// hasChildren tells whether an order in status st can have shipments or
// returns: only those that got as far as shipping. Checkout's reads skip the
// two queries.
func hasChildren(st orderapi.Status) bool {
	switch st {
	case orderapi.StatusShipping, orderapi.StatusShipped, orderapi.StatusDelivered:
		return true
	}
	return false
}

func (s store) children(ctx context.Context, q *orderdb.Queries, rec *record) error {
	if !hasChildren(rec.Status) {
		return nil
	}
	ships, err := q.ListShipments(ctx, orderdb.ListShipmentsParams{TenantID: rec.tenant, OrderID: rec.ID})
	if err != nil {
		return fmt.Errorf("load shipments of order %s: %w", rec.ID, err)
	}
	for _, sh := range ships {
		out := orderapi.Shipment{ID: sh.ID, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber,
			TrackingURL: sh.TrackingUrl, Status: orderapi.ShipmentStatus(sh.Status),
			CreatedAt: sqldb.FromMicros(sh.CreatedAt), UpdatedAt: sqldb.FromMicros(sh.UpdatedAt)}
		if err := json.Unmarshal([]byte(sh.Events), &out.Events); err != nil {
			return fmt.Errorf("decode shipment %s: %w", sh.ID, err)
		}
		rec.Shipments = append(rec.Shipments, out)
	}
	rets, err := q.ListReturns(ctx, orderdb.ListReturnsParams{TenantID: rec.tenant, OrderID: rec.ID})
	if err != nil {
		return fmt.Errorf("load returns of order %s: %w", rec.ID, err)
	}
	for _, r := range rets {
		out := orderapi.Return{ID: r.ID, Status: orderapi.ReturnStatus(r.Status),
			RefundAmount: money.Money{Amount: r.RefundAmount, Currency: rec.Currency}, Reason: r.Reason,
			CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
		if err := json.Unmarshal([]byte(r.Lines), &out.Lines); err != nil {
			return fmt.Errorf("decode return %s: %w", r.ID, err)
		}
		rec.Returns = append(rec.Returns, out)
		if r.RequestKey != "" {
			if rec.returnKeys == nil {
				rec.returnKeys = map[string]string{}
			}
			rec.returnKeys[r.ID] = r.RequestKey
		}
	}
	return nil
}

// update writes next over prev, which it was read as: one conditional
// UPDATE on prev's version and status. errStale when another writer got
// there first.
func update(ctx context.Context, q *orderdb.Queries, prev, next record) error {
	n, err := q.UpdateOrder(ctx, orderdb.UpdateOrderParams{
		Status: string(next.Status), CancelReason: next.CancelReason, CancelDetail: next.cancelDetail,
		Captured: next.Captured.Amount, Refunded: next.Refunded.Amount, Timeline: jsonText(next.Timeline),
		UpdatedAt: sqldb.Micros(next.UpdatedAt), TenantID: prev.tenant, ID: prev.ID, Version: prev.version,
		OldStatus: string(prev.Status),
	})
	if err != nil {
		return fmt.Errorf("update order %s: %w", prev.ID, err)
	}
	if n == 0 {
		return errStale
	}
	return nil
}

// addEvent writes one order event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, orderapi.Source, subject, at, data)
}

// change is one write of an order: the new status, a timeline note, an
// optional adjustment of the record, extra writes in the same transaction,
// and the event to announce.
type change struct {
	to    orderapi.Status
	note  string
	apply func(r *record)
	also  func(ctx context.Context, tx *sql.Tx, q *orderdb.Queries, next record) error
	event string
	data  func(next record) any
}

// advance applies c to prev in one transaction: the conditional UPDATE, the
// extra writes, the event (the store wakes the relay once committed). It
// returns the order as written.
func (s *Service) advance(ctx context.Context, prev record, c change) (record, error) {
	next, err := s.prepare(prev, c)
	if err != nil {
		return record{}, err
	}
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *orderdb.Queries) error {
		return applyChange(ctx, tx, q, prev, next, c)
	})
	if err != nil {
		return record{}, err
	}
	next.version++
	return next, nil
}

// prepare is prev after c, as advance writes it.
func (s *Service) prepare(prev record, c change) (record, error) {
	if !canMove(prev.Status, c.to) {
		return record{}, notAllowed("an order cannot go from %s to %s", prev.Status, c.to)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	next := prev
	next.Timeline = append(slices.Clip(prev.Timeline), orderapi.TimelineEntry{At: now, Status: string(c.to), Note: c.note})
	next.Status = c.to
	next.UpdatedAt = now
	if c.apply != nil {
		c.apply(&next)
	}
	next.TotalDue = money.Money{Amount: next.Total.Amount - next.Captured.Amount + next.Refunded.Amount, Currency: next.Currency}
	return next, nil
}

// applyChange writes next (prepared from prev by c) in tx: the conditional
// UPDATE, c's extra writes and its event.
func applyChange(ctx context.Context, tx *sql.Tx, q *orderdb.Queries, prev, next record, c change) error {
	if err := update(ctx, q, prev, next); err != nil {
		return err
	}
	if c.also != nil {
		if err := c.also(ctx, tx, q, next); err != nil {
			return err
		}
	}
	if c.event != "" {
		var data any = orderapi.OrderEvent{Order: public(next), TokenHash: next.tokenHash}
		if c.data != nil {
			data = c.data(next)
		}
		return addEvent(ctx, tx, c.event, next.UpdatedAt, data)
	}
	return nil
}

// public is the order as others see it: never with its token.
func public(r record) orderapi.Order {
	o := r.Order
	o.Token = ""
	return o
}

// stale lists unfinished orders of every tenant untouched since before.
// Recovery is the one reader not scoped to a tenant: it works for them all.
func (s store) stale(ctx context.Context, before time.Time, limit int) ([]orderdb.StaleOrdersRow, error) {
	rows, err := kit.ReadOne(sqldb.AllTenants(ctx), s.Store, func(q *orderdb.Queries) ([]orderdb.StaleOrdersRow, error) {
		return q.StaleOrders(ctx, orderdb.StaleOrdersParams{StaleBefore: sqldb.Micros(before), MaxRows: int32(limit)})
	})
	if err != nil {
		return nil, fmt.Errorf("list unfinished orders: %w", err)
	}
	return rows, nil
}

// staleReturns lists the returns of every tenant left receiving since
// before, oldest first.
func (s store) staleReturns(ctx context.Context, before time.Time, limit int) ([]orderdb.StaleReturnsRow, error) {
	rows, err := kit.ReadOne(sqldb.AllTenants(ctx), s.Store, func(q *orderdb.Queries) ([]orderdb.StaleReturnsRow, error) {
		return q.StaleReturns(ctx, orderdb.StaleReturnsParams{StaleBefore: sqldb.Micros(before), MaxRows: int32(limit)})
	})
	if err != nil {
		return nil, fmt.Errorf("list unfinished returns: %w", err)
	}
	return rows, nil
}

// claim takes over an order for recovery; false when someone touched it
// since it was listed. ctx carries the order's tenant.
func (s store) claim(ctx context.Context, row orderdb.StaleOrdersRow, now, before time.Time) (bool, error) {
	var n int64
	err := s.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries) error {
		var err error
		n, err = q.ClaimOrder(ctx, orderdb.ClaimOrderParams{UpdatedAt: sqldb.Micros(now), TenantID: row.TenantID,
			ID: row.ID, Version: row.Version, StaleBefore: sqldb.Micros(before)})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim order %s: %w", row.ID, err)
	}
	return n == 1, nil
}

// list loads up to limit orders newest first after the cursor.
func (s store) list(ctx context.Context, p orderdb.ListOrdersParams) ([]record, error) {
	rows, err := kit.ReadOne(ctx, s.Store, func(q *orderdb.Queries) ([]orderdb.Order, error) { return q.ListOrders(ctx, p) })
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return toRecords(rows)
}

// customerOrders loads up to limit of a customer's orders newest first
// after the cursor.
func (s store) customerOrders(ctx context.Context, p orderdb.ListCustomerOrdersParams) ([]record, error) {
	rows, err := kit.ReadOne(ctx, s.Store, func(q *orderdb.Queries) ([]orderdb.Order, error) { return q.ListCustomerOrders(ctx, p) })
	if err != nil {
		return nil, fmt.Errorf("list customer orders: %w", err)
	}
	return toRecords(rows)
}

// emailKey is an email as identity keys customer accounts: trimmed and
// lowercased. Guest orders are claimed by it.
func emailKey(email string) string { return identityapi.EmailKey(email) }

func toRecords(rows []orderdb.Order) ([]record, error) {
	var err error
	out := make([]record, len(rows))
	for i, r := range rows {
		if out[i], err = toRecord(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
