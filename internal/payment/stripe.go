package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/mercato/mercato/internal/platform/money"
)

// Stripe is the Stripe provider: an authorization is a PaymentIntent with
// manual capture, created and confirmed in one call with the checkout's
// payment method; capture, cancel (void) and refunds act on it. Every call
// sends the service's idempotency key as Stripe's Idempotency-Key.
//
// Stripe captures once by default: the first capture is final and releases
// the rest of the authorization, so a second partial capture is declined.
type Stripe struct {
	client *stripe.Client
	secret string
}

// NewStripe returns the Stripe provider with the secret API key, the API
// base URL (empty for api.stripe.com; stripe-mock in tests), the webhook
// signing secret and the HTTP client (its timeout bounds a call).
func NewStripe(key, baseURL, webhookSecret string, hc *http.Client) *Stripe {
	cfg := &stripe.BackendConfig{
		HTTPClient: hc,
		// Retries happen in the service, with the same idempotency key.
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if baseURL != "" {
		cfg.URL = stripe.String(strings.TrimSuffix(baseURL, "/"))
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	c := stripe.NewClient(key, stripe.WithBackends(&stripe.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
	return &Stripe{client: c, secret: webhookSecret}
}

// Authorize implements Provider.
func (s *Stripe) Authorize(ctx context.Context, req AuthRequest) (AuthResult, error) {
	p := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(req.Amount.Amount),
		Currency:           stripe.String(strings.ToLower(req.Amount.Currency)),
		CaptureMethod:      stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
		Confirm:            stripe.Bool(true),
		PaymentMethod:      stripe.String(req.Token),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Metadata:           map[string]string{"order_id": req.OrderID},
	}
	if req.Email != "" {
		p.ReceiptEmail = stripe.String(req.Email)
	}
	p.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := s.client.V1PaymentIntents.Create(ctx, p)
	if err != nil {
		return AuthResult{}, stripeError(ctx, err)
	}
	if pi.Status == stripe.PaymentIntentStatusRequiresAction {
		// 3-D Secure: not supported by this server-side flow; release it.
		return AuthResult{Ref: pi.ID}, &DeclineError{Reason: "authentication_required"}
	}
	return AuthResult{Ref: pi.ID}, nil
}

// Capture implements Provider.
func (s *Stripe) Capture(ctx context.Context, ref string, amount money.Money, key string) error {
	p := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amount.Amount)}
	p.SetIdempotencyKey(key)
	_, err := s.client.V1PaymentIntents.Capture(ctx, ref, p)
	return stripeError(ctx, err)
}

// Void implements Provider.
func (s *Stripe) Void(ctx context.Context, ref, key string) error {
	p := &stripe.PaymentIntentCancelParams{}
	p.SetIdempotencyKey(key)
	_, err := s.client.V1PaymentIntents.Cancel(ctx, ref, p)
	return stripeError(ctx, err)
}

// Refund implements Provider.
func (s *Stripe) Refund(ctx context.Context, ref string, amount money.Money, key string) (RefundRef, error) {
	p := &stripe.RefundCreateParams{PaymentIntent: stripe.String(ref), Amount: stripe.Int64(amount.Amount)}
	p.SetIdempotencyKey(key)
	r, err := s.client.V1Refunds.Create(ctx, p)
	if err != nil {
		return "", stripeError(ctx, err)
	}
	return RefundRef(r.ID), nil
}

// stripeError maps Stripe's errors: a card error or a request Stripe
// refuses is a *DeclineError (definite: nothing happened); a timeout is
// ErrTimeout; anything else (network, Stripe's 5xx, rate limits) is an
// unknown outcome.
func stripeError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		switch se.Type {
		case stripe.ErrorTypeCard:
			reason := string(se.DeclineCode)
			if reason == "" || reason == "generic_decline" {
				reason = string(se.Code)
			}
			if reason == "" || reason == "card_declined" {
				reason = "declined"
			}
			return &DeclineError{Reason: reason}
		case stripe.ErrorTypeInvalidRequest:
			if se.HTTPStatusCode == http.StatusConflict {
				// An idempotent request still in flight at Stripe.
				return fmt.Errorf("%w: stripe: %s", ErrProvider, se.Msg)
			}
			if se.Code == stripe.ErrorCodeResourceMissing && se.Param == "payment_method" {
				return &DeclineError{Reason: "invalid_token"}
			}
			reason := string(se.Code)
			if reason == "" {
				reason = "invalid_request"
			}
			return &DeclineError{Reason: reason}
		}
		return fmt.Errorf("%w: stripe %s: %s", ErrProvider, se.Type, se.Msg)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: stripe: %w", ErrProvider, err)
}

// VerifyWebhook implements Provider with stripe-go's webhook package: the
// Stripe-Signature header, HMAC-SHA256 with the endpoint's secret, five
// minutes of tolerance. The event's API version is not required to match
// the library's: only a few stable fields are read.
func (s *Stripe) VerifyWebhook(payload []byte, header http.Header) (Event, error) {
	if s.secret == "" {
		return Event{}, fmt.Errorf("%w: no stripe webhook secret configured", ErrInvalidSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header.Get("Stripe-Signature"), s.secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	e := Event{ID: ev.ID, Type: string(ev.Type), Kind: EventOther}
	if ev.Data == nil {
		return e, nil
	}
	switch ev.Type {
	case "charge.refunded":
		var ch struct {
			PaymentIntent  json.RawMessage `json:"payment_intent"`
			AmountRefunded int64           `json:"amount_refunded"`
		}
		if err := json.Unmarshal(ev.Data.Raw, &ch); err == nil {
			if id, ok := stripe.ParseID(ch.PaymentIntent); ok {
				e.Ref = id
			} else {
				var pi struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(ch.PaymentIntent, &pi)
				e.Ref = pi.ID
			}
			e.Kind, e.RefundedTotal = EventRefunded, ch.AmountRefunded
		}
	case "payment_intent.canceled":
		var pi struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(ev.Data.Raw, &pi); err == nil {
			e.Kind, e.Ref = EventVoided, pi.ID
		}
	}
	return e, nil
}
