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
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

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
// request itself (a 4xx about it, see apiclient.Refused). why is the
// decline reason or the answer's code.
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
