package order

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

func eur(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }

// placed checks out a fresh order (2 × MUG-1 + shipping = 2900).
func placed(t *testing.T, w *world, ctx context.Context, key string) orderapi.Order {
	t.Helper()
	o, err := w.svc.Checkout(ctx, key, checkoutReq())
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	return o
}

func TestShipDeliverCancel(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "ship-1")
		if _, err := w.svc.Track(ctx, o.ID, "nope", orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit}); !errors.Is(err, ErrTransition) {
			t.Errorf("track unshipped: %v", err)
		}
		s1, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"})
		if err != nil {
			t.Fatal(err)
		}
		if s1.Status != orderapi.StatusShipped || s1.Captured.Amount != 2900 || s1.TotalDue.Amount != 0 || len(s1.Shipments) != 1 {
			t.Fatalf("after ship: %s captured %v due %v shipments %d", s1.Status, s1.Captured, s1.TotalDue, len(s1.Shipments))
		}
		if p, _ := w.pay.payment(o.ID); p.Captured.Amount != 2900 {
			t.Errorf("payment captured %v", p.Captured)
		}
		s2, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "UPS", TrackingNumber: "T2"})
		if err != nil || len(s2.Shipments) != 2 || s2.Captured.Amount != 2900 {
			t.Fatalf("second shipment: %v %+v", err, s2.Shipments)
		}
		if _, err := w.svc.Cancel(ctx, o.ID); !errors.Is(err, ErrTransition) {
			t.Errorf("cancel shipped: %v, want transition refused", err)
		}
		first, second := s2.Shipments[0].ID, s2.Shipments[1].ID
		if _, err := w.svc.Track(ctx, o.ID, first, orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit, Location: "Leipzig"}); err != nil {
			t.Fatal(err)
		}
		d1, err := w.svc.Track(ctx, o.ID, first, orderapi.TrackingUpdate{Status: orderapi.ShipmentDelivered})
		if err != nil || d1.Status != orderapi.StatusShipped {
			t.Fatalf("one of two delivered: %v %s", err, d1.Status)
		}
		if _, err := w.svc.Track(ctx, o.ID, first, orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit}); !errors.Is(err, ErrTransition) {
			t.Errorf("event after delivered: %v", err)
		}
		d2, err := w.svc.Track(ctx, o.ID, second, orderapi.TrackingUpdate{Status: orderapi.ShipmentDelivered})
		if err != nil || d2.Status != orderapi.StatusDelivered {
			t.Fatalf("all delivered: %v %s", err, d2.Status)
		}
		g, _ := w.svc.GuestOrder(ctx, o.ID, o.Token)
		if len(g.Shipments[0].Events) != 3 || g.Shipments[0].Events[1].Location != "Leipzig" {
			t.Errorf("tracking the customer sees: %+v", g.Shipments[0].Events)
		}

		// Cancel before shipment: stock back, payment voided.
		stock := w.inv.stock()["MUG-1"]
		c := placed(t, w, ctx, "cancel-1")
		cc, err := w.svc.GuestCancel(ctx, c.ID, c.Token)
		if err != nil || cc.Status != orderapi.StatusCancelled || cc.CancelReason != orderapi.ReasonCustomer {
			t.Fatalf("guest cancel: %v %s %s", err, cc.Status, cc.CancelReason)
		}
		if w.inv.stock()["MUG-1"] != stock {
			t.Errorf("stock %d, want %d back", w.inv.stock()["MUG-1"], stock)
		}
		if got := w.inv.restockedFor("cancel-" + c.ID); got != c.ID {
			t.Errorf("the cancel's restock names order %q, want %q (so units go back where they were sold from)", got, c.ID)
		}
		if p, _ := w.pay.payment(c.ID); p.Status != "voided" {
			t.Errorf("payment %s, want voided", p.Status)
		}
		if again, err := w.svc.Cancel(ctx, c.ID); err != nil || again.CancelReason != orderapi.ReasonCustomer {
			t.Errorf("cancel again: %v %s", err, again.CancelReason)
		}
		if _, err := w.svc.Ship(ctx, c.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T3"}); !errors.Is(err, ErrTransition) {
			t.Errorf("ship cancelled: %v", err)
		}
		if _, err := w.svc.GuestCancel(ctx, o.ID, "wrong"); !errors.Is(err, ErrNotFound) {
			t.Errorf("guest cancel with a wrong token: %v", err)
		}
		subjects := outboxSubjects(t, db)
		for _, want := range []string{orderapi.SubjectShipped, orderapi.SubjectDelivered, orderapi.SubjectCancelled} {
			if !slices.Contains(subjects, want) {
				t.Errorf("no %s in %v", want, subjects)
			}
		}
	}, Migrations...)
}

func TestRefundsAndReturns(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "ret-1")
		if _, err := w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(100), Key: "a"}); !errors.Is(err, ErrRefundExceedsCaptured) {
			t.Errorf("refund before capture: %v", err)
		}
		if _, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}}); !errors.Is(err, ErrTransition) {
			t.Errorf("return before shipment: %v", err)
		}
		if _, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		// Partial, repeated (same key: once), shipping-sized, too much.
		r, err := w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(300), Key: "a"})
		if err != nil || r.Refunded.Amount != 300 || r.TotalDue.Amount != 300 {
			t.Fatalf("partial refund: %v refunded %v due %v", err, r.Refunded, r.TotalDue)
		}
		if r, err = w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(300), Key: "a"}); err != nil || r.Refunded.Amount != 300 {
			t.Fatalf("repeated refund: %v refunded %v", err, r.Refunded)
		}
		if r, err = w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: o.Shipping, Key: "ship"}); err != nil || r.Refunded.Amount != 800 {
			t.Fatalf("shipping refund: %v refunded %v", err, r.Refunded)
		}
		if _, err = w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(2101), Key: "big"}); !errors.Is(err, ErrRefundExceedsCaptured) {
			t.Fatalf("refund beyond captured: %v", err)
		}
		if _, err = w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: money.Money{Amount: 1, Currency: "USD"}, Key: "usd"}); err == nil {
			t.Fatal("refund in another currency accepted")
		}

		// Returns: at most what was shipped, minus what is already returned.
		if _, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 3}}}); err == nil {
			t.Fatal("return of more than was shipped accepted")
		}
		rq, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}, Reason: "chipped"})
		if err != nil || len(rq.Returns) != 1 || rq.Returns[0].Status != orderapi.ReturnRequested {
			t.Fatalf("request return: %v %+v", err, rq.Returns)
		}
		rid := rq.Returns[0].ID
		stock := w.inv.stock()["MUG-1"]
		rc, err := w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{})
		if err != nil {
			t.Fatal(err)
		}
		// Default refund: the returned line's share of its total, 1200.
		if rc.Refunded.Amount != 2000 || rc.Returns[0].Status != orderapi.ReturnReceived || rc.Returns[0].RefundAmount.Amount != 1200 {
			t.Fatalf("receive: refunded %v return %+v", rc.Refunded, rc.Returns[0])
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Errorf("not restocked")
		}
		if got := w.inv.restockedFor(rid); got != o.ID {
			t.Errorf("the return's restock names order %q, want %q", got, o.ID)
		}
		again, err := w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{})
		if err != nil || again.Refunded.Amount != 2000 || w.inv.stock()["MUG-1"] != stock+1 {
			t.Errorf("receive twice: %v refunded %v", err, again.Refunded)
		}
		// The other mug: no restock, refund beyond what is left → 409.
		rq2, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		rid2 := rq2.Returns[1].ID
		if _, err := w.svc.ReceiveReturn(ctx, o.ID, rid2, orderapi.ReturnReceive{IncludeShipping: true}); !errors.Is(err, ErrRefundExceedsCaptured) {
			t.Fatalf("refund beyond captured on return: %v", err)
		}
		rc2, err := w.svc.ReceiveReturn(ctx, o.ID, rid2, orderapi.ReturnReceive{Restock: []string{}, Refund: ptr(eur(900))})
		if err != nil || rc2.Refunded.Amount != 2900 || rc2.TotalDue.Amount != 2900 || rc2.Returns[1].Lines[0].Restock {
			t.Fatalf("second return: %v refunded %v lines %+v", err, rc2.Refunded, rc2.Returns[1].Lines)
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Errorf("restocked a line not chosen")
		}
		if _, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}}); err == nil {
			t.Error("return beyond what is left accepted")
		}
		if !slices.Contains(outboxSubjects(t, db), orderapi.SubjectReturnReceived) {
			t.Error("no order.return_received.v1")
		}
	}, Migrations...)
}

func ptr[T any](v T) *T { return &v }

// checkInvariant reads every order's money columns straight from the table.
func checkInvariant(t *testing.T, db *sqldb.DB, step string) {
	t.Helper()
	readAll(t, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(t.Context(), `SELECT id, total, captured, refunded, total_due FROM orders`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var total, captured, refunded, due int64
			if err := rows.Scan(&id, &total, &captured, &refunded, &due); err != nil {
				return err
			}
			if due != total-captured+refunded || refunded < 0 || refunded > captured || captured > total {
				t.Fatalf("after %s: order %s total %d captured %d refunded %d due %d", step, id, total, captured, refunded, due)
			}
		}
		return rows.Err()
	})
}

func TestMoneyInvariantRandomSequences(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		w.inv.available["MUG-1"] = 1_000_000
		ctx := ctxFor(t, "default")
		rng := rand.New(rand.NewPCG(3, 7))
		var orders []orderapi.Order
		for i := range 6 {
			orders = append(orders, placed(t, w, ctx, fmt.Sprintf("inv-%d", i)))
		}
		for step := range 150 {
			o := orders[rng.IntN(len(orders))]
			var name string
			var err error
			switch rng.IntN(5) {
			case 0:
				name = "ship"
				_, err = w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: fmt.Sprint(step)})
			case 1:
				name = "refund"
				_, err = w.svc.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: eur(rng.Int64N(3500) + 1), Key: fmt.Sprint(rng.IntN(20))})
			case 2:
				name = "return"
				var cur orderapi.Order
				cur, err = w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}})
				if err == nil {
					rid := cur.Returns[len(cur.Returns)-1].ID
					_, err = w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{IncludeShipping: rng.IntN(2) == 0})
				}
			case 3:
				name = "cancel"
				_, err = w.svc.Cancel(ctx, o.ID)
			case 4:
				name = "checkout"
				orders = append(orders, placed(t, w, ctx, fmt.Sprintf("inv-n-%d", step)))
			}
			if err != nil && !errors.Is(err, ErrTransition) && !errors.Is(err, ErrRefundExceedsCaptured) {
				var ve *kit.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("step %d %s: %v", step, name, err)
				}
			}
			checkInvariant(t, db, fmt.Sprintf("step %d %s", step, name))
		}
		// The payment fake and the orders agree.
		for _, o := range orders {
			cur, err := w.svc.Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := w.pay.payment(o.ID)
			if cur.Captured.Amount != p.Captured.Amount || cur.Refunded.Amount != p.Refunded.Amount {
				t.Errorf("order %s captured/refunded %v/%v, payment %v/%v", o.ID, cur.Captured, cur.Refunded, p.Captured, p.Refunded)
			}
		}
		// The database refuses a write breaking the invariant.
		for _, stmt := range []string{
			`UPDATE orders SET total_due = total_due + 1 WHERE id = $1`,
			`UPDATE orders SET refunded = captured + 1, total_due = total + 1 WHERE id = $1`,
			`UPDATE orders SET captured = total + 1, total_due = -1 WHERE id = $1`,
		} {
			err := db.Tx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
				res, err := tx.ExecContext(t.Context(), stmt, orders[0].ID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return fmt.Errorf("updated %d rows", n)
				}
				return nil
			})
			if !sqldb.IsCheckViolation(err) {
				t.Errorf("%s: %v, want a check violation", stmt, err)
			}
		}
	}, Migrations...)
}

// refundDown is a payment service whose refunds fail as a service that is
// down does.
type refundDown struct{ Payments }

func (refundDown) Refund(context.Context, string, paymentapi.RefundRequest) (paymentapi.Payment, error) {
	return paymentapi.Payment{}, &apiclient.Error{Status: 503, Code: "unavailable", Detail: "down", Service: "payment"}
}

// TestRecoveryFinishesReceivingReturns: a return whose refund failed after
// staff received it stays receiving, with its restock done; once it has not
// moved for the saga lease, recovery makes the refund it was decided with,
// once, and the return is received.
func TestRecoveryFinishesReceivingReturns(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "ret-recover")
		if _, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		rq, err := w.svc.RequestReturn(ctx, o.ID, o.Token, orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		rid := rq.Returns[0].ID
		stock := w.inv.stock()["MUG-1"]

		pay := w.svc.deps.Payment
		w.svc.deps.Payment = refundDown{pay}
		if _, err := w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{Refund: ptr(eur(700))}); err == nil {
			t.Fatal("receiving with the payment service down succeeded")
		}
		status := func() (orderapi.ReturnStatus, int64) {
			t.Helper()
			cur, err := w.svc.Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			return cur.Returns[0].Status, cur.Refunded.Amount
		}
		if st, refunded := status(); st != orderapi.ReturnReceiving || refunded != 0 {
			t.Fatalf("after the failed refund: return %s, refunded %d; want receiving, 0", st, refunded)
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Fatal("the decided restock was not made")
		}

		// Within the lease recovery leaves it (staff may be retrying).
		w.svc.deps.Payment = pay
		if n, err := w.svc.Recover(ctx); err != nil || n != 0 {
			t.Fatalf("recovery within the lease: %d finished, %v; want 0", n, err)
		}
		// Past the lease, with the payment service down, it stays for a later pass.
		w.clock.advance(DefaultSagaLease + time.Second)
		w.svc.deps.Payment = refundDown{pay}
		if n, err := w.svc.Recover(ctx); err != nil || n != 0 {
			t.Fatalf("recovery with the payment service down: %d finished, %v; want 0", n, err)
		}
		w.svc.deps.Payment = pay
		if n, err := w.svc.Recover(ctx); err != nil || n != 1 {
			t.Fatalf("recovery: %d finished, %v; want the return", n, err)
		}
		if st, refunded := status(); st != orderapi.ReturnReceived || refunded != 700 {
			t.Fatalf("after recovery: return %s, refunded %d; want received, 700 (the amount decided)", st, refunded)
		}
		if w.inv.stock()["MUG-1"] != stock+1 {
			t.Error("the restock was made twice")
		}
		if n, err := w.svc.Recover(ctx); err != nil || n != 0 {
			t.Fatalf("a second pass: %d finished, %v; want nothing left", n, err)
		}
		// Staff retrying the receipt now gets the received return, no second refund.
		again, err := w.svc.ReceiveReturn(ctx, o.ID, rid, orderapi.ReturnReceive{Refund: ptr(eur(700))})
		if err != nil || again.Refunded.Amount != 700 {
			t.Fatalf("receive after recovery: %v, refunded %v", err, again.Refunded)
		}
		checkInvariant(t, db, "return recovery")
	}, Migrations...)
}
