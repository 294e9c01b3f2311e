package payment

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// keyRecorder records the Idempotency-Key of every request to Stripe.
type keyRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	k.mu.Lock()
	k.keys = append(k.keys, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key"))
	k.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestStripeAgainstMock runs the Stripe provider against stripe-mock. The
// mock answers canned objects (statuses do not move, amounts are not
// checked), so this proves the requests are well-formed and accepted, the
// idempotency keys are sent, and errors are mapped; not Stripe's rules.
func TestStripeAgainstMock(t *testing.T) {
	url := os.Getenv("MERCATO_TEST_STRIPE")
	if url == "" {
		t.Skip("MERCATO_TEST_STRIPE is not set")
	}
	rec := &keyRecorder{}
	s := NewStripe("sk_test_123", url, "whsec_stripe", &http.Client{Transport: rec, Timeout: 10 * time.Second})
	ctx := context.Background()
	res, err := s.Authorize(ctx, AuthRequest{Amount: eur(2000), Token: "pm_card_visa", Email: "a@example.com", IdempotencyKey: "k-auth", OrderID: "o-1"})
	if err != nil || !strings.HasPrefix(res.Ref, "pi_") {
		t.Fatalf("authorize: %+v, %v", res, err)
	}
	if err := s.Capture(ctx, res.Ref, eur(1500), "k-cap"); err != nil {
		t.Fatalf("capture: %v", err)
	}
	rr, err := s.Refund(ctx, res.Ref, eur(500), "k-ref")
	if err != nil || !strings.HasPrefix(string(rr), "re_") {
		t.Fatalf("refund: %q, %v", rr, err)
	}
	if err := s.Void(ctx, res.Ref, "k-void"); err != nil {
		t.Fatalf("void: %v", err)
	}
	want := []string{
		"POST /v1/payment_intents k-auth",
		"POST /v1/payment_intents/" + res.Ref + "/capture k-cap",
		"POST /v1/refunds k-ref",
		"POST /v1/payment_intents/" + res.Ref + "/cancel k-void",
	}
	if strings.Join(rec.keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(rec.keys, "\n"), strings.Join(want, "\n"))
	}
	// Nothing listens here: an unknown outcome, not a decline.
	dead := NewStripe("sk_test_123", "http://127.0.0.1:1", "", &http.Client{Timeout: time.Second})
	if _, err := dead.Authorize(ctx, AuthRequest{Amount: eur(1), Token: "pm_card_visa", IdempotencyKey: "k"}); err == nil || isDecline(err) || !errors.Is(err, ErrProvider) {
		t.Errorf("unreachable stripe: %v", err)
	}
}

func TestStripeWebhookSignature(t *testing.T) {
	s := NewStripe("sk_test_123", "", "whsec_stripe", nil)
	body := []byte(`{"id":"evt_1","object":"event","api_version":"2020-08-27","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount_refunded":700}}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_stripe", Timestamp: time.Now()})
	h := http.Header{}
	h.Set("Stripe-Signature", signed.Header)
	ev, err := s.VerifyWebhook(body, h)
	if err != nil || ev.Kind != EventRefunded || ev.Ref != "pi_1" || ev.RefundedTotal != 700 {
		t.Fatalf("valid: %+v, %v", ev, err)
	}
	for name, tc := range map[string]struct {
		body   []byte
		secret string
		at     time.Time
	}{
		"tampered":      {[]byte(strings.Replace(string(body), "700", "900", 1)), "whsec_stripe", time.Now()},
		"wrong secret":  {body, "whsec_other", time.Now()},
		"old timestamp": {body, "whsec_stripe", time.Now().Add(-10 * time.Minute)},
	} {
		sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: tc.secret, Timestamp: tc.at})
		h := http.Header{}
		h.Set("Stripe-Signature", sig.Header)
		if _, err := s.VerifyWebhook(tc.body, h); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: %v, want ErrInvalidSignature", name, err)
		}
	}
}

// TestStripeErrorMapping covers what stripe-mock cannot produce: card
// declines and Stripe's refusals are definite (*DeclineError); its own
// failures leave the outcome unknown.
func TestStripeErrorMapping(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err    *stripe.Error
		reason string // "" means not a decline
	}{
		{&stripe.Error{Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "insufficient_funds"}, "insufficient_funds"},
		{&stripe.Error{Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline"}, "declined"},
		{&stripe.Error{Type: stripe.ErrorTypeCard, Code: "expired_card"}, "expired_card"},
		{&stripe.Error{Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "payment_method"}, "invalid_token"},
		{&stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusConflict}, ""},
		{&stripe.Error{Type: stripe.ErrorTypeAPI}, ""},
	} {
		err := stripeError(ctx, tc.err)
		var d *DeclineError
		if got := errors.As(err, &d); got != (tc.reason != "") || (got && d.Reason != tc.reason) {
			t.Errorf("%+v: got %v, want reason %q", tc.err, err, tc.reason)
		}
	}
}
