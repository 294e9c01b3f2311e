package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// mailpitMessages lists the Message-IDs of what the Mailpit server of
// MERCATO_TEST_MAILPIT received for to.
func mailpitMessages(t *testing.T, to string) []string {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(os.Getenv("MERCATO_TEST_MAILPIT"), "/") + "/api/v1/messages?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Messages []struct {
			MessageID string
			To        []struct{ Address string }
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range l.Messages {
		for _, a := range m.To {
			if a.Address == to {
				ids = append(ids, m.MessageID)
			}
		}
	}
	return ids
}

// smtpFlags sends the shop's emails to Mailpit when the tests have one.
func smtpFlags() []string {
	if u := os.Getenv("MERCATO_TEST_SMTP"); u != "" && os.Getenv("MERCATO_TEST_MAILPIT") != "" {
		return []string{"-notify.smtp-url=" + u}
	}
	return nil
}

type email struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	To        string `json:"to"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	MessageID string `json:"message_id"`
}

// emailTo waits for the store's email of kind to addr to reach status.
func (s *shop) emailTo(kind, addr, status string) email {
	s.t.Helper()
	var found email
	waitFor(s.t, kind+" email to "+addr+" "+status, func() (bool, string) {
		r := s.p.Call("GET", "/api/v1/admin/emails", nil, s.admin())
		var l struct {
			Items []email `json:"items"`
		}
		_ = json.Unmarshal(r.Body, &l)
		for _, e := range l.Items {
			if e.Kind == kind && e.To == addr && e.Status == status {
				found = e
				return true, ""
			}
		}
		return false, string(r.Body)
	})
	return found
}

// placeOrder checks out one unit of sku as a guest with email.
func (s *shop) placeOrder(sku, email string) {
	s.t.Helper()
	if r := s.checkout(checkoutBody(email, "tok_visa", map[string]int{sku: 1}), ""); r.Status != http.StatusCreated && r.Status != http.StatusOK {
		s.t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
}

// TestEmailCrashMidSend: a notify process killed right after the SMTP
// server accepted an order confirmation, before it recorded that, loses no
// email: the next process sends it once its claim ran out. That copy is
// the one window where an email goes twice (docs/decisions/0025-email.md):
// both copies carry the same Message-ID, by which a mail client drops the
// second; the record then says sent, and nothing is sent a third time.
func TestEmailCrashMidSend(t *testing.T) {
	t.Parallel()
	smtp := smtpFlags()
	if smtp == nil {
		t.Skip("MERCATO_TEST_SMTP and MERCATO_TEST_MAILPIT are not set")
	}
	flags := append(smtp, "-notify.mail-timeout=1s")
	s := openShop(t, nil, append(flags, "-notify.crash-after=send")...)
	sku := s.newSKU(1)
	to := "crash-" + strings.ToLower(randomHex(4)) + "@example.com"
	s.placeOrder(sku, to)
	if err := s.p.WaitExit(30 * time.Second); err == nil {
		t.Fatal("the process exited with status 0: the fault was not injected")
	}
	if ids := mailpitMessages(t, to); len(ids) != 1 {
		t.Fatalf("Mailpit has %d messages to %s before the restart, want the 1 sent before the crash", len(ids), to)
	}
	s.restart(flags...)
	e := s.emailTo("order_confirmed", to, "sent")
	ids := mailpitMessages(t, to)
	if len(ids) != 2 || ids[0] != e.MessageID || ids[1] != e.MessageID {
		t.Fatalf("Mailpit has %v for %s, want twice %s", ids, to, e.MessageID)
	}
	// The email recorded as sent: a restart sends nothing more.
	s.p.Stop()
	s.restart(flags...)
	s.emailTo("order_confirmed", to, "sent")
	if ids := mailpitMessages(t, to); len(ids) != 2 {
		t.Fatalf("Mailpit has %d messages to %s after another restart", len(ids), to)
	}
}
