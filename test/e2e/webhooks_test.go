package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestWebhooksOnEveryBus: a product created in the store reaches a
// merchant's webhook receiver through the outbox, each bus and the notify
// service's consumer, signed so that the Standard Webhooks verification
// (written here from the specification) accepts it; the delivery log has
// the attempt. An order placed there is emailed once, through the same bus
// and the notify service's email consumer: to Mailpit when the tests have
// one (exactly one message), else kept and listed in the admin.
func TestWebhooksOnEveryBus(t *testing.T) {
	t.Parallel()
	for name, flags := range busSetups() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			type received struct {
				h    http.Header
				body []byte
			}
			var mu sync.Mutex
			var got []received
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, received{r.Header.Clone(), b})
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rcv.Close()
			// The receiver is on this machine: only the flag lets it through.
			s := openShop(t, append(append(flags(t), "-notify.webhooks-allow-private"), smtpFlags()...))
			r := s.p.Call("POST", "/api/v1/admin/webhooks/subscriptions", map[string]any{"url": rcv.URL + "/hook",
				"event_types": []string{"catalog.product_created.v1"}}, s.admin())
			if r.Status != http.StatusCreated {
				t.Fatalf("subscribe: %d %s", r.Status, r.Body)
			}
			var sub struct{ ID, Secret string }
			r.JSON(t, &sub)
			sku := s.newSKU(1)
			var msg received
			waitFor(t, "the webhook", func() (bool, string) {
				mu.Lock()
				defer mu.Unlock()
				for _, m := range got {
					if strings.Contains(string(m.body), sku) {
						msg = m
						return true, ""
					}
				}
				return false, ""
			})
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sub.Secret, "whsec_"))
			if err != nil {
				t.Fatal(err)
			}
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(msg.h.Get("webhook-id") + "." + msg.h.Get("webhook-timestamp") + "." + string(msg.body)))
			if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); msg.h.Get("webhook-signature") != want {
				t.Fatalf("signature %q, want %q", msg.h.Get("webhook-signature"), want)
			}
			var body struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(msg.body, &body); err != nil || body.Type != "catalog.product_created.v1" {
				t.Fatalf("body %s", msg.body)
			}
			waitFor(t, "the delivery logged", func() (bool, string) {
				r := s.p.Call("GET", "/api/v1/admin/webhooks/deliveries/"+msg.h.Get("webhook-id"), nil, s.admin())
				var d struct {
					Status string `json:"status"`
					Log    []struct {
						ResponseStatus int `json:"response_status"`
					} `json:"log"`
				}
				_ = json.Unmarshal(r.Body, &d)
				return d.Status == "succeeded" && len(d.Log) == 1 && d.Log[0].ResponseStatus == 204, string(r.Body)
			})
			to := "mail-" + strings.ToLower(randomHex(4)) + "@example.com"
			s.placeOrder(sku, to)
			if smtpFlags() == nil {
				s.emailTo("order_confirmed", to, "kept")
				return
			}
			e := s.emailTo("order_confirmed", to, "sent")
			if ids := mailpitMessages(t, to); len(ids) != 1 || ids[0] != e.MessageID {
				t.Fatalf("Mailpit has %v for %s, want %s once", ids, to, e.MessageID)
			}
		})
	}
}
