package payment

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// adminTransport adds the admin token, as the platform's clients do.
type adminTransport struct{}

func (adminTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	return http.DefaultTransport.RoundTrip(r)
}

func TestClientContract(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, _, _ := newTestService(t, db)
		srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
		c := paymentapi.NewClient(srv.URL, &http.Client{Transport: adminTransport{}, Timeout: 10 * time.Second})
		ctx := tctx(t)

		p, err := c.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-http", Amount: eur(5000), Token: TokenVisa})
		if err != nil || p.Status != paymentapi.StatusAuthorized {
			t.Fatalf("authorize: %+v, %v", p, err)
		}
		if again, err := c.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-http", Amount: eur(5000), Token: TokenVisa}); err != nil || again.ID != p.ID {
			t.Fatalf("repeat authorize: %+v, %v", again, err)
		}
		_, err = c.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-poor", Amount: eur(5000), Token: TokenInsufficientFunds})
		var d *paymentapi.DeclinedError
		if !errors.As(err, &d) || d.Reason != "insufficient_funds" || d.Error() != "payment declined: insufficient_funds" {
			t.Fatalf("decline: %v", err)
		}
		if _, err := c.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o-slow", Amount: eur(5000), Token: TokenTimeout}); !errors.Is(err, paymentapi.ErrTimeout) {
			t.Fatalf("timeout: %v", err)
		}
		for _, bad := range []paymentapi.AuthorizeRequest{
			{OrderID: "o-bad", Amount: eur(5000), Token: TokenVisa, Provider: "paypal"},
			{OrderID: "o-bad", Amount: eur(0), Token: TokenVisa},
			{OrderID: "o-bad", Amount: eur(100), Token: TokenVisa, Provider: "stripe"}, // no key configured
		} {
			if _, err := c.Authorize(ctx, bad); !apiclient.IsStatus(err, http.StatusUnprocessableEntity) {
				t.Errorf("authorize %+v: %v, want 422", bad, err)
			}
		}
		if _, err := c.Get(ctx, "o-bad"); !errors.Is(err, paymentapi.ErrNotFound) {
			t.Errorf("bad input wrote a payment: %v", err)
		}
		if _, err := c.Void(ctx, "o-none"); !errors.Is(err, paymentapi.ErrNotFound) {
			t.Errorf("void unknown: %v", err)
		}
		if v, err := c.Void(ctx, "o-poor"); err != nil || v.Status != paymentapi.StatusFailed {
			t.Errorf("void failed payment: %+v, %v", v, err)
		}
		if _, err := c.Capture(ctx, "o-http", paymentapi.CaptureRequest{Amount: eur(6000)}); !apiclient.IsCode(err, paymentapi.CodeCaptureExceeds) {
			t.Errorf("capture above authorized: %v", err)
		}
		if p, err = c.Capture(ctx, "o-http", paymentapi.CaptureRequest{Amount: eur(5000)}); err != nil || p.Status != paymentapi.StatusCaptured {
			t.Fatalf("capture: %+v, %v", p, err)
		}
		if _, err := c.Void(ctx, "o-http"); !apiclient.IsCode(err, paymentapi.CodeInvalidState) {
			t.Errorf("void captured: %v", err)
		}
		if p, err = c.Refund(ctx, "o-http", paymentapi.RefundRequest{Amount: eur(495), Key: "shipping", Reason: "shipping"}); err != nil || p.Refunded.Amount != 495 || len(p.Refunds) != 1 {
			t.Fatalf("refund: %+v, %v", p, err)
		}
		if _, err := c.Refund(ctx, "o-http", paymentapi.RefundRequest{Amount: eur(4506), Key: "too-much"}); !errors.Is(err, paymentapi.ErrRefundExceedsCaptured) {
			t.Errorf("refund beyond captured: %v", err)
		}
		l, err := c.List(ctx, paymentapi.ListParams{Limit: 1})
		if err != nil || len(l.Items) != 1 || l.NextCursor == "" {
			t.Fatalf("list page 1: %+v, %v", l, err)
		}
		l2, err := c.List(ctx, paymentapi.ListParams{Limit: 10, Cursor: l.NextCursor})
		if err != nil || len(l2.Items) != 2 || l2.Items[0].ID == l.Items[0].ID {
			t.Fatalf("list page 2: %+v, %v", l2, err)
		}
		a, err := c.Audit(ctx)
		if err != nil || a.InvariantViolations != 0 || a.Pending != 0 {
			t.Fatalf("audit: %+v, %v", a, err)
		}
	}, Migrations...)
}

func TestWebhookSignature(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, clk := newTestService(t, db)
		srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
		ctx := tctx(t)
		p := mustAuthorize(t, svc, ctx, "o-hook", 3000)
		if _, err := svc.Capture(ctx, "o-hook", paymentapi.CaptureRequest{Amount: eur(3000)}); err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"id":"evt_1","type":"refund.created","data":{"ref":"` + p.ProviderRef + `","refunded_total":1200}}`)
		post := func(body []byte, sig string) int {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/payments/webhooks/fake", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(FakeSignatureHeader, sig)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		other := NewFake(nil, 0, "whsec_other")
		tampered := bytes.Replace(body, []byte("1200"), []byte("2900"), 1)
		for _, tc := range []struct {
			name string
			body []byte
			sig  string
		}{
			{"tampered body", tampered, fake.SignWebhook(body, clk.now())},
			{"old timestamp", body, fake.SignWebhook(body, clk.now().Add(-6*time.Minute))},
			{"wrong secret", body, other.SignWebhook(body, clk.now())},
			{"no signature", body, ""},
		} {
			if got := post(tc.body, tc.sig); got != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tc.name, got)
			}
		}
		if got, _ := svc.Get(ctx, "o-hook"); got.Refunded.Amount != 0 {
			t.Fatalf("a rejected webhook changed the payment: %+v", got)
		}
		for range 2 { // the redelivery has no second effect
			if got := post(body, fake.SignWebhook(body, clk.now())); got != http.StatusNoContent && got != http.StatusOK {
				t.Fatalf("valid webhook: status %d", got)
			}
		}
		got, err := svc.Get(ctx, "o-hook")
		if err != nil || got.Refunded.Amount != 1200 || got.Status != paymentapi.StatusPartiallyRefunded || len(got.Refunds) != 1 {
			t.Fatalf("after the provider refund webhook: %+v, %v", got, err)
		}
	}, Migrations...)
}
