package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/order/orderapi"
)

// Cancel cancels a confirmed, unshipped order for staff (reason staff).
func (s *Service) Cancel(ctx context.Context, id string) (orderapi.Order, error) {
	return s.cancel(ctx, id, orderapi.ReasonStaff, func(context.Context) (record, error) { return s.load(ctx, id) })
}

// GuestCancel cancels a confirmed, unshipped order for the holder of its
// token or its signed-in customer (reason customer).
func (s *Service) GuestCancel(ctx context.Context, id, token string) (orderapi.Order, error) {
	return s.cancel(ctx, id, orderapi.ReasonCustomer, func(ctx context.Context) (record, error) { return s.owned(ctx, id, token) })
}

// cancel claims the order (confirmed → cancelling, with the reason), then
// gives the stock back and voids the payment, then marks it cancelled. A
// cancelled order is answered as it is.
func (s *Service) cancel(ctx context.Context, id, reason string, read func(context.Context) (record, error)) (orderapi.Order, error) {
	for range writeAttempts {
		rec, err := read(ctx)
		if err != nil {
			return orderapi.Order{}, err
		}
		switch rec.Status {
		case orderapi.StatusCancelled:
			return public(rec), nil
		case orderapi.StatusConfirmed:
			rec, err = s.advance(ctx, rec, change{to: orderapi.StatusCancelling, note: reason,
				apply: func(r *record) { r.CancelReason = reason }})
			if errors.Is(err, errStale) {
				continue
			}
			if err != nil {
				return orderapi.Order{}, err
			}
		case orderapi.StatusCancelling:
		default:
			return orderapi.Order{}, notAllowed("only a confirmed, unshipped order can be cancelled; this one is %s", rec.Status)
		}
		rec, err = s.cancelled(ctx, rec)
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

// cancelled runs the compensations of a cancelling order and marks it
// cancelled. The stock was committed at confirmation, so it comes back by
// a restock (reference "cancel-<order>") when release finds it committed.
func (s *Service) cancelled(ctx context.Context, rec record) (record, error) {
	var errs []error
	_, err := s.deps.Inventory.Release(ctx, rec.ID, rec.CancelReason)
	switch {
	case errors.Is(err, errInvReservationClosed):
		lines := make([]invLine, len(rec.Lines))
		for i, l := range rec.Lines {
			lines[i] = invLine{SKU: l.SKU, Quantity: l.Quantity}
		}
		// Named by the order, the units go back where they were sold from.
		err := s.deps.Inventory.Restock(ctx, restockRequest{Reference: "cancel-" + rec.ID, OrderID: rec.ID, Lines: lines, Reason: "order cancelled"})
		if err != nil && !s.refusedForGood(ctx, rec, "restock", err) {
			errs = append(errs, fmt.Errorf("restock: %w", err))
		}
	case err != nil && !errors.Is(err, errInvNotFound) && !s.refusedForGood(ctx, rec, "release stock", err):
		errs = append(errs, fmt.Errorf("release stock: %w", err))
	}
	if err := s.compensate(ctx, rec, undo{void: true, redemption: true}, rec.CancelReason); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return record{}, fmt.Errorf("%w: cancel order %s: %w", ErrUnavailable, rec.ID, err)
	}
	return s.advance(ctx, rec, change{to: orderapi.StatusCancelled, note: "cancelled: " + rec.CancelReason, event: orderapi.SubjectCancelled})
}
