package payment

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the payment service's authorization table: the staff roles
// that may call each operation, by huma OperationID; the platform enforces
// it (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. Authorizing is the checkout's step
// (the order service calls with the service token); moving money by hand
// (capture, void, refund) is for owners and managers; anyone on the staff,
// support included, may look.
var access = map[string][]auth.Role{
	"admin-authorize-payment": {},
	"admin-list-payments":     {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-audit-payments":    {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-get-payment":       {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-capture-payment":   {auth.RoleOwner, auth.RoleManager},
	"admin-void-payment":      {auth.RoleOwner, auth.RoleManager},
	"admin-refund-payment":    {auth.RoleOwner, auth.RoleManager},
}

// Routes registers the payment operations: the admin (service-to-service)
// API under /api/v1/admin/payments and the public provider webhooks.
func (s *Service) Routes(api *web.API) {
	api.Tag("payment admin", "Payments of orders: authorizations, captures, voids and refunds at the "+
		"payment provider. The order service drives them; staff read them and may act on one by hand.")
	api.Tag("payment", "The payment providers: which ones a checkout may use, and the webhooks they send "+
		"(signed, handled once per event).")
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"payment admin"}
		// A copy: web.Roles keeps the slice; none is the tokens' only.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-authorize-payment",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/payments",
		Summary:     "Authorize an order's payment",
		Description: "Idempotent on order_id: a repeat returns the first outcome. A decline is 402 " +
			"payment_declined (detail and errors[0].value: the reason); a provider timeout 504 payment_timeout " +
			"(the payment is failed and voided at the provider in case it went through).",
	}), ansDeclined, ansUnknownProvider, ansMismatch, ansKeyReused, ansConflict), s.authorize)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-list-payments",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/payments",
		Summary:     "List payments, newest first",
		Description: "The store's payments, newest first, a page at a time: pass next_cursor back as cursor.",
	}), ansInvalidCursor), s.list)
	huma.Register(api, adm(huma.Operation{
		OperationID: "admin-audit-payments",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/payments/audit",
		Summary:     "Count payments needing attention",
		Description: "For monitoring: payments authorized and neither captured nor voided, payments still pending, and " +
			"payments breaking 0 <= refunded <= captured <= amount (always 0).",
	}), s.audit)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-payment",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/payments/{order_id}",
		Summary:     "Get an order's payment",
		Description: "The payment of an order (one per order): its provider and reference, status, the amounts " +
			"authorized, captured and refunded, its refunds, and why it failed if it did.",
	}), ansPaymentNotFound), s.get)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-capture-payment",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/payments/{order_id}/capture",
		Summary:     "Capture (part of) an authorization",
		Description: "At most the authorized amount not yet captured (409 capture_exceeds_authorized). Idempotent by key.",
	}), ansPaymentNotFound, ansCaptureExceeds, ansInvalidState, ansDeclined, ansCurrencyMismatch, ansKeyReused, ansConflict), s.capture)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-void-payment",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/payments/{order_id}/void",
		Summary:     "Void an authorization",
		Description: "Idempotent. A failed or voided payment is returned unchanged; a pending one is voided before its authorization completes.",
	}), ansPaymentNotFound, ansInvalidState, ansConflict), s.void)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-refund-payment",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/payments/{order_id}/refunds",
		Summary:     "Refund (part of) a payment",
		Description: "Any amount up to captured minus refunded (409 refund_exceeds_captured, nothing written). Idempotent by key.",
	}), ansPaymentNotFound, ansRefundExceeds, ansInvalidState, ansDeclined, ansCurrencyMismatch, ansKeyReused, ansConflict), s.refund)
	huma.Register(api, web.Answers(web.Public(huma.Operation{
		OperationID: "payment-webhook",
		Method:      http.MethodPost,
		Path:        "/api/v1/payments/webhooks/{provider}",
		Summary:     "Receive a payment provider's webhook",
		Description: "The signature is verified (400 invalid_signature otherwise); events are handled once by ID.",
		Tags:        []string{"payment"},
	}), ansInvalidSignature, ansNoWebhookProvider), s.webhook)
	s.providerRoutes(api)
}

type orderPath struct {
	OrderID string `path:"order_id" maxLength:"100"`
}

type paymentOutput struct {
	Body paymentapi.Payment
}

func (s *Service) authorize(ctx context.Context, in *struct {
	Body paymentapi.AuthorizeRequest
}) (*paymentOutput, error) {
	p, err := s.Authorize(ctx, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) list(ctx context.Context, in *struct {
	Status string `query:"status" enum:"pending,authorized,failed,voided,captured,partially_captured,refunded,partially_refunded"`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 20; above 100 is capped."`
}) (*struct{ Body paymentapi.PaymentList }, error) {
	l, err := s.List(ctx, ListQuery{Status: paymentapi.Status(in.Status), Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body paymentapi.PaymentList }{Body: l}, nil
}

func (s *Service) audit(ctx context.Context, _ *struct{}) (*struct{ Body paymentapi.Audit }, error) {
	a, err := s.Audit(ctx)
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body paymentapi.Audit }{Body: a}, nil
}

func (s *Service) get(ctx context.Context, in *orderPath) (*paymentOutput, error) {
	p, err := s.Get(ctx, in.OrderID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) capture(ctx context.Context, in *struct {
	OrderID string `path:"order_id" maxLength:"100"`
	Body    paymentapi.CaptureRequest
}) (*paymentOutput, error) {
	p, err := s.Capture(ctx, in.OrderID, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) void(ctx context.Context, in *orderPath) (*paymentOutput, error) {
	p, err := s.Void(ctx, in.OrderID)
	if err != nil {
		return nil, s.problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) refund(ctx context.Context, in *struct {
	OrderID string `path:"order_id" maxLength:"100"`
	Body    paymentapi.RefundRequest
}) (*paymentOutput, error) {
	p, err := s.Refund(ctx, in.OrderID, in.Body)
	if err != nil {
		return nil, s.problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) webhook(ctx context.Context, in *struct {
	Provider        string `path:"provider" maxLength:"50"`
	Signature       string `header:"Mercato-Signature"`
	StripeSignature string `header:"Stripe-Signature"`
	RawBody         []byte
}) (*struct{}, error) {
	h := http.Header{}
	if in.Signature != "" {
		h.Set(FakeSignatureHeader, in.Signature)
	}
	if in.StripeSignature != "" {
		h.Set("Stripe-Signature", in.StripeSignature)
	}
	if err := s.HandleWebhook(ctx, in.Provider, in.RawBody, h); err != nil {
		return nil, s.problem(err)
	}
	return nil, nil
}

// The answers of payment operations beyond the platform's (see problem).
var (
	ansPaymentNotFound   = web.Answer{Status: http.StatusNotFound, Code: paymentapi.CodeNotFound, When: "the order has no payment"}
	ansDeclined          = web.Answer{Status: http.StatusPaymentRequired, Code: paymentapi.CodeDeclined, When: "the provider declined: detail and errors[0].value give its reason"}
	ansUnknownProvider   = web.Answer{Status: http.StatusUnprocessableEntity, Code: paymentapi.CodeUnknownProvider, When: "the provider is unknown or not enabled on this deployment"}
	ansCurrencyMismatch  = web.Answer{Status: http.StatusUnprocessableEntity, Code: paymentapi.CodeCurrencyMismatch, When: "the amount's currency differs from the payment's"}
	ansCaptureExceeds    = web.Answer{Status: http.StatusConflict, Code: paymentapi.CodeCaptureExceeds, When: "the amount is more than was authorized and not yet captured"}
	ansRefundExceeds     = web.Answer{Status: http.StatusConflict, Code: paymentapi.CodeRefundExceedsCaptured, When: "the amount is more than was captured and not yet refunded"}
	ansInvalidState      = web.Answer{Status: http.StatusConflict, Code: paymentapi.CodeInvalidState, When: "the payment's status does not allow this"}
	ansKeyReused         = web.Answer{Status: http.StatusConflict, Code: paymentapi.CodeKeyReused, When: "the key was used for another operation or amount"}
	ansMismatch          = web.Answer{Status: http.StatusConflict, Code: paymentapi.CodeOrderMismatch, When: "the order's payment was authorized for another amount"}
	ansInvalidSignature  = web.Answer{Status: http.StatusBadRequest, Code: paymentapi.CodeInvalidSignature, When: "the webhook's signature does not verify"}
	ansNoWebhookProvider = web.Answer{Status: http.StatusNotFound, Code: paymentapi.CodeUnknownProvider, When: "no provider of this name takes webhooks here"}
	ansInvalidCursor     = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
	ansConflict          = web.Answer{Status: http.StatusConflict, Code: web.CodeConflict, When: "the payment changed concurrently: send the request again"}
)

// problem maps a service error to its HTTP status and stable code: the one
// place that does. Anything else is returned as it is: the platform answers
// a bare 500 and logs the cause once, at the edge.
func (s *Service) problem(err error) error {
	var decl *DeclineError
	if errors.As(err, &decl) {
		return web.Error(http.StatusPaymentRequired, paymentapi.CodeDeclined, decl.Reason,
			web.Field("body.token", "payment declined", decl.Reason))
	}
	var ex *ExceedsError
	if errors.As(err, &ex) {
		if errors.Is(ex.Err, ErrRefundExceedsCaptured) {
			return web.Error(http.StatusConflict, paymentapi.CodeRefundExceedsCaptured,
				"the refund exceeds what was captured and not yet refunded",
				web.Field("body.amount.amount", "at most the available amount", ex.Available))
		}
		return web.Error(http.StatusConflict, paymentapi.CodeCaptureExceeds,
			"the capture exceeds what was authorized and not yet captured",
			web.Field("body.amount.amount", "at most the available amount", ex.Available))
	}
	switch {
	case errors.Is(err, ErrTimeout):
		return web.Error(http.StatusGatewayTimeout, paymentapi.CodeTimeout, "the payment provider did not answer in time")
	case errors.Is(err, ErrNotFound):
		return web.Error(http.StatusNotFound, paymentapi.CodeNotFound, "no payment for this order")
	case errors.Is(err, errNoWebhookProvider):
		return web.Error(http.StatusNotFound, paymentapi.CodeUnknownProvider, "no such payment provider here")
	case errors.Is(err, ErrInvalidSignature):
		return web.Error(http.StatusBadRequest, paymentapi.CodeInvalidSignature, "the webhook signature does not verify")
	case errors.Is(err, ErrUnknownProvider):
		return web.Error(http.StatusUnprocessableEntity, paymentapi.CodeUnknownProvider, "unknown or disabled payment provider",
			web.Field("body.provider", "unknown provider", nil))
	case errors.Is(err, ErrCurrencyMismatch):
		return web.Error(http.StatusUnprocessableEntity, paymentapi.CodeCurrencyMismatch, "the currency differs from the payment's",
			web.Field("body.amount.currency", "must be the payment's currency", nil))
	case errors.Is(err, ErrInvalid):
		return web.Error(http.StatusUnprocessableEntity, "validation_failed", invalidDetail(err))
	case errors.Is(err, ErrInvalidCursor):
		return web.Error(http.StatusUnprocessableEntity, "invalid_cursor", "the cursor is not one this list returned",
			web.Field("query.cursor", "invalid cursor", nil))
	case errors.Is(err, ErrInvalidState):
		return web.Error(http.StatusConflict, paymentapi.CodeInvalidState, "the payment's status does not allow this")
	case errors.Is(err, ErrKeyReused):
		return web.Error(http.StatusConflict, paymentapi.CodeKeyReused, "this key was used for another operation or amount")
	case errors.Is(err, ErrMismatch):
		return web.Error(http.StatusConflict, paymentapi.CodeOrderMismatch, "the order's payment was authorized for another amount")
	case errors.Is(err, ErrConflict):
		return web.Error(http.StatusConflict, web.CodeConflict, "the payment changed concurrently; retry")
	case errors.Is(err, ErrPending):
		return web.Error(http.StatusServiceUnavailable, "payment_pending", "the authorization is still in progress; retry")
	case errors.Is(err, ErrProvider):
		return web.Error(http.StatusBadGateway, paymentapi.CodeProviderError, "the payment provider failed; retry with the same key")
	case errors.Is(err, context.Canceled):
		return web.Error(499, "client_closed_request", "request canceled")
	}
	return err
}

// invalidDetail is the detail of an ErrInvalid for the API's users: what
// the sentinel was wrapped with ("amount must be positive"), without the
// operation and package prefixes around it.
func invalidDetail(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ErrInvalid.Error()+": "); i >= 0 {
		return "the request is invalid: " + msg[i+len(ErrInvalid.Error())+2:]
	}
	return "the request is invalid"
}
