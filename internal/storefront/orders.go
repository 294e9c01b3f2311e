package storefront

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// orderRoutes: an order's page, for the guest holding its token or the
// customer it belongs to, and their return requests.
func (s *Service) orderRoutes(route routeFunc) {
	route("GET /orders/{id}", s.orderPage)
	route("GET /orders/{id}/events", s.orderEvents)
	route("POST /orders/{id}/returns", s.requestReturn)
}

// orderView is an order as the pages show it.
type orderView struct {
	orderapi.Order
	// Ref is the order's short reference, Items its number of pieces.
	Ref   string
	Items int64
}

// newOrderView prepares o for a page.
func newOrderView(o orderapi.Order) orderView {
	ov := orderView{Order: o, Ref: orderRef(o.ID)}
	for _, l := range o.Lines {
		ov.Items += l.Quantity
	}
	return ov
}

// orderRef is the short reference people quote: the last eight characters
// of the order ID (a UUIDv7's random part), uppercase.
func orderRef(id string) string {
	s := strings.ReplaceAll(id, "-", "")
	if len(s) > 8 {
		s = s[len(s)-8:]
	}
	return strings.ToUpper(s)
}

// StatusLabel is the order's status for people.
func (o orderView) StatusLabel() string { return statusLabel(string(o.Status)) }

// CountryName is the shipping country's name.
func (o orderView) CountryName() string { return countryName(o.ShippingAddress.Country) }

// statusLabel names an order status (or a timeline step) for people.
func statusLabel(s string) string {
	switch orderapi.Status(s) {
	case orderapi.StatusPending, orderapi.StatusStockReserved, orderapi.StatusPaymentAuthorized:
		return "Processing"
	case orderapi.StatusConfirmed:
		return "Confirmed"
	case orderapi.StatusShipping:
		return "Being shipped"
	case orderapi.StatusShipped:
		return "Shipped"
	case orderapi.StatusDelivered:
		return "Delivered"
	case orderapi.StatusCancelling:
		return "Being cancelled"
	case orderapi.StatusCancelled:
		return "Cancelled"
	}
	return capitalize(strings.ReplaceAll(s, "_", " "))
}

// returnLabel names a return's status for people.
func returnLabel(s orderapi.ReturnStatus) string {
	switch s {
	case orderapi.ReturnRequested:
		return "Requested"
	case orderapi.ReturnReceiving, orderapi.ReturnRefundDeclined:
		return "Received, refund in progress"
	case orderapi.ReturnReceived:
		return "Received and refunded"
	case orderapi.ReturnRejected:
		return "Rejected"
	}
	return string(s)
}

// returnReasons are the reasons a return form offers.
var returnReasons = []page.Option{
	{Value: "", Label: "Choose a reason"},
	{Value: "changed_mind", Label: "I changed my mind"},
	{Value: "damaged", Label: "It arrived damaged"},
	{Value: "wrong_item", Label: "I received the wrong item"},
	{Value: "not_as_described", Label: "It is not as described"},
	{Value: "other", Label: "Another reason"},
}

// returnLine is a line of the return form: how many may still go back.
type returnLine struct {
	SKU, Title string
	Max        int64
}

// Field is the form field of the line's quantity.
func (l returnLine) Field() string { return "qty_" + l.SKU }

// returnRow is a return as the order page lists it.
type returnRow struct {
	orderapi.Return
	Label string
	// Titles by SKU, for the lines.
	Titles map[string]string
}

// orderData is the order page's data.
type orderData struct {
	Order orderView
	// Events is the address of the order's live updates; empty without
	// them.
	Events string
	// Token is the guest's order token, carried by the page's forms.
	Token    string
	Returns  []returnRow
	Timeline []timelineRow
	// CanReturn: the order takes return requests, and Returnable are its
	// lines that may still go back.
	CanReturn  bool
	Returnable []returnLine
	Reasons    []page.Option
	// Reviews are the lines of a delivered order as offered for review,
	// by SKU (reviews.go); nil when none can be written.
	Reviews map[string]lineReview
	// Invoices are the order's invoice and credit notes (invoices.go).
	Invoices []invoiceLink
}

// timelineRow is one step of the order's history.
type timelineRow struct {
	orderapi.TimelineEntry
	Label string
}

// buyerContext is the context an order of the request is read with: the
// signed-in customer's token when there is one (the order may be theirs),
// else the guest's. The order token, if any, is checked by the order
// service either way.
func (s *Service) buyerContext(r *http.Request) (context.Context, error) {
	ctx, _, err := s.asCustomer(r)
	return ctx, err
}

// loadOrder reads order id for its buyer; errNotYours for an order that
// does not exist, whose token is wrong, or that is another's: they all
// look the same.
func (s *Service) loadOrder(ctx context.Context, id, token string) (orderapi.Order, error) {
	if id == "" || len(id) > 100 || len(token) > 100 {
		return orderapi.Order{}, errNotYours
	}
	o, err := s.deps.Orders.GuestOrder(ctx, id, token)
	if errors.Is(err, orderapi.ErrNotFound) || apiclient.IsStatus(err, http.StatusUnprocessableEntity) {
		return orderapi.Order{}, errNotYours
	}
	return o, err
}

// errNotYours: no order the visitor may see (answered with the 404 page).
var errNotYours = errors.New("storefront: no such order of the visitor's")

// buyersOrder loads the order of the request's {id} for the visitor of
// ctx (buyerContext): with the link's token, or as the signed-in customer.
// ok false when the answer was written: the 404 page when the visitor has
// neither or may not see the order (whether it exists is not told).
func (s *Service) buyersOrder(ctx context.Context, w http.ResponseWriter, r *http.Request, token string) (orderapi.Order, bool) {
	if token == "" && apiclient.Token(ctx) == "" {
		s.kit.NotFound(w, r)
		return orderapi.Order{}, false
	}
	o, err := s.loadOrder(ctx, r.PathValue("id"), token)
	if errors.Is(err, errNotYours) {
		s.kit.NotFound(w, r)
		return orderapi.Order{}, false
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return orderapi.Order{}, false
	}
	return o, true
}

func (s *Service) orderPage(w http.ResponseWriter, r *http.Request) {
	id, token := r.PathValue("id"), r.URL.Query().Get("token")
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if token == "" && apiclient.Token(ctx) == "" {
		// Without the link's token the order can only be a customer's:
		// sign in first (whether the order exists is not told).
		s.kit.Redirect(w, r, "/account/sign-in?next="+url.QueryEscape(r.URL.Path), "")
		return
	}
	o, err := s.loadOrder(ctx, id, token)
	if errors.Is(err, errNotYours) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v := s.view(r, "Order "+orderRef(o.ID))
	v.Form = page.EmptyForm(nil)
	s.renderOrder(w, r, v, o, token, http.StatusOK)
}

// renderOrder renders order o's page with v's form.
func (s *Service) renderOrder(w http.ResponseWriter, r *http.Request, v *page.View, o orderapi.Order, token string, status int) {
	d := orderData{Order: newOrderView(o), Token: token, Reasons: returnReasons}
	if s.deps.Live != nil {
		d.Events = "/orders/" + url.PathEscape(o.ID) + "/events"
		if token != "" {
			d.Events += "?token=" + url.QueryEscape(token)
		}
	}
	titles := map[string]string{}
	for _, l := range o.Lines {
		titles[l.SKU] = l.Title
	}
	for _, t := range o.Timeline {
		// The note says what happened ("payment authorized"); the status
		// alone only where there is none.
		label := statusLabel(t.Status)
		if n := strings.TrimSpace(t.Note); n != "" {
			label = capitalize(n)
		}
		d.Timeline = append(d.Timeline, timelineRow{TimelineEntry: t, Label: label})
	}
	for _, rt := range o.Returns {
		d.Returns = append(d.Returns, returnRow{Return: rt, Label: returnLabel(rt.Status), Titles: titles})
	}
	if o.Status == orderapi.StatusShipped || o.Status == orderapi.StatusDelivered {
		left := returnable(o)
		for _, l := range o.Lines {
			if n := left[l.SKU]; n > 0 {
				d.Returnable = append(d.Returnable, returnLine{SKU: l.SKU, Title: l.Title, Max: n})
				left[l.SKU] = 0 // a SKU on two lines is offered once
			}
		}
		d.CanReturn = len(d.Returnable) > 0
	}
	if ctx, err := s.buyerContext(r); err == nil {
		d.Reviews = s.orderReviews(ctx, o, token)
		d.Invoices = s.orderInvoices(ctx, o, token)
	}
	v.Data = d
	s.kit.Render(w, r, status, "order", v)
}

// returnable is how many of each SKU of o may still be returned: what was
// ordered less what returns not rejected hold (the order service's rule).
func returnable(o orderapi.Order) map[string]int64 {
	left := map[string]int64{}
	for _, l := range o.Lines {
		left[l.SKU] += l.Quantity
	}
	for _, rt := range o.Returns {
		if rt.Status == orderapi.ReturnRejected {
			continue
		}
		for _, l := range rt.Lines {
			left[l.SKU] -= l.Quantity
		}
	}
	return left
}

// requestReturn asks the order service to take lines of a shipped or
// delivered order back, for the order's guest (the token the form
// carries) or customer. The form's Idempotency-Key makes a form sent
// twice one return.
func (s *Service) requestReturn(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	id, token := r.PathValue("id"), form.Get("token")
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	o, ok := s.buyersOrder(ctx, w, r, token)
	if !ok {
		return
	}
	in := orderapi.ReturnCreate{}
	fields := map[string]string{"lines": "lines", "reason": "details"}
	left := returnable(o)
	for _, l := range o.Lines {
		name := "qty_" + l.SKU
		raw := form.Get(name)
		if raw == "" || raw == "0" || left[l.SKU] <= 0 {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		switch {
		case err != nil || n < 0:
			form.Fail(name, "Enter a whole number.")
		case n > left[l.SKU]:
			form.Fail(name, "At most "+strconv.FormatInt(left[l.SKU], 10)+" can be returned.")
		default:
			fields["lines["+strconv.Itoa(len(in.Lines))+"].quantity"] = name
			in.Lines = append(in.Lines, orderapi.ReturnLineRequest{SKU: l.SKU, Quantity: n})
			left[l.SKU] = 0
		}
	}
	if len(in.Lines) == 0 && !form.Invalid() {
		form.Fail("lines", "Choose how many of which items to return.")
	}
	reason := form.Get("reason")
	label := ""
	for _, o := range returnReasons[1:] {
		if o.Value == reason {
			label = o.Label
		}
	}
	if label == "" {
		form.Fail("reason", "Choose a reason.")
	}
	details := form.Get("details")
	if len([]rune(details)) > 400 {
		form.Fail("details", "Please keep it under 400 characters.")
	}
	in.Reason = label
	if details != "" {
		in.Reason += ": " + details
	}
	status := http.StatusUnprocessableEntity
	if !form.Invalid() {
		_, err := s.deps.Orders.RequestReturn(ctx, id, token, in, form.Key())
		switch {
		case err == nil:
			s.kit.Redirect(w, r, orderURL(id, token), "Your return request was sent. We will tell you when the parcel has arrived.")
			return
		case errors.Is(err, orderapi.ErrNotFound):
			s.kit.NotFound(w, r)
			return
		case !form.Refused(err, fields):
			s.kit.Fail(w, r, err)
			return
		}
		var ae *apiclient.Error
		if errors.As(err, &ae) {
			status = ae.Status
		}
	}
	v := s.view(r, "Order "+orderRef(o.ID))
	v.Form = form
	s.renderOrder(w, r, v, o, token, status)
}
