package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// voidWebhookSecret signs the fake provider's webhooks in this test.
const voidWebhookSecret = "whsec_void_journey"

// TestProviderEventsReachTheOrder: the provider cancels the authorization
// of a confirmed order (its signed webhook); the payment service records
// the void and the order service, told by its event, cancels the order:
// stock back, the reason in the timeline, and shipping it is refused as
// for any cancelled order, on every engine. A refund made at the provider
// of another, shipped order raises that order's refunded amount.
func TestProviderEventsReachTheOrder(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t), "-payment.fake-webhook-secret="+voidWebhookSecret)
			sku := s.newSKU(3)
			r := s.checkout(checkoutBody("void@example.com", "tok_visa", map[string]int{sku: 2}), "")
			if r.Status != http.StatusCreated {
				t.Fatalf("checkout: %d %s", r.Status, r.Body)
			}
			var o order
			r.JSON(t, &o)
			if got := s.stock(sku).Available; got != 1 {
				t.Fatalf("available %d after the checkout, want 1", got)
			}

			r = s.p.Call("GET", "/api/v1/admin/payments/"+o.ID, nil, s.admin())
			var pay struct {
				ProviderRef string `json:"provider_ref"`
			}
			r.JSON(t, &pay)
			if r.Status != http.StatusOK || pay.ProviderRef == "" {
				t.Fatalf("payment: %d %s", r.Status, r.Body)
			}
			webhook(t, s, map[string]any{"id": "evt_void_" + randomHex(6), "type": "authorization.canceled",
				"data": map[string]any{"ref": pay.ProviderRef}})

			var got struct {
				order
				Timeline []struct {
					Note string `json:"note"`
				} `json:"timeline"`
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				r = s.p.Call("GET", "/api/v1/admin/orders/"+o.ID, nil, s.admin())
				r.JSON(t, &got)
				if got.Status == "cancelled" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the order is still %s after its payment was voided at the provider: %s", got.Status, r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got.CancelReason != "payment_voided" {
				t.Errorf("cancel reason %q, want payment_voided", got.CancelReason)
			}
			said := false
			for _, e := range got.Timeline {
				said = said || strings.Contains(e.Note, "voided by the payment provider")
			}
			if !said {
				t.Errorf("the timeline does not say why: %s", r.Body)
			}
			if got := s.stock(sku); got.Available != 3 || got.Reserved != 0 {
				t.Errorf("stock %+v after the cancel, want 3 available", got)
			}
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "T1"}, s.admin())
			var p problem
			r.JSON(t, &p)
			if r.Status != http.StatusConflict || p.Code != "invalid_transition" {
				t.Errorf("shipping the cancelled order: %d %s", r.Status, r.Body)
			}

			// A refund made at the provider reaches the shipped order.
			r = s.checkout(checkoutBody("refund@example.com", "tok_visa", map[string]int{sku: 1}), "")
			if r.Status != http.StatusCreated {
				t.Fatalf("checkout: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &o)
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "T2"}, s.admin())
			if r.Status != http.StatusOK && r.Status != http.StatusCreated {
				t.Fatalf("ship: %d %s", r.Status, r.Body)
			}
			r = s.p.Call("GET", "/api/v1/admin/payments/"+o.ID, nil, s.admin())
			r.JSON(t, &pay)
			webhook(t, s, map[string]any{"id": "evt_refund_" + randomHex(6), "type": "refund.created",
				"data": map[string]any{"ref": pay.ProviderRef, "refunded_total": 500}})
			deadline = time.Now().Add(30 * time.Second)
			for {
				r = s.p.Call("GET", "/api/v1/admin/orders/"+o.ID, nil, s.admin())
				r.JSON(t, &got)
				if got.Refunded.Amount == 500 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the order never learnt of the refund made at the provider: %s", r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got.TotalDue.Amount != 500 {
				t.Errorf("total due %d after a refund of 500, want 500", got.TotalDue.Amount)
			}
		})
	}
}

// webhook posts a fake provider event signed with voidWebhookSecret.
func webhook(t *testing.T, s *shop, event map[string]any) {
	t.Helper()
	ev, _ := json.Marshal(event)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(voidWebhookSecret))
	m.Write([]byte(ts + "."))
	m.Write(ev)
	r := s.p.Call("POST", "/api/v1/payments/webhooks/fake", string(ev),
		map[string]string{"Mercato-Signature": "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))})
	if r.Status/100 != 2 {
		t.Fatalf("webhook: %d %s", r.Status, r.Body)
	}
}
