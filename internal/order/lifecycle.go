package order

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// writeAttempts bounds how often an admin operation re-reads an order that
// changed under it before giving up with ErrConflict.
const writeAttempts = 5

// load reads an order of the tenant in ctx.
func (s *Service) load(ctx context.Context, id string) (record, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return record{}, err
	}
	return s.store.get(ctx, tenant, id)
}

// retry runs fn on a fresh read of the order until its write does not
// race another writer.
func (s *Service) retry(ctx context.Context, id string, fn func(rec record) (record, error)) (orderapi.Order, error) {
	for range writeAttempts {
		rec, err := s.load(ctx, id)
		if err != nil {
			return orderapi.Order{}, err
		}
		rec, err = fn(rec)
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

// Order returns an order of the tenant in ctx (admin).
func (s *Service) Order(ctx context.Context, id string) (orderapi.Order, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return orderapi.Order{}, err
	}
	return public(rec), nil
}

// GuestOrder returns an order to whoever holds its token, or to the
// customer it belongs to (signed in: a customer principal in ctx). Anyone
// else gets ErrNotFound, as for an order that does not exist.
func (s *Service) GuestOrder(ctx context.Context, id, token string) (orderapi.Order, error) {
	rec, err := s.owned(ctx, id, token)
	if err != nil {
		return orderapi.Order{}, err
	}
	return public(rec), nil
}

// owned loads an order for its token's holder or its customer; for anyone
// else it is ErrNotFound.
func (s *Service) owned(ctx context.Context, id, token string) (record, error) {
	customer := customerOf(ctx)
	if token == "" && customer == "" {
		return record{}, ErrNotFound
	}
	rec, err := s.load(ctx, id)
	if err != nil {
		return record{}, err
	}
	byToken := token != "" && subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(rec.tokenHash)) == 1
	if !byToken && (customer == "" || rec.CustomerID != customer) {
		return record{}, ErrNotFound
	}
	return rec, nil
}

// customerOf returns the ID of the signed-in customer making the request in
// ctx, or "" for anyone else (a guest, staff, an API key, a service).
func customerOf(ctx context.Context) string {
	if p, ok := auth.From(ctx); ok && p.Kind == auth.KindCustomer {
		return p.Subject
	}
	return ""
}

// Ship records a shipment. The first one captures the authorized amount
// (key "capture-<order>") and moves the order to shipped; later ones are
// added to a shipped order. The shipment is written with the claim
// (confirmed → shipping) so that a crash before the capture is finished by
// recovery.
func (s *Service) Ship(ctx context.Context, id string, in orderapi.ShipmentCreate) (orderapi.Order, error) {
	in.Carrier, in.TrackingNumber = strings.TrimSpace(in.Carrier), strings.TrimSpace(in.TrackingNumber)
	if in.Carrier == "" || in.TrackingNumber == "" {
		return orderapi.Order{}, &kit.ValidationError{Code: "validation_failed", Detail: "carrier and tracking_number are required",
			Fields: []kit.FieldError{{Field: "carrier", Message: "required"}, {Field: "tracking_number", Message: "required"}}}
	}
	return s.retry(ctx, id, func(rec record) (record, error) {
		now := s.now().UTC()
		sh := orderapi.Shipment{ID: kit.NewID(), Carrier: in.Carrier, TrackingNumber: in.TrackingNumber,
			TrackingURL: in.TrackingURL, Status: orderapi.ShipmentShipped,
			Events: []orderapi.TrackingEvent{{At: now, Status: orderapi.ShipmentShipped, Note: "handed to " + in.Carrier}}}
		insert := func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
			return q.InsertShipment(ctx, orderdb.InsertShipmentParams{TenantID: next.tenant, ID: sh.ID, OrderID: next.ID,
				Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, TrackingUrl: sh.TrackingURL,
				Status: string(sh.Status), Events: jsonText(sh.Events), CreatedAt: sqldb.Micros(next.UpdatedAt)})
		}
		switch rec.Status {
		case orderapi.StatusConfirmed:
			next, err := s.advance(ctx, rec, change{to: orderapi.StatusShipping, note: "shipment " + sh.TrackingNumber, also: insert})
			if err != nil {
				return record{}, err
			}
			done, err := s.capture(ctx, next)
			if errors.Is(err, errStale) {
				// Recovery finished the capture meanwhile; not a reason to
				// add the shipment a second time.
				return s.load(ctx, id)
			}
			return done, err
		case orderapi.StatusShipped:
			next, err := s.advance(ctx, rec, change{to: orderapi.StatusShipped, note: "shipment " + sh.TrackingNumber, also: insert,
				event: orderapi.SubjectShipped, data: func(next record) any {
					sh.CreatedAt, sh.UpdatedAt = next.UpdatedAt, next.UpdatedAt
					next.Shipments = append(slices.Clip(next.Shipments), sh)
					return orderapi.Shipped{Order: public(next), Shipment: sh}
				}})
			if err != nil {
				return record{}, err
			}
			next.Shipments = append(slices.Clip(next.Shipments), sh)
			return next, nil
		case orderapi.StatusShipping:
			return record{}, fmt.Errorf("%w: the first shipment is being recorded", ErrConflict)
		}
		return record{}, notAllowed("cannot ship a %s order", rec.Status)
	})
}

// capture captures the order's total for its first shipment and moves it
// from shipping to shipped. A capture refused for good (the provider
// declined it, the authorization is gone or voided) is never retried: the
// shipment is undone and the order cancelled, its stock restocked and its
// authorization released, with the reason in its timeline, and the caller
// learns *CaptureFailedError. Any other failure leaves the order shipping
// for a retry (recovery's, after the lease).
func (s *Service) capture(ctx context.Context, rec record) (record, error) {
	captured := rec.Captured
	if due := rec.Total.Amount - rec.Captured.Amount; due > 0 {
		p, err := s.deps.Payment.Capture(ctx, rec.ID, paymentapi.CaptureRequest{
			Amount: money.Money{Amount: due, Currency: rec.Currency}, Key: "capture-" + rec.ID})
		if why, ok := definitive(err); ok {
			return record{}, s.captureDeclined(ctx, rec, why)
		}
		if err != nil {
			return record{}, fmt.Errorf("%w: capture payment of order %s: %w", ErrUnavailable, rec.ID, err)
		}
		captured = p.Captured
	}
	if rec.Shipments == nil || len(rec.Shipments) == 0 {
		// Written with the claim; read it back for the event.
		full, err := s.store.get(ctx, rec.tenant, rec.ID)
		if err != nil {
			return record{}, err
		}
		rec.Shipments = full.Shipments
	}
	var sh orderapi.Shipment
	if n := len(rec.Shipments); n > 0 {
		sh = rec.Shipments[n-1]
	}
	return s.advance(ctx, rec, change{to: orderapi.StatusShipped, note: "payment captured",
		apply: func(r *record) {
			r.Captured = money.Money{Amount: max(r.Captured.Amount, captured.Amount), Currency: r.Currency}
		},
		event: orderapi.SubjectShipped, data: func(next record) any { return orderapi.Shipped{Order: public(next), Shipment: sh} }})
}

// captureDeclined cancels a shipping order whose capture was refused for
// good: the shipment is deleted and the order claimed for cancelling (one
// write, with why in the timeline), then the stock goes back and the
// authorization is released as for any cancellation. If those calls fail
// now, the order stays cancelling and recovery finishes them.
func (s *Service) captureDeclined(ctx context.Context, rec record, why string) error {
	s.log.WarnContext(ctx, "payment capture declined; cancelling the order", "tenant", rec.tenant, "order_id", rec.ID, "reason", why)
	next, err := s.advance(ctx, rec, change{to: orderapi.StatusCancelling,
		note: "payment capture declined (" + why + "): shipment not recorded; order cancelled, stock restocked, authorization released",
		apply: func(r *record) {
			r.CancelReason, r.cancelDetail = orderapi.ReasonCaptureDeclined, why
		},
		also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
			return q.DeleteShipments(ctx, orderdb.DeleteShipmentsParams{TenantID: next.tenant, OrderID: next.ID})
		}})
	if err != nil {
		return err
	}
	if _, err := s.cancelled(ctx, next); err != nil && !errors.Is(err, errStale) {
		s.log.WarnContext(ctx, "cancel after declined capture left for recovery", "tenant", rec.tenant, "order_id", rec.ID, "err", err)
	}
	return &CaptureFailedError{Reason: why}
}

// definitive reports whether err is an answer that repeating the call
// cannot change: the payment provider declined, or the service refused the
// request itself (a 4xx about it, see apiclient.Refused). why is the decline reason
// or the answer's code.
func definitive(err error) (why string, ok bool) {
	var de *paymentapi.DeclinedError
	if errors.As(err, &de) {
		return de.Reason, true
	}
	if errors.Is(err, paymentapi.ErrNotFound) {
		return paymentapi.CodeNotFound, true
	}
	if ae, ok := apiclient.Refused(err); ok {
		return ae.Code, true
	}
	return "", false
}

// Track adds a tracking event to a shipment: in_transit any number of
// times, then delivered once. When every shipment is delivered the order is
// delivered.
func (s *Service) Track(ctx context.Context, id, shipmentID string, in orderapi.TrackingUpdate) (orderapi.Order, error) {
	if in.Status != orderapi.ShipmentInTransit && in.Status != orderapi.ShipmentDelivered {
		return orderapi.Order{}, &kit.ValidationError{Code: "validation_failed", Detail: "status must be in_transit or delivered",
			Fields: []kit.FieldError{{Field: "status", Message: "in_transit or delivered", Value: in.Status}}}
	}
	return s.retry(ctx, id, func(rec record) (record, error) {
		if rec.Status != orderapi.StatusShipped {
			return record{}, notAllowed("tracking needs a shipped order, this one is %s", rec.Status)
		}
		i := slices.IndexFunc(rec.Shipments, func(sh orderapi.Shipment) bool { return sh.ID == shipmentID })
		if i < 0 {
			return record{}, ErrShipmentNotFound
		}
		sh := rec.Shipments[i]
		if sh.Status == orderapi.ShipmentDelivered {
			return record{}, notAllowed("shipment already delivered")
		}
		now := s.now().UTC()
		sh.Status = in.Status
		sh.Events = append(slices.Clip(sh.Events), orderapi.TrackingEvent{At: now, Status: in.Status, Location: in.Location, Note: in.Note})
		all := true
		for j, o := range rec.Shipments {
			if j != i && o.Status != orderapi.ShipmentDelivered {
				all = false
			}
		}
		to, note, event := orderapi.StatusShipped, "shipment "+sh.TrackingNumber+" "+string(in.Status), ""
		if all && in.Status == orderapi.ShipmentDelivered {
			to, note, event = orderapi.StatusDelivered, "delivered", orderapi.SubjectDelivered
		}
		next, err := s.advance(ctx, rec, change{to: to, note: note, event: event,
			also: func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries, next record) error {
				n, err := q.UpdateShipment(ctx, orderdb.UpdateShipmentParams{Status: string(sh.Status),
					Events: jsonText(sh.Events), UpdatedAt: sqldb.Micros(next.UpdatedAt), TenantID: next.tenant, ID: sh.ID, OrderID: next.ID})
				if err == nil && n == 0 {
					return ErrShipmentNotFound
				}
				return err
			}})
		if err != nil {
			return record{}, err
		}
		sh.UpdatedAt = next.UpdatedAt
		next.Shipments = slices.Clone(rec.Shipments)
		next.Shipments[i] = sh
		return next, nil
	})
}

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

// Refund refunds part of what was captured (shipping included), at most
// captured − refunded. in.Key makes it idempotent ("refund-<key>" at the
// payment service): a repeat refunds nothing more.
func (s *Service) Refund(ctx context.Context, id string, in orderapi.RefundCreate) (orderapi.Order, error) {
	if in.Amount.Amount <= 0 {
		return orderapi.Order{}, &kit.ValidationError{Code: "validation_failed", Detail: "the refund amount must be positive",
			Fields: []kit.FieldError{{Field: "amount.amount", Message: "must be positive", Value: in.Amount.Amount}}}
	}
	if strings.TrimSpace(in.Key) == "" {
		return orderapi.Order{}, &kit.ValidationError{Code: "validation_failed", Detail: "a refund key is required", Fields: []kit.FieldError{{Field: "key", Message: "required"}}}
	}
	rec, err := s.load(ctx, id)
	if err != nil {
		return orderapi.Order{}, err
	}
	if in.Amount.Currency != rec.Currency {
		return orderapi.Order{}, &kit.ValidationError{Code: "currency_mismatch", Detail: "the refund must be in the order's currency " + rec.Currency,
			Fields: []kit.FieldError{{Field: "amount.currency", Message: "must be " + rec.Currency, Value: in.Amount.Currency}}}
	}
	if rec.Captured.Amount == 0 {
		return orderapi.Order{}, ErrRefundExceedsCaptured
	}
	p, err := s.deps.Payment.Refund(ctx, id, paymentapi.RefundRequest{Amount: in.Amount, Reason: in.Reason, Key: "refund-" + in.Key})
	if err != nil {
		err = refundFailure("refund", err)
		var rd *RefundDeclinedError
		if errors.As(err, &rd) {
			// Nothing to retry: the timeline says so, for whoever looks
			// at the order later.
			_, _ = s.retry(ctx, id, func(rec record) (record, error) {
				return s.advance(ctx, rec, change{to: rec.Status,
					note: "refund of " + in.Amount.String() + " declined (" + rd.Reason + "): nothing refunded"})
			})
		}
		return orderapi.Order{}, err
	}
	return s.retry(ctx, id, func(rec record) (record, error) {
		return s.recordPayment(ctx, rec, p, "refunded "+in.Amount.String(), orderapi.SubjectRefunded,
			func(next record, delta money.Money) any {
				return orderapi.Refunded{Order: public(next), Amount: delta, Reason: in.Reason}
			}, nil)
	})
}

// recordPayment writes the payment service's captured and refunded amounts
// to the order (never lowering them: answers may arrive out of order), with
// also's writes, announcing subject (built by payload) when more was
// refunded. A repeat that changes nothing writes nothing.
func (s *Service) recordPayment(ctx context.Context, rec record, p paymentapi.Payment, note, subject string,
	payload func(next record, delta money.Money) any, also func(ctx context.Context, tx *sql.Tx, q *orderdb.Queries, next record) error) (record, error) {
	delta := money.Money{Amount: max(0, p.Refunded.Amount-rec.Refunded.Amount), Currency: rec.Currency}
	if delta.Amount == 0 && also == nil && p.Captured.Amount <= rec.Captured.Amount {
		return rec, nil
	}
	c := change{to: rec.Status, note: note, also: also, apply: func(r *record) {
		r.Captured.Amount = max(r.Captured.Amount, p.Captured.Amount)
		r.Refunded.Amount = max(r.Refunded.Amount, p.Refunded.Amount)
	}}
	if subject != "" && (delta.Amount > 0 || also != nil) {
		c.event = subject
		c.data = func(next record) any { return payload(next, delta) }
	}
	return s.advance(ctx, rec, c)
}

// refundFailure classifies a refund's failure: more than captured and
// not refunded; declined for good (*RefundDeclinedError: the provider
// declined, or the payment service refused the request); or unavailable,
// worth retrying.
func refundFailure(doing string, err error) error {
	switch {
	case errors.Is(err, paymentapi.ErrRefundExceedsCaptured), errors.Is(err, paymentapi.ErrNotFound):
		return ErrRefundExceedsCaptured
	case apiclient.IsCode(err, paymentapi.CodeKeyReused):
		return ErrRefundKeyReused
	}
	if why, ok := definitive(err); ok {
		return &RefundDeclinedError{Reason: why}
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, doing, err)
}

// refusedForGood reports whether a compensation's failure is a refusal
// that repeating cannot change (see definitive), logging it for an
// operator: the cancellation goes on without it rather than retrying it
// on every recovery pass for ever.
func (s *Service) refusedForGood(ctx context.Context, rec record, doing string, err error) bool {
	why, ok := definitive(err)
	if ok {
		s.log.ErrorContext(ctx, "compensation refused for good; carrying on without it", "tenant", rec.tenant,
			"order_id", rec.ID, "step", doing, "reason", why, "err", err)
	}
	return ok
}
