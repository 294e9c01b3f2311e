package order

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
)

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
