package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) orderRoutes(route routeFunc) {
	route("GET /admin/orders", s.orders)
	route("GET /admin/orders/{id}", s.order)
	route("POST /admin/orders/{id}/ship", s.shipOrder)
	route("POST /admin/orders/{id}/shipments/{sid}/events", s.trackShipment)
	route("POST /admin/orders/{id}/cancel", s.cancelOrder)
	route("POST /admin/orders/{id}/refunds", s.refundOrder)
	route("POST /admin/orders/{id}/returns/{rid}/receive", s.receiveReturn)
	route("POST /admin/orders/{id}/returns/{rid}/reject", s.rejectReturn)
}

// The roles that may act on an order, as the order service's access table
// has them: everyone on the staff reads orders and payments, support only
// reads; giving money back is for owners and managers.
var (
	orderActors   = []string{"owner", "manager", "staff"}
	orderRefunder = []string{"owner", "manager"}
)

// label makes an API's status code readable: "payment_authorized" →
// "payment authorized".
func label(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") }

// ordersPage is the data of the order list.
type ordersPage struct {
	Orders   []orderapi.Order
	Next     string
	Statuses []page.Option
	Filtered bool
}

// Label is label for the template.
func (ordersPage) Label(v any) string { return label(v) }

// orderStatuses are the statuses the order list filters by.
var orderStatuses = []orderapi.Status{
	orderapi.StatusConfirmed, orderapi.StatusShipped, orderapi.StatusDelivered, orderapi.StatusCancelled,
	orderapi.StatusPending, orderapi.StatusStockReserved, orderapi.StatusPaymentAuthorized,
	orderapi.StatusShipping, orderapi.StatusCancelling,
}

// orders is the order list: the filters the admin list API offers
// (status, email, the day range they were placed in) and cursor paging.
func (s *Service) orders(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	form := page.EmptyForm(q)
	lp := orderapi.ListParams{Email: form.Get("email"), Cursor: form.Get("cursor")}
	if st := form.Get("status"); st != "" {
		if !slices.Contains(orderStatuses, orderapi.Status(st)) {
			form.Fail("status", "choose a status from the list")
		}
		lp.Status = orderapi.Status(st)
	}
	if d := form.Get("from"); d != "" {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			form.Fail("from", "enter a date like 2026-03-01")
		}
		lp.CreatedFrom = t
	}
	if d := form.Get("to"); d != "" {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			form.Fail("to", "enter a date like 2026-03-31")
		}
		lp.CreatedTo = t.AddDate(0, 0, 1) // the whole day: the API's bound is exclusive
	}
	if !lp.CreatedFrom.IsZero() && !lp.CreatedTo.IsZero() && !lp.CreatedTo.After(lp.CreatedFrom) {
		form.Fail("to", "must not be before the first day")
	}
	v, err := s.view(r, "Orders")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = form
	data := ordersPage{Statuses: statusOptions(), Filtered: lp.Status != "" || lp.Email != "" || !lp.CreatedFrom.IsZero() || !lp.CreatedTo.IsZero()}
	v.Data = data
	if form.Invalid() {
		s.kit.Render(w, r, http.StatusUnprocessableEntity, "orders", v)
		return
	}
	l, err := s.deps.Orders.List(ctx, lp)
	if err != nil {
		if form.Refused(err, map[string]string{"created_from": "from", "created_to": "to"}) {
			s.kit.Render(w, r, http.StatusUnprocessableEntity, "orders", v)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	data.Orders, data.Next = l.Items, l.NextCursor
	v.Data = data
	s.kit.Render(w, r, http.StatusOK, "orders", v)
}

func statusOptions() []page.Option {
	opts := []page.Option{{Value: "", Label: "Any status"}}
	for _, st := range orderStatuses {
		opts = append(opts, page.Option{Value: string(st), Label: label(st)})
	}
	return opts
}

// orderPage is the data of one order's page: the order, its payment and
// customer, and which actions its status and the person's role allow.
type orderPage struct {
	Order orderapi.Order
	// Payment is nil when the order has none (it failed before one was
	// made) or when the payment service did not answer (PaymentDown).
	Payment     *paymentapi.Payment
	PaymentDown bool
	Customer    *identityapi.Customer
	// Refundable is what was captured and not yet refunded.
	Refundable money.Money

	CanShip, CanCancel, CanRefund, CanAct bool

	// failed names the form that was refused ("ship", "refund", "cancel",
	// "track:<shipment>", "return:<return>"), form its values and errors.
	failed string
	form   *page.Form
}

// Label is label for the template.
func (orderPage) Label(v any) string { return label(v) }

// FormOf returns the form named name as it was posted when it is the one
// refused, else an empty form.
func (p orderPage) FormOf(name string) *page.Form {
	if name == p.failed && p.form != nil {
		return p.form
	}
	return page.EmptyForm(nil)
}

// Failed reports whether name is the refused form.
func (p orderPage) Failed(name string) bool { return name == p.failed }

// CanTrack reports whether a tracking event may be added to sh.
func (p orderPage) CanTrack(sh orderapi.Shipment) bool {
	return p.CanAct && p.Order.Status == orderapi.StatusShipped && sh.Status != orderapi.ShipmentDelivered
}

// CanDecide reports whether ret may be received or rejected; a return
// whose refund was declined may be received again (the refund retried).
func (p orderPage) CanDecide(ret orderapi.Return) bool {
	return p.CanAct && (ret.Status == orderapi.ReturnRequested || ret.Status == orderapi.ReturnRefundDeclined)
}

// Restocked reports whether the restock box of sku in ret's form is
// ticked: as posted when that form was refused, else ticked.
func (p orderPage) Restocked(ret orderapi.Return, sku string) bool {
	name := "return:" + ret.ID
	if name != p.failed || p.form == nil {
		return true
	}
	return slices.Contains(p.form.Values["restock"], sku)
}

// LineTitle is the title of the order's line of sku, or sku itself.
func (p orderPage) LineTitle(sku string) string {
	for _, l := range p.Order.Lines {
		if l.SKU == sku {
			return l.Title
		}
	}
	return sku
}

// order shows one order.
func (s *Service) order(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderOrder(w, r, ctx, http.StatusOK, "", nil)
}

// renderOrder renders the order of the request's path with status; failed
// and form are the refused form, if any.
func (s *Service) renderOrder(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, failed string, form *page.Form) {
	id := r.PathValue("id")
	o, err := s.deps.Orders.Get(ctx, id)
	if err != nil {
		s.failOrder(w, r, err)
		return
	}
	v, err := s.view(r, "Order "+o.ID)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	data := orderPage{Order: o, failed: failed, form: form,
		Refundable: money.Money{Amount: o.Captured.Amount - o.Refunded.Amount, Currency: o.Currency}}
	switch p, err := s.deps.Payments.Get(ctx, o.ID); {
	case err == nil:
		data.Payment = &p
	case errors.Is(err, paymentapi.ErrNotFound):
	default:
		if page.Status(err) == http.StatusUnauthorized || page.Status(err) == http.StatusForbidden {
			s.kit.Fail(w, r, err)
			return
		}
		s.log.WarnContext(r.Context(), "read payment of order", "order", o.ID, "err", err)
		data.PaymentDown = true
	}
	if o.CustomerID != "" {
		c, err := s.deps.Identity.Customer(ctx, o.CustomerID)
		switch {
		case err == nil:
			data.Customer = &c
		case errors.Is(err, identityapi.ErrNotFound):
		default:
			s.log.WarnContext(r.Context(), "read customer of order", "order", o.ID, "err", err)
		}
	}
	data.CanAct = v.Can(orderActors...)
	data.CanShip = data.CanAct && (o.Status == orderapi.StatusConfirmed || o.Status == orderapi.StatusShipped)
	data.CanCancel = data.CanAct && o.Status == orderapi.StatusConfirmed
	data.CanRefund = v.Can(orderRefunder...) && data.Refundable.Amount > 0
	v.Data = data
	if form != nil {
		v.Form = form
	}
	s.kit.Render(w, r, status, "order", v)
}

// failOrder answers a failed read or action: the styled 404 for an order,
// shipment or return that does not exist, else the kit's answer.
func (s *Service) failOrder(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, orderapi.ErrNotFound) || errors.Is(err, orderapi.ErrShipmentNotFound) || errors.Is(err, orderapi.ErrReturnNotFound) {
		s.kit.NotFound(w, r)
		return
	}
	s.kit.Fail(w, r, err)
}

// orderAction runs one of an order's forms: it reads the order (a styled
// 404 when there is none), lets act check the form and call the API with
// the form's Idempotency-Key, and answers 303 back to the order with
// act's flash, or 422 with the form marked. fields maps the API's field
// locations to the form's. A refusal the form cannot show (the role's
// 403) answers the kit's error page.
func (s *Service) orderAction(w http.ResponseWriter, r *http.Request, name string, fields map[string]string,
	act func(ctx context.Context, o orderapi.Order, form *page.Form) (flash string, err error)) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	form := page.ParseForm(w, r)
	o, err := s.deps.Orders.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.failOrder(w, r, err)
		return
	}
	flash, err := act(ctx, o, form)
	switch {
	case err == nil && !form.Invalid():
		s.kit.Redirect(w, r, "/admin/orders/"+url.PathEscape(o.ID), flash)
	case err == nil || form.Refused(err, fields):
		s.renderOrder(w, r, ctx, http.StatusUnprocessableEntity, name, form)
	default:
		s.failOrder(w, r, err)
	}
}

// shipOrder records a shipment: carrier and tracking number.
func (s *Service) shipOrder(w http.ResponseWriter, r *http.Request) {
	s.orderAction(w, r, "ship", nil, func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
		in := orderapi.ShipmentCreate{Carrier: form.Get("carrier"), TrackingNumber: form.Get("tracking_number"), TrackingURL: form.Get("tracking_url")}
		if in.Carrier == "" {
			form.Fail("carrier", "enter the carrier")
		}
		if in.TrackingNumber == "" {
			form.Fail("tracking_number", "enter the tracking number")
		}
		if in.TrackingURL != "" {
			if u, err := url.Parse(in.TrackingURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				form.Fail("tracking_url", "enter a web address starting with https://")
			}
		}
		if form.Invalid() {
			return "", nil
		}
		if _, err := s.deps.Orders.Ship(ctx, o.ID, in, form.Key()); err != nil {
			return "", err
		}
		return "Shipment " + in.TrackingNumber + " recorded.", nil
	})
}

// trackShipment adds a tracking event to a shipment; delivered delivers
// it (and the order, once every shipment is).
func (s *Service) trackShipment(w http.ResponseWriter, r *http.Request) {
	sid := r.PathValue("sid")
	s.orderAction(w, r, "track:"+sid, nil, func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
		in := orderapi.TrackingUpdate{Status: orderapi.ShipmentStatus(form.Get("status")), Location: form.Get("location"), Note: form.Get("note")}
		if in.Status != orderapi.ShipmentInTransit && in.Status != orderapi.ShipmentDelivered {
			form.Fail("status", "choose in transit or delivered")
			return "", nil
		}
		if _, err := s.deps.Orders.TrackWithKey(ctx, o.ID, sid, in, form.Key()); err != nil {
			return "", err
		}
		if in.Status == orderapi.ShipmentDelivered {
			return "Shipment marked delivered.", nil
		}
		return "Tracking event added.", nil
	})
}

// cancelOrder cancels a confirmed, unshipped order.
func (s *Service) cancelOrder(w http.ResponseWriter, r *http.Request) {
	s.orderAction(w, r, "cancel", nil, func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
		if _, err := s.deps.Orders.CancelWithKey(ctx, o.ID, form.Key()); err != nil {
			return "", err
		}
		return "Order cancelled: its stock went back and its payment was voided.", nil
	})
}

// refundOrder refunds an amount typed as a decimal of the order's
// currency, plus the order's shipping when asked.
func (s *Service) refundOrder(w http.ResponseWriter, r *http.Request) {
	s.orderAction(w, r, "refund", map[string]string{"amount.amount": "amount", "amount": "amount", "key": "amount"},
		func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
			amount, ok := refundAmount(form, "amount", o, false)
			if !ok {
				return "", nil
			}
			if amount.Amount <= 0 {
				form.Fail("amount", "enter an amount above zero")
				return "", nil
			}
			_, err := s.deps.Orders.Refund(ctx, o.ID, orderapi.RefundCreate{Amount: amount, Reason: form.Get("reason"), Key: form.Key()})
			if err != nil {
				markExceeds(form, "amount", err, o)
				return "", err
			}
			return "Refunded " + amount.String() + ".", nil
		})
}

// refundAmount reads the amount typed in field (a decimal of the order's
// currency) plus the order's shipping when include_shipping is ticked.
// An empty field is the shipping alone, or, when optional, nothing (the
// API's default). It marks the field and reports false when the amount
// cannot be read.
func refundAmount(form *page.Form, field string, o orderapi.Order, optional bool) (money.Money, bool) {
	m := money.Money{Currency: o.Currency}
	typed := form.Get(field)
	if typed != "" {
		n, err := page.MinorUnits(typed, money.Scale(o.Currency))
		if err != nil {
			form.Fail(field, err.Error())
			return m, false
		}
		m.Amount = n
	} else if !optional && !form.Has("include_shipping") {
		form.Fail(field, "enter an amount")
		return m, false
	}
	if form.Has("include_shipping") {
		m.Amount += o.Shipping.Amount
	}
	return m, true
}

// markExceeds marks field when err is the API's refusal of a refund above
// what was captured and not yet refunded (a 409 naming no field).
func markExceeds(form *page.Form, field string, err error, o orderapi.Order) {
	if !apiclient.IsCode(err, "refund_exceeds_captured") {
		return
	}
	left := o.Captured.Amount - o.Refunded.Amount
	form.Fail(field, "more than can still be refunded: at most "+page.FormatDecimal(left, money.Scale(o.Currency))+" "+o.Currency)
}

// receiveReturn receives a requested return: the ticked lines go back
// into stock, and the typed amount (or, left empty, the returned lines'
// totals) is refunded, plus shipping when asked.
func (s *Service) receiveReturn(w http.ResponseWriter, r *http.Request) {
	rid := r.PathValue("rid")
	s.orderAction(w, r, "return:"+rid, map[string]string{"refund.amount": "refund", "refund.currency": "refund", "refund": "refund"},
		func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
			i := slices.IndexFunc(o.Returns, func(ret orderapi.Return) bool { return ret.ID == rid })
			if i < 0 {
				return "", orderapi.ErrReturnNotFound
			}
			d := orderapi.ReturnDecision{}
			for _, sku := range form.Values["restock"] {
				if !slices.ContainsFunc(o.Returns[i].Lines, func(l orderapi.ReturnLine) bool { return l.SKU == sku }) {
					form.Fail("restock", "choose lines of this return")
					return "", nil
				}
				d.Restock = append(d.Restock, sku)
			}
			if form.Get("refund") == "" {
				d.IncludeShipping = form.Has("include_shipping")
			} else {
				amount, ok := refundAmount(form, "refund", o, true)
				if !ok {
					return "", nil
				}
				d.Refund = &amount
			}
			if _, err := s.deps.Orders.ReceiveReturnAs(ctx, o.ID, rid, d, form.Key()); err != nil {
				markExceeds(form, "refund", err, o)
				return "", err
			}
			return "Return received.", nil
		})
}

// rejectReturn refuses a requested return.
func (s *Service) rejectReturn(w http.ResponseWriter, r *http.Request) {
	rid := r.PathValue("rid")
	s.orderAction(w, r, "return:"+rid, nil, func(ctx context.Context, o orderapi.Order, form *page.Form) (string, error) {
		if _, err := s.deps.Orders.RejectReturnWithKey(ctx, o.ID, rid, form.Key()); err != nil {
			return "", err
		}
		return "Return rejected.", nil
	})
}
