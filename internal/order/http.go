package order

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the order service's authorization table: the staff roles that
// may call each admin operation, by huma OperationID; the platform
// enforces it (web.Roles), and the admin and service tokens may call them
// all, a secret API key what a manager may. Anyone on the staff, support
// included, may look at orders; staff run the day-to-day (ship, track,
// cancel before shipping, receive or reject returns); giving money back by
// hand is for owners and managers. Checkout and the customer's operations
// are public: the order token or the customer's own access token is the
// key (see owned).
var access = map[string][]auth.Role{
	"admin-list-orders":    {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-get-order":      {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-ship-order":     {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-track-shipment": {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-cancel-order":   {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-receive-return": {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-reject-return":  {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-refund-order":   {auth.RoleOwner, auth.RoleManager},
}

// Routes registers the order operations: checkout, the order operations of
// its guest (the order token as key) or customer (their access token), a
// customer's order list, and the admin lifecycle under
// /api/v1/admin/orders (the roles in access, enforced by the platform).
func (s *Service) Routes(api *web.API) {
	// Orders are unique per Idempotency-Key (with the request's hash), so a
	// retried checkout finds its order here, token included: the platform
	// need not keep a second copy of the answer.
	api.OwnsIdempotency(http.MethodPost, "/api/v1/checkout")
	api.Tag("orders", "Checkout and the buyer's side of an order: reading it, cancelling it before it ships, "+
		"asking for a return. A guest proves the order is theirs with the order token from checkout; a "+
		"signed-in customer with their access token.")
	api.Tag("orders admin", "Orders as staff run them: shipments (the first captures the payment), tracking, "+
		"cancellations, refunds and returns.")
	// A customer's access token makes the order theirs (checkout) or
	// proves it is (instead of the order token).
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"orders"}
		return web.Public(op, web.CustomerToken)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"orders admin"}
		// A copy: web.Roles keeps the slice.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "checkout", Method: http.MethodPost, Path: "/api/v1/checkout", DefaultStatus: http.StatusCreated,
		Summary: "Place an order",
		Description: "Prices the cart or items, reserves the stock, authorizes the payment and confirms the order. " +
			"Idempotency-Key is required: a retry with the same key and body returns the same order (or the same " +
			"failure), never a second order or charge. The answer carries the guest's secret order token, shown only " +
			"here. Failures: 409 out_of_stock (errors[0].value names the SKU), 402 payment_declined, 504 " +
			"payment_timeout (payment voided, order cancelled), 409 coupon_exhausted, 422 for bad input (pricing's " +
			"codes such as unknown_sku or coupon_expired passed on), 428 idempotency_key_required. With a " +
			"customer's access token the order is the customer's (customer_id): listed in /api/v1/me/orders, " +
			"readable with that token.",
	}), ansOutOfStock, ansDeclined, ansCouponExhausted, ansReservationExpired, ansCartCheckedOut, ansKeyRequired, ansKeyReused, ansCheckoutInProgress, ansPricingRefused), s.checkout)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "get-order", Method: http.MethodGet, Path: "/api/v1/orders/{id}",
		Summary: "Get an order with its token, or as its customer",
		Description: "The order token from checkout goes in ?token= or the X-Order-Token header; the customer the order " +
			"belongs to may instead send their access token. For anyone else the order is not found.",
	}), ansOrderNotFound), s.getGuestOrder)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "cancel-order", Method: http.MethodPost, Path: "/api/v1/orders/{id}/cancel",
		Summary: "Cancel a confirmed, unshipped order (with the order token, or as its customer)",
		Description: "Cancels an order that is confirmed and not shipped yet: the stock is given back and the payment " +
			"voided. The guest sends the order token (?token= or X-Order-Token); the customer the order belongs to " +
			"may send their access token instead. A shipped order cannot be cancelled (409 invalid_transition): " +
			"request a return.",
	}), ansOrderNotFound, ansTransition, ansConflict), s.guestCancel)
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "request-return", Method: http.MethodPost, Path: "/api/v1/orders/{id}/returns", DefaultStatus: http.StatusCreated,
		Summary: "Ask to return lines of a shipped order (with the order token, or as its customer)",
		Description: "Asks to return lines (and quantities) of a shipped or delivered order; staff then receive or reject " +
			"it. The guest sends the order token; the customer the order belongs to may send their access token " +
			"instead. A line cannot be returned more often than it was shipped (422 return_exceeds_shipped). " +
			"An Idempotency-Key makes the request once, for a guest too: the same key again answers the order as it " +
			"is (422 idempotency_key_reused with other lines or reason).",
	}), ansOrderNotFound, ansTransition, ansReturnExceeds, ansKeyReused, ansConflict), s.requestReturn)
	huma.Register(api, web.Answers(web.Customers(huma.Operation{
		Tags:        []string{"orders"},
		OperationID: "list-my-orders", Method: http.MethodGet, Path: "/api/v1/me/orders",
		Summary: "The signed-in customer's orders, newest first",
		Description: "Needs a customer's access token (401 without credentials, 403 for any other kind of caller). " +
			"Orders placed signed in, and guest orders with the account's email, claimed once the customer verified that address. " +
			"A page at a time: pass next_cursor back as cursor. Listed orders carry no shipments or returns.",
	}), ansInvalidCursor), s.myOrders)

	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-list-orders", Method: http.MethodGet, Path: "/api/v1/admin/orders",
		Summary: "List orders, newest first", Description: "Listed orders carry no shipments or returns; get one order for those.",
	}), ansInvalidCursor), s.adminList)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-order", Method: http.MethodGet, Path: "/api/v1/admin/orders/{id}", Summary: "Get an order",
		Description: "The order with its lines, totals, payment state, shipments, returns and timeline.",
	}), ansOrderNotFound), s.adminGet)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-ship-order", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/shipments", DefaultStatus: http.StatusCreated,
		Summary: "Record a shipment", Description: "The first shipment captures the payment and makes the order shipped.",
	}), ansOrderNotFound, ansTransition, ansCaptureFailed, ansConflict), s.ship)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-track-shipment", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/shipments/{sid}/events",
		Summary: "Add a tracking event", Description: "in_transit, then delivered; the order is delivered when all its shipments are.",
	}), ansOrderNotFound, ansShipmentNotFound, ansTransition, ansConflict), s.track)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-cancel-order", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/cancel",
		Summary: "Cancel a confirmed, unshipped order", Description: "Gives the stock back and voids the payment.",
	}), ansOrderNotFound, ansTransition, ansConflict), s.adminCancel)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-refund-order", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/refunds",
		Summary: "Refund part of what was captured", Description: "At most captured − refunded (409 refund_exceeds_captured); key makes it idempotent.",
	}), ansOrderNotFound, ansRefundExceeds, ansRefundDeclined, ansRefundKeyReused, ansTransition, ansConflict), s.refund)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-receive-return", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/returns/{rid}/receive",
		Summary: "Receive a return: restock chosen lines and refund",
		Description: "Marks a requested return received: the SKUs in restock (by default every returned line) go back " +
			"into stock, and refund (by default the returned lines' totals, plus shipping with include_shipping) " +
			"is paid back. A return that is no longer requested answers 409 invalid_transition.",
	}), ansOrderNotFound, ansReturnNotFound, ansTransition, ansRefundExceeds, ansRefundDeclined, ansRefundKeyReused, ansConflict), s.receiveReturn)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-reject-return", Method: http.MethodPost, Path: "/api/v1/admin/orders/{id}/returns/{rid}/reject",
		Summary:     "Reject a requested return",
		Description: "Refuses a requested return: nothing is restocked or refunded; the order's timeline records the rejection.",
	}), ansOrderNotFound, ansReturnNotFound, ansTransition, ansConflict), s.rejectReturn)
}

type orderOutput struct {
	Body orderapi.Order
}

type createdOutput struct {
	Location string `header:"Location"`
	Body     orderapi.Order
}

type orderPath struct {
	ID string `path:"id" maxLength:"100"`
}

type guestInput struct {
	ID          string `path:"id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
}

func (in *guestInput) token() string {
	if in.HeaderToken != "" {
		return in.HeaderToken
	}
	return in.Token
}

func (s *Service) checkout(ctx context.Context, in *struct {
	Key  string `header:"Idempotency-Key" maxLength:"255" doc:"Required: the same key returns the same order."`
	Body orderapi.CheckoutRequest
}) (*createdOutput, error) {
	o, err := s.Checkout(ctx, strings.TrimSpace(in.Key), in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &createdOutput{Location: "/api/v1/orders/" + o.ID, Body: o}, nil
}

func (s *Service) getGuestOrder(ctx context.Context, in *guestInput) (*orderOutput, error) {
	o, err := s.GuestOrder(ctx, in.ID, in.token())
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) guestCancel(ctx context.Context, in *guestInput) (*orderOutput, error) {
	o, err := s.GuestCancel(ctx, in.ID, in.token())
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

// returnInput repeats guestInput's fields: huma leaves parameters of an
// embedded struct empty.
type returnInput struct {
	ID          string `path:"id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
	Key         string `header:"Idempotency-Key" maxLength:"255" doc:"Optional: the same key again on this order answers the order as it is, without a second return."`
	Body        orderapi.ReturnCreate
}

func (s *Service) requestReturn(ctx context.Context, in *returnInput) (*orderOutput, error) {
	g := guestInput{ID: in.ID, Token: in.Token, HeaderToken: in.HeaderToken}
	o, err := s.RequestReturnOnce(ctx, in.ID, g.token(), strings.TrimSpace(in.Key), in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) myOrders(ctx context.Context, in *struct {
	Cursor string `query:"cursor" maxLength:"300"`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 20, capped at the maximum (100)."`
}) (*struct{ Body orderapi.OrderList }, error) {
	l, err := s.CustomerOrders(ctx, in.Cursor, in.Limit)
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body orderapi.OrderList }{Body: l}, nil
}

func (s *Service) adminList(ctx context.Context, in *struct {
	Status      string    `query:"status" enum:"pending,stock_reserved,payment_authorized,confirmed,shipping,shipped,delivered,cancelling,cancelled"`
	Email       string    `query:"email" maxLength:"254"`
	CreatedFrom time.Time `query:"created_from" doc:"Orders created at or after (RFC 3339)."`
	CreatedTo   time.Time `query:"created_to" doc:"Orders created before (RFC 3339)."`
	Cursor      string    `query:"cursor" maxLength:"300"`
	Limit       int       `query:"limit" minimum:"1" doc:"Page size: default 20, capped at the maximum (100)."`
}) (*struct{ Body orderapi.OrderList }, error) {
	l, err := s.List(ctx, ListQuery{Status: orderapi.Status(in.Status), Email: in.Email, CreatedFrom: in.CreatedFrom,
		CreatedTo: in.CreatedTo, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body orderapi.OrderList }{Body: l}, nil
}

func (s *Service) adminGet(ctx context.Context, in *orderPath) (*orderOutput, error) {
	o, err := s.Order(ctx, in.ID)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) ship(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body orderapi.ShipmentCreate
}) (*orderOutput, error) {
	o, err := s.Ship(ctx, in.ID, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) track(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	SID  string `path:"sid" maxLength:"100"`
	Body orderapi.TrackingUpdate
}) (*orderOutput, error) {
	o, err := s.Track(ctx, in.ID, in.SID, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) adminCancel(ctx context.Context, in *orderPath) (*orderOutput, error) {
	o, err := s.Cancel(ctx, in.ID)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) refund(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body orderapi.RefundCreate
}) (*orderOutput, error) {
	o, err := s.Refund(ctx, in.ID, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) receiveReturn(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	RID  string `path:"rid" maxLength:"100"`
	Body orderapi.ReturnReceive
}) (*orderOutput, error) {
	o, err := s.ReceiveReturn(ctx, in.ID, in.RID, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

func (s *Service) rejectReturn(ctx context.Context, in *struct {
	ID  string `path:"id" maxLength:"100"`
	RID string `path:"rid" maxLength:"100"`
}) (*orderOutput, error) {
	o, err := s.RejectReturn(ctx, in.ID, in.RID)
	if err != nil {
		return nil, toProblem(err)
	}
	return &orderOutput{Body: o}, nil
}

// The answers of order operations beyond the platform's (see problems).
var (
	ansOrderNotFound      = web.Answer{Status: http.StatusNotFound, Code: "order_not_found", When: "the store has no such order, or the caller may not see it (a wrong order token)"}
	ansShipmentNotFound   = web.Answer{Status: http.StatusNotFound, Code: "shipment_not_found", When: "the order has no such shipment"}
	ansReturnNotFound     = web.Answer{Status: http.StatusNotFound, Code: "return_not_found", When: "the order has no such return"}
	ansTransition         = web.Answer{Status: http.StatusConflict, Code: "invalid_transition", When: "the order (or return, or shipment) is not in a state that allows this"}
	ansCaptureFailed      = web.Answer{Status: http.StatusConflict, Code: "capture_failed", When: "the payment could not be captured: the shipment was not recorded and the order was cancelled (stock restocked, authorization released)"}
	ansRefundDeclined     = web.Answer{Status: http.StatusConflict, Code: "refund_declined", When: "the payment provider declined the refund; nothing was refunded"}
	ansRefundKeyReused    = web.Answer{Status: http.StatusConflict, Code: "refund_key_reused", When: "the refund key was used for another amount: use a new key for a new refund"}
	ansRefundExceeds      = web.Answer{Status: http.StatusConflict, Code: "refund_exceeds_captured", When: "the refund is more than was captured and not yet refunded"}
	ansOutOfStock         = web.Answer{Status: http.StatusConflict, Code: "out_of_stock", When: "a line is out of stock: errors[0].value names the SKU; nothing was charged"}
	ansDeclined           = web.Answer{Status: http.StatusPaymentRequired, Code: "payment_declined", When: "the payment provider declined the payment; the order is cancelled"}
	ansCouponExhausted    = web.Answer{Status: http.StatusConflict, Code: "coupon_exhausted", When: "the coupon has no use left"}
	ansReservationExpired = web.Answer{Status: http.StatusConflict, Code: "reservation_expired", When: "the stock reservation expired before the order was confirmed; nothing was charged"}
	ansCartCheckedOut     = web.Answer{Status: http.StatusConflict, Code: "cart_checked_out", When: "the cart was checked out already (by another Idempotency-Key)"}
	ansKeyRequired        = web.Answer{Status: http.StatusPreconditionRequired, Code: "idempotency_key_required", When: "no Idempotency-Key header was sent"}
	ansKeyReused          = web.Answer{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", When: "the Idempotency-Key was used with a different request"}
	ansCheckoutInProgress = web.Answer{Status: http.StatusConflict, Code: "checkout_in_progress", When: "a checkout with the same Idempotency-Key is still running; retry shortly for its outcome"}
	ansPricingRefused     = web.Answer{Status: http.StatusUnprocessableEntity, When: "the checkout cannot be valid and nothing was written: the cart, items, coupon, address, shipping method or provider are refused with their code (cart_not_found, cart_empty, sku_unavailable, sku_not_stockable, currency_mismatch, unknown_provider, and pricing's: unknown_sku, coupon_expired, unknown_shipping_method…)"}
	ansReturnExceeds      = web.Answer{Status: http.StatusUnprocessableEntity, Code: "return_exceeds_shipped", When: "a line asks to return more than was shipped and not yet returned"}
	ansInvalidCursor      = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
	ansConflict           = web.Answer{Status: http.StatusConflict, Code: web.CodeConflict, When: "the order changed concurrently: send the request again"}
)

// problems maps the service's errors to their HTTP status and stable code;
// toProblem adds the answers that need an error's data. Anything else goes
// to the platform as a bare 500 (the cause logged on the request's
// access-log line, never shown).
var problems = kit.Problems{
	{Err: ErrPaymentTimeout, Status: http.StatusGatewayTimeout, Code: "payment_timeout", Detail: "the payment provider did not answer in time; nothing was charged and the order was cancelled"},
	{Err: ErrReservationExpired, Status: http.StatusConflict, Code: "reservation_expired", Detail: "the stock reservation expired before the order was confirmed; nothing was charged"},
	{Err: ErrInterrupted, Status: http.StatusServiceUnavailable, Code: "checkout_interrupted", Detail: "the checkout was interrupted and cancelled; nothing was charged; retry with a new Idempotency-Key"},
	{Err: ErrIdempotencyKeyRequired, Status: http.StatusPreconditionRequired, Code: "idempotency_key_required", Detail: "checkout needs an Idempotency-Key header"},
	{Err: ErrIdempotencyKeyReused, Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Detail: "this Idempotency-Key was used with a different request"},
	{Err: ErrInProgress, Status: http.StatusConflict, Code: "checkout_in_progress", Detail: "a checkout with this Idempotency-Key is still in progress; retry shortly"},
	{Err: ErrCartCheckedOut, Status: http.StatusConflict, Code: "cart_checked_out", Detail: "the cart was already checked out"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "order_not_found", Detail: "no such order"},
	{Err: ErrShipmentNotFound, Status: http.StatusNotFound, Code: "shipment_not_found", Detail: "no such shipment"},
	{Err: ErrReturnNotFound, Status: http.StatusNotFound, Code: "return_not_found", Detail: "no such return"},
	{Err: ErrTransition, Status: http.StatusConflict, Code: "invalid_transition", Detail: "the order's status does not allow this"},
	{Err: ErrRefundExceedsCaptured, Status: http.StatusConflict, Code: "refund_exceeds_captured", Detail: "the refund is more than was captured and not yet refunded"},
	{Err: ErrCaptureFailed, Status: http.StatusConflict, Code: "capture_failed", Detail: "the payment could not be captured; the shipment was not recorded"},
	{Err: ErrSignInRequired, Status: http.StatusUnauthorized, Code: "unauthorized", Detail: "sign in: a customer's access token of this store is required"},
	{Err: ErrNotCustomer, Status: http.StatusForbidden, Code: "forbidden", Detail: "only a signed-in customer has orders"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "the order changed concurrently; retry"},
	{Err: ErrUnavailable, Status: http.StatusServiceUnavailable, Code: "service_unavailable", Detail: "a service the order depends on is unavailable; retry shortly"},
}

// toProblem is the HTTP answer for a service error: the errors whose answer
// carries their data (a SKU, a reason, a detail, a field) here, the rest
// by problems.
func toProblem(err error) error {
	var oos *OutOfStockError
	var de *DeclinedError
	var cf *CaptureFailedError
	var rd *RefundDeclinedError
	var te *TransitionError
	switch {
	case errors.As(err, &oos):
		return web.Error(http.StatusConflict, "out_of_stock", "not enough stock of "+oos.SKU,
			web.Field("body.items", "out of stock", oos.SKU))
	case errors.As(err, &de):
		return web.Error(http.StatusPaymentRequired, "payment_declined", "the payment was declined: "+de.Reason,
			web.Field("body.payment.token", "declined", de.Reason))
	case errors.Is(err, ErrCouponExhausted):
		return web.Error(http.StatusConflict, "coupon_exhausted", "the coupon has no use left", web.Field("body.coupon", "exhausted", nil))
	case errors.As(err, &te):
		return web.Error(http.StatusConflict, "invalid_transition", te.Detail)
	case errors.Is(err, ErrRefundKeyReused):
		return web.Error(http.StatusConflict, "refund_key_reused", "this refund key was used for another amount; use a new key for a new refund",
			web.Field("body.key", "used for another amount", nil))
	case errors.As(err, &cf):
		return web.Error(http.StatusConflict, "capture_failed", "the payment could not be captured ("+cf.Reason+
			"); the shipment was not recorded and the order was cancelled: its stock restocked, its authorization released")
	case errors.As(err, &rd):
		return web.Error(http.StatusConflict, "refund_declined", "the refund was declined ("+rd.Reason+"); nothing was refunded")
	}
	return problems.Map(err)
}
