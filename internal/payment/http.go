package payment

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
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
		return nil, problem(err)
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
		return nil, problem(err)
	}
	return &struct{ Body paymentapi.PaymentList }{Body: l}, nil
}

func (s *Service) audit(ctx context.Context, _ *struct{}) (*struct{ Body paymentapi.Audit }, error) {
	a, err := s.Audit(ctx)
	if err != nil {
		return nil, problem(err)
	}
	return &struct{ Body paymentapi.Audit }{Body: a}, nil
}

func (s *Service) get(ctx context.Context, in *orderPath) (*paymentOutput, error) {
	p, err := s.Get(ctx, in.OrderID)
	if err != nil {
		return nil, problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) capture(ctx context.Context, in *struct {
	OrderID string `path:"order_id" maxLength:"100"`
	Body    paymentapi.CaptureRequest
}) (*paymentOutput, error) {
	p, err := s.Capture(ctx, in.OrderID, in.Body)
	if err != nil {
		return nil, problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) void(ctx context.Context, in *orderPath) (*paymentOutput, error) {
	p, err := s.Void(ctx, in.OrderID)
	if err != nil {
		return nil, problem(err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Service) refund(ctx context.Context, in *struct {
	OrderID string `path:"order_id" maxLength:"100"`
	Body    paymentapi.RefundRequest
}) (*paymentOutput, error) {
	p, err := s.Refund(ctx, in.OrderID, in.Body)
	if err != nil {
		return nil, problem(err)
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
		return nil, problem(err)
	}
	return nil, nil
}

// The answers of payment operations beyond the platform's (see problems).
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

// problems maps the service's errors to HTTP answers: the one place that
// does, with problem for the answers that need the error's data. Anything
// else is returned as it is: the platform answers a bare 500 and logs the
// cause once, at the edge.
var problems = kit.Problems{
	{Err: ErrTimeout, Status: http.StatusGatewayTimeout, Code: paymentapi.CodeTimeout, Detail: "the payment provider did not answer in time"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: paymentapi.CodeNotFound, Detail: "no payment for this order"},
	{Err: errNoWebhookProvider, Status: http.StatusNotFound, Code: paymentapi.CodeUnknownProvider, Detail: "no such payment provider here"},
	{Err: ErrInvalidSignature, Status: http.StatusBadRequest, Code: paymentapi.CodeInvalidSignature, Detail: "the webhook signature does not verify"},
	{Err: ErrInvalidState, Status: http.StatusConflict, Code: paymentapi.CodeInvalidState, Detail: "the payment's status does not allow this"},
	{Err: ErrKeyReused, Status: http.StatusConflict, Code: paymentapi.CodeKeyReused, Detail: "this key was used for another operation or amount"},
	{Err: ErrMismatch, Status: http.StatusConflict, Code: paymentapi.CodeOrderMismatch, Detail: "the order's payment was authorized for another amount"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "the payment changed concurrently; retry"},
	{Err: ErrPending, Status: http.StatusServiceUnavailable, Code: "payment_pending", Detail: "the authorization is still in progress; retry"},
	{Err: ErrProvider, Status: http.StatusBadGateway, Code: paymentapi.CodeProviderError, Detail: "the payment provider failed; retry with the same key"},
}

// problem is problems.Map for the errors whose answer needs their data
// (a decline's reason, the amount still available, the detail ErrInvalid
// was wrapped with) or names a field with a message of its own.
func problem(err error) error {
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
	case errors.Is(err, ErrUnknownProvider):
		return web.Error(http.StatusUnprocessableEntity, paymentapi.CodeUnknownProvider, "unknown or disabled payment provider",
			web.Field("body.provider", "unknown provider", nil))
	case errors.Is(err, ErrCurrencyMismatch):
		return web.Error(http.StatusUnprocessableEntity, paymentapi.CodeCurrencyMismatch, "the currency differs from the payment's",
			web.Field("body.amount.currency", "must be the payment's currency", nil))
	case errors.Is(err, ErrInvalid):
		return web.Error(http.StatusUnprocessableEntity, "validation_failed", invalidDetail(err))
	}
	return problems.Map(err)
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
