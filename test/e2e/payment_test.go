package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// The payment tests check what the fake payment provider owes a real
// deployment: it keeps its authorizations across restarts, its webhooks
// verify with a secret of the deployment's own, its references cannot be
// guessed, and it runs only where it belongs.

// providerPayment is the admin view of a payment with the provider's
// reference.
type providerPayment struct {
	payment
	ProviderRef string `json:"provider_ref"`
}

func (s *shop) providerPayment(orderID string) providerPayment {
	s.t.Helper()
	r := s.p.Call("GET", "/api/v1/admin/payments/"+orderID, nil, s.admin())
	if r.Status != http.StatusOK {
		s.t.Fatalf("payment of %s: %d %s", orderID, r.Status, r.Body)
	}
	var p providerPayment
	r.JSON(s.t, &p)
	return p
}

// confirmedOrder checks out qty units of sku with tok_visa and returns the
// confirmed order.
func (s *shop) confirmedOrder(sku string, qty int) order {
	s.t.Helper()
	r := s.checkout(checkoutBody("pay-"+strings.ToLower(randomHex(4))+"@example.com", "tok_visa", map[string]int{sku: qty}), "")
	if r.Status != http.StatusCreated {
		s.t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	var o order
	r.JSON(s.t, &o)
	if o.Status != "confirmed" {
		s.t.Fatalf("checkout: %s", r.Body)
	}
	return o
}

// TestPaymentsSurviveRestart checks out with tok_visa, stops the process
// cleanly (SIGTERM) and starts it again on the same data, then ships the
// order (the capture of the authorization made before the restart) and
// refunds it, and cancels a second order authorized before the restart
// (its authorization voided).
func TestPaymentsSurviveRestart(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(10)
			shipped := s.confirmedOrder(sku, 2)
			cancelled := s.confirmedOrder(sku, 1)

			s.p.Stop()
			s.restart()

			r := s.p.Call("POST", "/api/v1/admin/orders/"+shipped.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "00340434161234567890"}, s.admin())
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("ship after restart: %d %s", r.Status, r.Body)
			}
			var o order
			r.JSON(t, &o)
			if o.Status != "shipped" || o.Captured != o.Total {
				t.Fatalf("after shipment: %s", r.Body)
			}
			if pay := s.providerPayment(shipped.ID); pay.Status != "captured" || pay.Captured != o.Total {
				t.Fatalf("payment after shipment: %+v", pay)
			}
			refund := map[string]any{"amount": o.Captured, "reason": "goodwill", "key": "all-back"}
			r = s.p.Call("POST", "/api/v1/admin/orders/"+shipped.ID+"/refunds", refund, s.admin())
			if r.Status != http.StatusOK {
				t.Fatalf("refund after restart: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &o)
			if o.Refunded != o.Captured {
				t.Fatalf("after the refund: %s", r.Body)
			}
			if pay := s.providerPayment(shipped.ID); pay.Status != "refunded" || pay.Refunded != o.Total {
				t.Fatalf("payment after the refund: %+v", pay)
			}

			r = s.p.Call("POST", "/api/v1/orders/"+cancelled.ID+"/cancel?token="+cancelled.Token, nil, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("cancel after restart: %d %s", r.Status, r.Body)
			}
			if pay := s.providerPayment(cancelled.ID); pay.Status != "voided" {
				t.Fatalf("payment of the cancelled order: %+v", pay)
			}
			s.p.Stop()
		})
	}
}

// signFake signs a fake provider webhook as docs/commerce.md says:
// Mercato-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
func signFake(secret string, body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// TestFakeProviderWebhooksAndReferences: each data directory gets a random
// webhook secret of its own (none is printed in --help); a forged
// authorization.canceled webhook (the old public default, another store's
// secret, none) is refused and the payment stays authorized; one signed
// with the data directory's secret voids it. References are random.
func TestFakeProviderWebhooksAndReferences(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	if regexp.MustCompile(`\(default "?whsec_`).Match(out) || strings.Contains(string(out), "whsec_mercato") {
		t.Fatalf("--help prints a default webhook secret:\n%s", out)
	}

	s := openShop(t, nil)
	other := openShop(t, nil)
	secret := readSecret(t, s.data)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || secret == readSecret(t, other.data) {
		t.Fatalf("webhook secret %q: want a random whsec_ secret per data directory", secret)
	}
	sku := s.newSKU(5)
	o := s.confirmedOrder(sku, 1)
	pay := s.providerPayment(o.ID)
	if !regexp.MustCompile(`^fake_auth_[a-z2-7]{26}$`).MatchString(pay.ProviderRef) {
		t.Errorf("provider reference %q: want fake_auth_ and 128 random bits", pay.ProviderRef)
	}
	if second := s.providerPayment(s.confirmedOrder(sku, 1).ID); second.ProviderRef == pay.ProviderRef {
		t.Errorf("two payments share the reference %q", pay.ProviderRef)
	}

	body := []byte(`{"id":"evt_` + randomHex(6) + `","type":"authorization.canceled","data":{"ref":"` + pay.ProviderRef + `"}}`)
	post := func(sig string) harness.Response {
		t.Helper()
		hdr := map[string]string{}
		if sig != "" {
			hdr["Mercato-Signature"] = sig
		}
		return s.p.Call("POST", "/api/v1/payments/webhooks/fake", string(body), hdr)
	}
	for name, sig := range map[string]string{
		"the old public default": signFake("whsec_mercato_fake_laptop", body, time.Now()),
		"another store's secret": signFake(readSecret(t, other.data), body, time.Now()),
		"no signature":           "",
	} {
		if r := post(sig); r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
			t.Errorf("forged webhook signed with %s: %d %s, want 400 or 401", name, r.Status, r.Body)
		}
	}
	if got := s.providerPayment(o.ID); got.Status != "authorized" {
		t.Fatalf("a forged webhook changed the payment: %+v", got)
	}
	if r := post(signFake(secret, body, time.Now())); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("webhook signed with the data directory's secret: %d %s", r.Status, r.Body)
	}
	if got := s.providerPayment(o.ID); got.Status != "voided" {
		t.Fatalf("after the signed cancellation: %+v, want voided", got)
	}
	if r := s.p.Call("GET", "/readyz", nil, nil); r.Status != http.StatusOK || string(r.Body) != "ready\n" {
		t.Errorf("readyz on the laptop: %d %q, want ready without warnings", r.Status, r.Body)
	}
}

func readSecret(t *testing.T, data string) string {
	t.Helper()
	raw, err := os.ReadFile(data + "/fake-webhook-secret")
	if err != nil {
		t.Fatalf("read the fake provider's webhook secret: %v", err)
	}
	return strings.TrimSpace(string(raw))
}

// TestFakeProviderOnlyOnTheLaptop: on PostgreSQL the fake provider is off
// unless enabled, so tok_visa buys nothing; enabled, it works and says so
// in the log and on /readyz, which stays ready.
func TestFakeProviderOnlyOnTheLaptop(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set: the laptop shape is covered by the other tests")
	}
	t.Parallel()
	s := openShop(t, []string{"-db=" + scratchDatabase(t, pg)})
	sku := s.newSKU(5)
	r := s.checkout(checkoutBody("prod@example.com", "tok_visa", map[string]int{sku: 1}), "")
	if r.Status == http.StatusCreated {
		t.Fatalf("tok_visa bought something on PostgreSQL without -payment.fake: %s", r.Body)
	}
	if l := s.stock(sku); l.OnHand != 5 || l.Reserved != 0 {
		t.Errorf("stock after the refused checkout: %+v", l)
	}
	if r := s.p.Call("GET", "/readyz", nil, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "warning") {
		t.Errorf("readyz without the fake: %d %q", r.Status, r.Body)
	}
	if _, err := os.Stat(s.data + "/fake-webhook-secret"); !os.IsNotExist(err) {
		t.Errorf("a webhook secret was generated for a fake provider that does not run: %v", err)
	}

	s.p.Stop()
	s.restart("-payment.fake=true")
	r = s.p.Call("GET", "/readyz", nil, nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(string(r.Body), "ready\n") || !strings.Contains(string(r.Body), "warning: payment: the fake payment provider is enabled") {
		t.Errorf("readyz with the fake enabled on PostgreSQL: %d %q, want ready and the warning", r.Status, r.Body)
	}
	if !strings.Contains(s.p.Stderr.String(), "fake payment provider is enabled outside the laptop shape") {
		t.Errorf("no warning in the log:\n%s", s.p.Stderr)
	}
	s.confirmedOrder(sku, 1)
	s.p.Stop()
}
