package order

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// returnable is how many of each SKU may still be returned: what was
// ordered (and so shipped, the order being shipped) minus what open and
// received returns already hold.
func returnable(rec record) map[string]int64 {
	left := make(map[string]int64, len(rec.Lines))
	for _, l := range rec.Lines {
		left[l.SKU] += l.Quantity
	}
	for _, r := range rec.Returns {
		if r.Status == orderapi.ReturnRejected {
			continue
		}
		for _, l := range r.Lines {
			left[l.SKU] -= l.Quantity
		}
	}
	return left
}

// RequestReturn records the request of the order token's holder or the
// order's signed-in customer to return lines of a shipped or delivered
// order (order.return_requested.v1).
func (s *Service) RequestReturn(ctx context.Context, id, token string, in orderapi.ReturnCreate) (orderapi.Order, error) {
	return s.RequestReturnOnce(ctx, id, token, "", in)
}

// RequestReturnOnce is RequestReturn with the request's Idempotency-Key
// ("" for none): a request whose key a return of the order was already
// requested with is answered with the order as it is, and makes no second
// return; the key with other lines or another reason is
// ErrIdempotencyKeyReused. Two requests with one key at once are one
// return: the order's version lets one of them write, and the other, on
// reading the order again, finds the return with its key.
func (s *Service) RequestReturnOnce(ctx context.Context, id, token, key string, in orderapi.ReturnCreate) (orderapi.Order, error) {
	if len(in.Lines) == 0 {
		return orderapi.Order{}, &kit.ValidationError{Code: "validation_failed", Detail: "a return needs lines", Fields: []kit.FieldError{{Field: "lines", Message: "required"}}}
	}
	for range writeAttempts {
		rec, err := s.owned(ctx, id, token)
		if err != nil {
			return orderapi.Order{}, err
		}
		if prior, ok := returnWithKey(rec, key); ok {
			if !sameReturn(prior, in) {
				return orderapi.Order{}, ErrIdempotencyKeyReused
			}
			return public(rec), nil
		}
		if rec.Status != orderapi.StatusShipped && rec.Status != orderapi.StatusDelivered {
			return orderapi.Order{}, notAllowed("only shipped or delivered orders take returns; this one is %s", rec.Status)
		}
		left := returnable(rec)
		var lines []orderapi.ReturnLine
		at := map[string]int{}
		for i, l := range in.Lines {
			sku := strings.TrimSpace(l.SKU)
			if j, ok := at[sku]; ok {
				lines[j].Quantity += l.Quantity
			} else {
				at[sku] = len(lines)
				lines = append(lines, orderapi.ReturnLine{SKU: sku, Quantity: l.Quantity})
			}
			q := lines[at[sku]].Quantity
			if l.Quantity < 1 || q > left[sku] {
				return orderapi.Order{}, &kit.ValidationError{Code: "return_exceeds_shipped", Detail: fmt.Sprintf("%s: at most %d can be returned", sku, max(0, left[sku])),
					Fields: []kit.FieldError{{Field: fmt.Sprintf("lines[%d].quantity", i), Message: fmt.Sprintf("at most %d", max(0, left[sku])), Value: l.Quantity}}}
			}
		}
		ret := orderapi.Return{ID: kit.NewID(), Status: orderapi.ReturnRequested, Lines: lines,
			RefundAmount: money.Money{Currency: rec.Currency}, Reason: in.Reason}
		next, err := s.advance(ctx, rec, change{to: rec.Status, note: "return requested", event: orderapi.SubjectReturnRequested,
			also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
				ret.CreatedAt, ret.UpdatedAt = next.UpdatedAt, next.UpdatedAt
				return q.InsertReturn(ctx, orderdb.InsertReturnParams{TenantID: next.tenant, ID: ret.ID, OrderID: next.ID,
					Status: string(ret.Status), Lines: jsonText(ret.Lines), Reason: ret.Reason, RequestKey: key, CreatedAt: sqldb.Micros(next.UpdatedAt)})
			},
			data: func(next record) any {
				next.Returns = append(slices.Clip(next.Returns), ret)
				return orderapi.ReturnEvent{Order: public(next), Return: ret}
			}})
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return orderapi.Order{}, err
		}
		next.Returns = append(slices.Clip(next.Returns), ret)
		return public(next), nil
	}
	return orderapi.Order{}, ErrConflict
}

// returnWithKey returns the return of rec requested with key, if any.
func returnWithKey(rec record, key string) (orderapi.Return, bool) {
	if key == "" {
		return orderapi.Return{}, false
	}
	for _, r := range rec.Returns {
		if rec.returnKeys[r.ID] == key {
			return r, true
		}
	}
	return orderapi.Return{}, false
}

// sameReturn reports whether in asks for the lines (merged by SKU, as
// RequestReturn records them) and reason of the return r.
func sameReturn(r orderapi.Return, in orderapi.ReturnCreate) bool {
	want := map[string]int64{}
	for _, l := range in.Lines {
		want[strings.TrimSpace(l.SKU)] += l.Quantity
	}
	if len(want) != len(r.Lines) || in.Reason != r.Reason {
		return false
	}
	for _, l := range r.Lines {
		if want[l.SKU] != l.Quantity {
			return false
		}
	}
	return true
}

// ReceiveReturn records that staff received a return: the chosen lines go
// back into stock (reference = return ID) and the refund is made (key
// "return-<rid>"), then the return is received (order.return_received.v1).
// The decision is written first (requested → receiving), so a retry after
// a crash completes the same one; a received return is answered as it is.
func (s *Service) ReceiveReturn(ctx context.Context, id, returnID string, in orderapi.ReturnReceive) (orderapi.Order, error) {
	for range writeAttempts {
		rec, err := s.load(ctx, id)
		if err != nil {
			return orderapi.Order{}, err
		}
		i := slices.IndexFunc(rec.Returns, func(r orderapi.Return) bool { return r.ID == returnID })
		if i < 0 {
			return orderapi.Order{}, ErrReturnNotFound
		}
		ret := rec.Returns[i]
		switch ret.Status {
		case orderapi.ReturnReceived:
			return public(rec), nil
		case orderapi.ReturnRejected:
			return orderapi.Order{}, notAllowed("the return was rejected")
		case orderapi.ReturnRefundDeclined:
			// Staff retry the refund: the return is received again with
			// the decision it was received with.
			ret.Status = orderapi.ReturnReceiving
			rec, err = s.advance(ctx, rec, change{to: rec.Status, note: "return " + ret.ID + " received again: refund retried",
				also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
					return setReturn(ctx, q, next, ret, orderapi.ReturnRefundDeclined)
				}})
			if errors.Is(err, errStale) {
				continue
			}
			if err != nil {
				return orderapi.Order{}, err
			}
		case orderapi.ReturnRequested:
			ret, err = decideReturn(rec, ret, in)
			if err != nil {
				return orderapi.Order{}, err
			}
			rec, err = s.advance(ctx, rec, change{to: rec.Status, note: "return received",
				also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
					return setReturn(ctx, q, next, ret, orderapi.ReturnRequested)
				}})
			if errors.Is(err, errStale) {
				continue
			}
			if err != nil {
				return orderapi.Order{}, err
			}
		}
		rec, err = s.settleReturn(ctx, rec, ret)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return orderapi.Order{}, err
		}
		return public(rec), nil
	}
	return orderapi.Order{}, ErrConflict
}

// decideReturn fixes which lines are restocked and what is refunded.
func decideReturn(rec record, ret orderapi.Return, in orderapi.ReturnReceive) (orderapi.Return, error) {
	ret.Lines = slices.Clone(ret.Lines)
	for i := range ret.Lines {
		ret.Lines[i].Restock = in.Restock == nil || slices.Contains(in.Restock, ret.Lines[i].SKU)
	}
	for _, sku := range in.Restock {
		if !slices.ContainsFunc(ret.Lines, func(l orderapi.ReturnLine) bool { return l.SKU == sku }) {
			return ret, &kit.ValidationError{Code: "validation_failed", Detail: "restock names a SKU not in the return: " + sku,
				Fields: []kit.FieldError{{Field: "restock", Message: "not in the return", Value: sku}}}
		}
	}
	var amount int64
	if in.Refund != nil {
		if in.Refund.Currency != rec.Currency {
			return ret, &kit.ValidationError{Code: "currency_mismatch", Detail: "the refund must be in the order's currency " + rec.Currency,
				Fields: []kit.FieldError{{Field: "refund.currency", Message: "must be " + rec.Currency, Value: in.Refund.Currency}}}
		}
		if in.Refund.Amount < 0 {
			return ret, &kit.ValidationError{Code: "validation_failed", Detail: "the refund must not be negative",
				Fields: []kit.FieldError{{Field: "refund.amount", Message: "must not be negative", Value: in.Refund.Amount}}}
		}
		amount = in.Refund.Amount
	} else {
		for _, rl := range ret.Lines {
			for _, l := range rec.Lines {
				if l.SKU == rl.SKU && l.Quantity > 0 {
					// The line's total pro rata; whole units sum to the total.
					amount += l.Total.Amount * rl.Quantity / l.Quantity
				}
			}
		}
		if in.IncludeShipping {
			amount += rec.Shipping.Amount
		}
	}
	if amount > rec.Captured.Amount-rec.Refunded.Amount {
		return ret, ErrRefundExceedsCaptured
	}
	ret.RefundAmount = money.Money{Amount: amount, Currency: rec.Currency}
	ret.Status = orderapi.ReturnReceiving
	return ret, nil
}

func setReturn(ctx context.Context, q *orderdb.Queries, next record, ret orderapi.Return, from orderapi.ReturnStatus) error {
	n, err := q.UpdateReturn(ctx, orderdb.UpdateReturnParams{Status: string(ret.Status), Lines: jsonText(ret.Lines),
		RefundAmount: ret.RefundAmount.Amount, UpdatedAt: sqldb.Micros(next.UpdatedAt), TenantID: next.tenant, ID: ret.ID,
		OrderID: next.ID, OldStatus: string(from)})
	if err != nil {
		return fmt.Errorf("update return %s: %w", ret.ID, err)
	}
	if n == 0 {
		return errStale
	}
	return nil
}

// settleReturn makes the restock and refund of a receiving return (both
// idempotent on the return ID) and marks it received.
func (s *Service) settleReturn(ctx context.Context, rec record, ret orderapi.Return) (record, error) {
	var lines []invLine
	for _, l := range ret.Lines {
		if l.Restock {
			lines = append(lines, invLine{SKU: l.SKU, Quantity: l.Quantity})
		}
	}
	if len(lines) > 0 {
		if err := s.deps.Inventory.Restock(ctx, restockRequest{Reference: ret.ID, OrderID: rec.ID, Lines: lines, Reason: "return " + ret.ID}); err != nil {
			return record{}, fmt.Errorf("%w: restock return %s: %w", ErrUnavailable, ret.ID, err)
		}
	}
	p := paymentapi.Payment{Captured: rec.Captured, Refunded: rec.Refunded}
	if ret.RefundAmount.Amount > 0 {
		var err error
		p, err = s.deps.Payment.Refund(ctx, rec.ID, paymentapi.RefundRequest{Amount: ret.RefundAmount, Reason: "return", Key: "return-" + ret.ID})
		if err != nil {
			err = refundFailure("refund return", err)
			var rd *RefundDeclinedError
			if errors.As(err, &rd) {
				return s.refundDeclined(ctx, rec, ret, rd)
			}
			return record{}, err
		}
	}
	received := ret
	received.Status = orderapi.ReturnReceived
	next, err := s.recordPayment(ctx, rec, p, "return "+ret.ID+" received", orderapi.SubjectReturnReceived,
		func(next record, _ money.Money) any {
			received.UpdatedAt = next.UpdatedAt
			return orderapi.ReturnEvent{Order: withReturn(public(next), received), Return: received}
		},
		func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
			return setReturn(ctx, q, next, received, orderapi.ReturnReceiving)
		})
	if err != nil {
		return record{}, err
	}
	next.Order = withReturn(next.Order, received)
	return next, nil
}

// refundDeclined parks a receiving return whose refund was refused for
// good as refund_declined, with why in the order's timeline: recovery
// leaves it alone (it only settles receiving returns), and staff refund it
// another way or receive it again to retry. The caller still learns the
// *RefundDeclinedError.
func (s *Service) refundDeclined(ctx context.Context, rec record, ret orderapi.Return, rd *RefundDeclinedError) (record, error) {
	s.log.WarnContext(ctx, "return refund declined", "tenant", rec.tenant, "order_id", rec.ID, "return_id", ret.ID, "reason", rd.Reason)
	parked := ret
	parked.Status = orderapi.ReturnRefundDeclined
	_, err := s.advance(ctx, rec, change{to: rec.Status,
		note: "return " + ret.ID + " received, stock back; refund of " + ret.RefundAmount.String() + " declined (" + rd.Reason +
			"): refund it another way, or receive the return again to retry",
		also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
			return setReturn(ctx, q, next, parked, orderapi.ReturnReceiving)
		}})
	if err != nil {
		return record{}, err
	}
	return record{}, rd
}

// RejectReturn refuses a requested return: nothing is restocked or refunded.
func (s *Service) RejectReturn(ctx context.Context, id, returnID string) (orderapi.Order, error) {
	return s.retry(ctx, id, func(rec record) (record, error) {
		i := slices.IndexFunc(rec.Returns, func(r orderapi.Return) bool { return r.ID == returnID })
		if i < 0 {
			return record{}, ErrReturnNotFound
		}
		ret := rec.Returns[i]
		switch ret.Status {
		case orderapi.ReturnRejected:
			return rec, nil
		case orderapi.ReturnRequested:
		default:
			return record{}, notAllowed("the return is %s", ret.Status)
		}
		ret.Status = orderapi.ReturnRejected
		next, err := s.advance(ctx, rec, change{to: rec.Status, note: "return " + ret.ID + " rejected",
			also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
				return setReturn(ctx, q, next, ret, orderapi.ReturnRequested)
			}})
		if err != nil {
			return record{}, err
		}
		ret.UpdatedAt = next.UpdatedAt
		next.Order = withReturn(next.Order, ret)
		return next, nil
	})
}

// withReturn is o with ret in place of the return of the same ID.
func withReturn(o orderapi.Order, ret orderapi.Return) orderapi.Order {
	o.Returns = slices.Clone(o.Returns)
	for i := range o.Returns {
		if o.Returns[i].ID == ret.ID {
			o.Returns[i] = ret
		}
	}
	return o
}
