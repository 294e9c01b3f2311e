package order

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
)

// internals matches the error text of Go packages: "order: ",
// "payment: ", "capture order <id>: ", "payment api: 402 ...".
var internals = regexp.MustCompile(`\b(order|payment|pricing|inventory|cart|catalog|sqldb|apiclient|paymentapi|api): |\b(capture|refund|void) order \S+:`)

// problemOf is the HTTP answer the service gives for err, which must be
// written for the API's users: no Go package prefixes or wrapped errors.
func problemOf(t *testing.T, s *Service, err error) *web.Problem {
	t.Helper()
	var p *web.Problem
	if !errors.As(toProblem(err), &p) {
		t.Fatalf("%v has no problem answer", err)
	}
	if internals.MatchString(p.Detail) {
		t.Errorf("problem %s: detail %q has internal error text", p.Code, p.Detail)
	}
	return p
}

// TestAnswersAreWrittenForUsers: what the order service passes on of
// another service's refusal, or says of its own rules, carries no package
// prefixes or wrapped error text.
func TestAnswersAreWrittenForUsers(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "words")
		if _, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		cases := map[string]struct {
			fail error
			code string
		}{
			"invalid refund":    {clientError(t, 422, "validation_failed", ""), "refund_declined"},
			"refund key reused": {clientError(t, 409, "idempotency_key_reused", ""), "refund_key_reused"},
			"refund declined":   {clientError(t, 402, "payment_declined", "card_closed"), "refund_declined"},
		}
		for name, tc := range cases {
			w.pay.setFail("refund", o.ID, tc.fail)
			_, err := w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(100), Key: name})
			if p := problemOf(t, w.svc, err); p.Code != tc.code || p.Status != http.StatusConflict {
				t.Errorf("%s: %d %s, want 409 %s", name, p.Status, p.Code, tc.code)
			}
		}
		w.pay.setFail("refund", o.ID, nil)
		c := placed(t, w, ctx, "words-cancelled")
		if _, err := w.svc.Cancel(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"ship a cancelled order": func() error {
				_, err := w.svc.Ship(ctx, c.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T2"})
				return err
			}(),
			"cancel a shipped order": func() error { _, err := w.svc.Cancel(ctx, o.ID); return err }(),
			"track an unshipped": func() error {
				_, err := w.svc.Track(ctx, c.ID, "x", orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit})
				return err
			}(),
		} {
			if p := problemOf(t, w.svc, err); p.Code != "invalid_transition" || p.Detail == "" {
				t.Errorf("%s: %s %q", name, p.Code, p.Detail)
			}
		}
	}, Migrations...)
}

func timelineHas(o orderapi.Order, text string) bool {
	return slices.ContainsFunc(o.Timeline, func(e orderapi.TimelineEntry) bool { return strings.Contains(e.Note, text) })
}

// TestCaptureDeclinedForGoodCancels: a capture the payment refuses for good
// (the provider declines, as the real client reports it; the payment was
// voided) answers 409 capture_failed and cancels the order (shipment
// undone, stock restocked, authorization released, why in the timeline),
// even when the provider also refuses the void; recovery then has nothing
// to retry. A capture that fails for want of the payment service leaves
// the order shipping for a retry instead.
func TestCaptureDeclinedForGoodCancels(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		declined := clientError(t, http.StatusPaymentRequired, "payment_declined", "unknown_authorization")
		if _, ok := apiclient.Refused(declined); !ok {
			t.Fatalf("a decline through the payment client is not classed as a refusal: %v", declined)
		}
		for _, tc := range []struct {
			name        string
			capture     error
			void        error
			wantReasons string
		}{
			{"declined, void declined too", declined, declined, "unknown_authorization"},
			{"payment voided", clientError(t, http.StatusConflict, "invalid_payment_state", ""), nil, "invalid_payment_state"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := w.inv.stock()["MUG-1"]
				o := placed(t, w, ctx, "capture-"+tc.name)
				w.pay.setFail("capture", o.ID, tc.capture)
				w.pay.setFail("void", o.ID, tc.void)
				_, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T-" + o.ID})
				var cf *CaptureFailedError
				if !errors.As(err, &cf) || cf.Reason != tc.wantReasons {
					t.Fatalf("ship: %v, want a capture declined for %s", err, tc.wantReasons)
				}
				if p := problemOf(t, w.svc, err); p.Status != http.StatusConflict || p.Code != "capture_failed" || strings.Contains(p.Detail, "payment:") {
					t.Errorf("answer %d %s %q, want 409 capture_failed written for users", p.Status, p.Code, p.Detail)
				}
				got, err := w.svc.Order(ctx, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != orderapi.StatusCancelled || got.CancelReason != orderapi.ReasonCaptureDeclined || len(got.Shipments) != 0 {
					t.Fatalf("order %s (%s), %d shipments; want cancelled capture_declined without shipments", got.Status, got.CancelReason, len(got.Shipments))
				}
				if !timelineHas(got, "capture declined ("+tc.wantReasons+")") {
					t.Errorf("the timeline does not say why: %+v", got.Timeline)
				}
				if after := w.inv.stock()["MUG-1"]; after != before {
					t.Errorf("stock %d after the cancel, %d before the checkout", after, before)
				}
				if w.inv.restockedFor("cancel-"+o.ID) != o.ID {
					t.Error("the committed stock was not restocked")
				}
				// Nothing left for recovery: no retry of the capture.
				captures := w.pay.callCount("capture")
				w.clock.advance(2 * DefaultSagaLease)
				if _, err := w.svc.Recover(ctx); err != nil {
					t.Fatal(err)
				}
				if n := w.pay.callCount("capture"); n != captures {
					t.Errorf("recovery tried the capture again (%d calls, %d before)", n, captures)
				}
				// Staff acting on it see a cancelled order, not an error.
				if c, err := w.svc.Cancel(ctx, o.ID); err != nil || c.Status != orderapi.StatusCancelled {
					t.Errorf("cancel: %s, %v", c.Status, err)
				}
			})
		}

		t.Run("payment service down", func(t *testing.T) {
			o := placed(t, w, ctx, "capture-down")
			w.pay.setFail("capture", o.ID, &apiclient.Error{Status: 503, Code: "unavailable", Service: "payment"})
			_, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T-down"})
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("ship: %v, want unavailable", err)
			}
			if got, _ := w.svc.Order(ctx, o.ID); got.Status != orderapi.StatusShipping {
				t.Fatalf("order %s, want shipping (left for a retry)", got.Status)
			}
			w.pay.setFail("capture", o.ID, nil)
			w.clock.advance(2 * DefaultSagaLease)
			if _, err := w.svc.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := w.svc.Order(ctx, o.ID); got.Status != orderapi.StatusShipped || got.Captured != got.Total {
				t.Fatalf("after recovery: %s captured %v, want shipped and captured", got.Status, got.Captured)
			}
		})
	}, Migrations...)
}

// TestRefundDeclinedForGood: a refund the provider declines answers 409
// refund_declined with a note in the timeline; a return whose refund is
// declined is parked as refund_declined (stock back), which recovery leaves
// alone, and staff receiving it again retries the refund.
func TestRefundDeclinedForGood(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "refund-declined")
		if _, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		w.pay.setFail("refund", o.ID, clientError(t, http.StatusPaymentRequired, "payment_declined", "card_closed"))

		_, err := w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(300), Key: "r1"})
		var rd *RefundDeclinedError
		if !errors.As(err, &rd) || rd.Reason != "card_closed" {
			t.Fatalf("refund: %v, want declined for card_closed", err)
		}
		if p := problemOf(t, w.svc, err); p.Status != http.StatusConflict || p.Code != "refund_declined" {
			t.Errorf("answer %d %s, want 409 refund_declined", p.Status, p.Code)
		}
		got, _ := w.svc.Order(ctx, o.ID)
		if got.Refunded.Amount != 0 || !timelineHas(got, "declined (card_closed)") {
			t.Errorf("after a declined refund: refunded %v, timeline %+v", got.Refunded, got.Timeline)
		}

		ord, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		rid := ord.Returns[0].ID
		stock := w.inv.stock()["MUG-1"]
		if _, err := w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{}); !errors.As(err, &rd) {
			t.Fatalf("receive: %v, want the refund declined", err)
		}
		got, _ = w.svc.Order(ctx, o.ID)
		if got.Returns[0].Status != orderapi.ReturnRefundDeclined || !timelineHas(got, "receive the return again") {
			t.Fatalf("return %s, timeline %+v; want refund_declined and a note for staff", got.Returns[0].Status, got.Timeline)
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Errorf("the returned unit is not back in stock")
		}
		refunds := w.pay.callCount("refund")
		w.clock.advance(2 * DefaultSagaLease)
		if _, err := w.svc.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		if n := w.pay.callCount("refund"); n != refunds {
			t.Errorf("recovery retried the declined refund (%d calls, %d before)", n, refunds)
		}

		w.pay.setFail("refund", o.ID, nil)
		got, err = w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{})
		if err != nil || got.Returns[0].Status != orderapi.ReturnReceived || got.Refunded.Amount != 1200 {
			t.Fatalf("received again: %v, return %s, refunded %v", err, got.Returns[0].Status, got.Refunded)
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Errorf("the retry restocked the unit twice")
		}
	}, Migrations...)
}
