package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeStores is a store directory of one store per tenant.
type fakeStores map[string]tenantapi.Store

func (f fakeStores) Store(ctx context.Context) (tenantapi.Store, error) {
	id, err := tenancy.ID(ctx)
	if err != nil {
		return tenantapi.Store{}, err
	}
	return f[id], nil
}

// fakeStaff is the staff of each store.
type fakeStaff map[string][]identityapi.Staff

func (f fakeStaff) ListStaff(ctx context.Context) (identityapi.StaffList, error) {
	id, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.StaffList{}, err
	}
	return identityapi.StaffList{Items: f[id]}, nil
}

func newMailService(t *testing.T, db *sqldb.DB, smtpURL string) (*Service, *clock) {
	t.Helper()
	cfg := testConfig()
	cfg.Mail = MailConfig{SMTPURL: smtpURL, From: "Shop <shop@mercato.test>", ShopURL: "https://{host}", Timeout: 5 * time.Second,
		RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond, RetryFor: time.Hour}
	s, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db},
		Stores: fakeStores{"shop1": {ID: "shop1", Settings: tenantapi.Settings{Name: `Tom & <b>Jerry</b>`, Logo: "/media/logo.png", Locale: "de-DE"},
			Hosts: []string{"shop1.localhost", "tom.example"}}},
		Staff: fakeStaff{"shop1": {{Email: "gone@example.com", Role: "owner", Status: "deactivated"}, {Email: "owner@example.com", Role: "owner", Status: "active"}},
			"default": {{Email: "owner@default.test", Role: "owner", Status: "active"}}}})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	s.now = clk.now
	return s, clk
}

func sampleOrder(email string) orderapi.Order {
	eur := func(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }
	return orderapi.Order{ID: "ord-1", Email: email, Currency: "EUR",
		Lines:    []orderapi.Line{{SKU: "MUG-1", Title: "Mug <Deluxe>", Quantity: 2, Total: eur(2400)}},
		Subtotal: eur(2400), Shipping: eur(490), Tax: eur(383), Total: eur(2890), TaxInclusive: true,
		ShippingAddress: orderapi.Address{Name: "Ada", Line1: "1 Row", City: "London", PostalCode: "N1", Country: "GB"}}
}

func envelope(tenant, typ string, data any) outbox.Envelope {
	b, _ := json.Marshal(data)
	return outbox.Envelope{ID: kit.NewID(), Type: typ, Source: "test", Tenant: tenant, Time: time.Now().UTC(), Data: b}
}

// emailOf waits for the store's one email to reach status and returns it
// whole.
func emailOf(t *testing.T, s *Service, ctx context.Context, status string) notifyapi.Email {
	t.Helper()
	var l notifyapi.EmailList
	eventually(t, "an email "+status, func() bool {
		var err error
		l, err = s.Emails(ctx, status, 0, "")
		return err == nil && len(l.Items) > 0
	})
	if len(l.Items) != 1 {
		t.Fatalf("%d emails %s, want 1", len(l.Items), status)
	}
	e, err := s.Email(ctx, l.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEveryKindRenders: each emailed event renders in English and German,
// its HTML part escaping what the data brings, its text part not.
func TestEveryKindRenders(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{templates: tmpl}
	o := sampleOrder("ada@example.com")
	at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	data := mailData{Store: mailStore{Name: "Tom & <b>Jerry</b>", URL: "https://tom.example", Logo: "https://tom.example/l.png", Color: "#222222"},
		Link: "https://tom.example/x?token=a&b", Name: "<i>Ada</i>", Role: "manager", Expires: expires(at), Order: &o,
		Shipment: &orderapi.Shipment{Carrier: "DHL", TrackingNumber: "JD<01>", TrackingURL: "https://track.example/1"},
		Return:   &orderapi.Return{Lines: []orderapi.ReturnLine{{SKU: "MUG-1", Quantity: 1}}, RefundAmount: o.Total},
		Amount:   "EUR 1.00", Reason: "<broken>",
		Review:  &reviewapi.Published{Rating: 2, Title: "<script>alert(1)</script>", Body: "meh & <img src=x onerror=alert(1)>", AuthorName: "Bob"},
		Webhook: &notifyapi.WebhookDisabled{URL: "https://hooks.example/<x>", FailingSince: at, DisabledAt: at},
		Invoice: &invoiceapi.Issued{Invoice: invoiceapi.Invoice{Kind: invoiceapi.KindCreditNote, Number: "CN-2026-000001",
			InvoiceNumber: "INV-2026-000001", OrderID: "ord-<1>", IssueDate: "2026-01-02", Total: o.Total}, Email: "ada@example.com"}}
	for _, kind := range emailKinds {
		for _, lang := range mailLanguages {
			t.Run(kind+"/"+lang, func(t *testing.T) {
				d := data
				d.Lang = lang
				r, err := s.execute(kind, d)
				if err != nil {
					t.Fatal(err)
				}
				if r.Subject == "" || strings.ContainsAny(r.Subject, "\r\n") || r.Text == "" || !strings.Contains(r.HTML, "</html>") {
					t.Fatalf("rendered %+v", r)
				}
				for _, raw := range []string{"<b>Jerry</b>", "<script>", "<img src=x", "<i>Ada</i>", "<Deluxe>", "<broken>", "JD<01>", "<x>", "ord-<1>"} {
					if strings.Contains(r.HTML, raw) {
						t.Errorf("HTML part holds %q unescaped", raw)
					}
				}
				if !strings.Contains(r.HTML, "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;") || !strings.Contains(r.Text, "Tom & <b>Jerry</b>") {
					t.Errorf("store name not escaped in HTML only:\n%s\n%s", r.HTML, r.Text)
				}
			})
		}
	}
	// A review's script shows as text in the HTML part.
	d := data
	d.Lang = "en"
	r, _ := s.execute(kindReviewPublished, d)
	if !strings.Contains(r.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(r.Text, "<script>alert(1)</script>") {
		t.Errorf("review escaped wrongly:\n%s\n%s", r.HTML, r.Text)
	}
	if got := language("de-AT"); got != "de" {
		t.Errorf("language(de-AT) = %q", got)
	}
	if got := language("fr-FR"); got != "en" {
		t.Errorf("language(fr-FR) = %q", got)
	}
}

// TestEmailKeptOncePerEvent: without SMTP, an event redelivered three
// times makes one email, kept and shown whole (its link's token included:
// the admin is where it reaches on the laptop), in the store's language,
// with links to the store's custom domain.
func TestEmailKeptOncePerEvent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newMailService(t, db, "")
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		e := envelope("shop1", identityapi.SubjectEmailVerificationRequested,
			identityapi.EmailVerificationRequested{CustomerID: "c1", Email: "ada@example.com", Name: "Ada", Token: "tok-secret-1", ExpiresAt: time.Now().Add(time.Hour)})
		for range 3 {
			if err := s.HandleEmailEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		// Another store's event and an event not emailed make none here.
		if err := s.HandleEmailEvent(t.Context(), envelope("shop2", orderapi.SubjectConfirmed, orderapi.OrderEvent{Order: sampleOrder("x@example.com")})); err != nil {
			t.Fatal(err)
		}
		if err := s.HandleEmailEvent(t.Context(), envelope("shop1", orderapi.SubjectCancelled, orderapi.OrderEvent{Order: sampleOrder("x@example.com")})); err != nil {
			t.Fatal(err)
		}
		got := emailOf(t, s, ctx, notifyapi.EmailKept)
		if got.To != "ada@example.com" || got.Kind != kindEmailVerification || got.Locale != "de" || got.Attempts != 1 ||
			got.MessageID != "email_verification."+e.ID+"@mercato.test" {
			t.Errorf("email %+v", got)
		}
		if want := "https://tom.example/account/verify-email?token=tok-secret-1"; !strings.Contains(got.Text, want) {
			t.Errorf("text lacks the link:\n%s", got.Text)
		}
		if l, _ := s.Emails(ctx, "", 0, ""); len(l.Items) != 1 {
			t.Errorf("%d emails, want 1", len(l.Items))
		}
		// Finished emails go after -notify.mail-keep.
		if _, err := s.sweepQueue(t.Context(), s.emails(), time.Now().Add(s.cfg.Mail.Keep-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Emails(ctx, "", 0, ""); len(l.Items) != 1 {
			t.Errorf("%d emails before the keep period ended, want 1", len(l.Items))
		}
		// (On PostgreSQL other tests' emails share the table: count this store's.)
		if _, err := s.sweepQueue(t.Context(), s.emails(), time.Now().Add(s.cfg.Mail.Keep+time.Minute)); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Emails(ctx, "", 0, ""); len(l.Items) != 0 {
			t.Errorf("%d emails after the keep period, want 0", len(l.Items))
		}
	}, Migrations...)
}

// smtpStub is an SMTP server whose answer to MAIL FROM is reply (a
// 250 lets the message through); it counts the messages it accepted.
type smtpStub struct {
	ln       net.Listener
	mu       sync.Mutex
	reply    string
	accepted []string
}

func newSMTPStub(t *testing.T, reply string) *smtpStub {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpStub{ln: ln, reply: reply}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// messageIDOf is the Message-ID header of a message as sent.
func messageIDOf(t *testing.T, msg string) string {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header.Get("Message-Id")
}

func (s *smtpStub) url() string { return "smtp://" + s.ln.Addr().String() }

func (s *smtpStub) set(reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = reply
}

func (s *smtpStub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func (s *smtpStub) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprint(c, l+"\r\n") }
	say("220 stub ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-stub\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			s.mu.Lock()
			reply := s.reply
			s.mu.Unlock()
			say(reply)
		case strings.HasPrefix(cmd, "DATA"):
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.accepted = append(s.accepted, msg.String())
			s.mu.Unlock()
			say("250 queued")
		case strings.HasPrefix(cmd, "QUIT"):
			say("221 bye")
			return
		default: // RCPT, RSET, NOOP
			say("250 ok")
		}
	}
}

// TestEmailRetriedThenSent: transient SMTP refusals (4xx) are retried;
// once accepted, the email is sent, once, and its token is gone from the
// row.
func TestEmailRetriedThenSent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		stub := newSMTPStub(t, "451 4.3.0 try again later")
		s, _ := newMailService(t, db, stub.url())
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		e := envelope("shop1", identityapi.SubjectPasswordResetRequested,
			identityapi.PasswordResetRequested{CustomerID: "c1", Email: "ada@example.com", Token: "tok-secret-2", ExpiresAt: time.Now().Add(time.Hour)})
		if err := s.HandleEmailEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		eventually(t, "three refusals", func() bool {
			l, _ := s.Emails(ctx, notifyapi.EmailPending, 0, "")
			return len(l.Items) == 1 && l.Items[0].Attempts >= 3
		})
		stub.set("250 ok")
		got := emailOf(t, s, ctx, notifyapi.EmailSent)
		if stub.count() != 1 || strings.Contains(got.Text+got.HTML, "tok-secret-2") {
			t.Errorf("%d accepted; email %+v", stub.count(), got)
		}
		if !strings.Contains(stub.accepted[0], "tok-secret-2") || messageIDOf(t, stub.accepted[0]) != "<password_reset."+e.ID+"@mercato.test>" {
			t.Errorf("message sent:\n%s", stub.accepted[0])
		}
	}, Migrations...)
}

// TestEmailFailedThenResent: a permanent refusal (5xx) fails the email at
// once, visible in the failed list; resent, it goes, with the same
// Message-ID. Only a failed email is resent.
func TestEmailFailedThenResent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		stub := newSMTPStub(t, "550 5.7.1 sender refused")
		s, _ := newMailService(t, db, stub.url())
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		if err := s.HandleEmailEvent(t.Context(), envelope("shop1", reviewapi.SubjectPublished,
			reviewapi.Published{ID: "r1", Rating: 5, Title: "Great", Body: "Yes", AuthorName: "Bob"})); err != nil {
			t.Fatal(err)
		}
		failed := emailOf(t, s, ctx, notifyapi.EmailFailed)
		if failed.Attempts != 1 || !strings.Contains(failed.LastError, "550") || failed.To != "owner@example.com" {
			t.Fatalf("failed email %+v", failed)
		}
		if _, err := s.ResendEmail(ctx, "nope"); err != ErrEmailNotFound {
			t.Errorf("resend of no email: %v", err)
		}
		stub.set("250 ok")
		if _, err := s.ResendEmail(ctx, failed.ID); err != nil {
			t.Fatal(err)
		}
		sent := emailOf(t, s, ctx, notifyapi.EmailSent)
		if sent.ID != failed.ID || sent.MessageID != failed.MessageID || stub.count() != 1 {
			t.Errorf("sent %+v after %+v, %d accepted", sent, failed, stub.count())
		}
		if _, err := s.ResendEmail(ctx, sent.ID); err != ErrEmailNotFailed {
			t.Errorf("resend of a sent email: %v", err)
		}
	}, Migrations...)
}

// mailpit reads what the Mailpit server at MERCATO_TEST_MAILPIT received.
type mailpit string

type mailpitSummary struct {
	ID, MessageID, Subject string
	To                     []struct{ Address string }
}

// to lists the messages sent to addr.
func (m mailpit) to(t *testing.T, addr string) []mailpitSummary {
	t.Helper()
	var out struct {
		Messages []mailpitSummary `json:"messages"`
	}
	m.get(t, "/api/v1/messages?limit=1000", &out)
	var got []mailpitSummary
	for _, s := range out.Messages {
		for _, a := range s.To {
			if a.Address == addr {
				got = append(got, s)
			}
		}
	}
	return got
}

func (m mailpit) get(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(string(m) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// smtpForTest returns the Mailpit server's SMTP URL and API, or skips.
func smtpForTest(t *testing.T) (string, mailpit) {
	smtpURL, api := os.Getenv("MERCATO_TEST_SMTP"), os.Getenv("MERCATO_TEST_MAILPIT")
	if smtpURL == "" || api == "" {
		t.Skip("MERCATO_TEST_SMTP and MERCATO_TEST_MAILPIT are not set")
	}
	return smtpURL, mailpit(strings.TrimSuffix(api, "/"))
}

// TestOrderConfirmationThroughMailpit: an order confirmed, its event
// delivered three times, reaches a real SMTP server once, with a text and
// an HTML part holding its lines and totals, the HTML escaped.
func TestOrderConfirmationThroughMailpit(t *testing.T) {
	smtpURL, mp := smtpForTest(t)
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newMailService(t, db, smtpURL)
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		to := kit.NewID() + "@example.com"
		e := envelope("shop1", orderapi.SubjectConfirmed, orderapi.OrderEvent{Order: sampleOrder(to)})
		for range 3 {
			if err := s.HandleEmailEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		emailOf(t, s, ctx, notifyapi.EmailSent)
		msgs := mp.to(t, to)
		if len(msgs) != 1 {
			t.Fatalf("Mailpit has %d messages to %s, want 1", len(msgs), to)
		}
		var full struct {
			MessageID, Subject, Text, HTML string
			From                           struct{ Name, Address string }
		}
		mp.get(t, "/api/v1/message/"+msgs[0].ID, &full)
		if full.MessageID != "order_confirmed."+e.ID+"@mercato.test" || !strings.Contains(full.Subject, "ord-1") ||
			full.From.Address != "shop@mercato.test" || full.From.Name != "Tom & <b>Jerry</b>" {
			t.Errorf("message %+v", full)
		}
		for _, want := range []string{"Mug <Deluxe>", "EUR 28.90", "Versand: EUR 4.90", "https://tom.example/orders/ord-1"} {
			if !strings.Contains(full.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, full.Text)
			}
		}
		if !strings.Contains(full.HTML, "Mug &lt;Deluxe&gt;") || strings.Contains(full.HTML, "<Deluxe>") ||
			!strings.Contains(full.HTML, `src="https://tom.example/media/logo.png"`) {
			t.Errorf("HTML part:\n%s", full.HTML)
		}
	}, Migrations...)
}

// TestCrashAfterSendResendsSameMessageID: a process that dies after the
// SMTP server accepted an email, before recording it, leaves the email due
// again once its claim runs out: the next process sends it again, with
// the same Message-ID (the one window, docs/decisions/0025-email.md).
// Nothing is lost; an email recorded as sent is never sent again.
func TestCrashAfterSendResendsSameMessageID(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		stub := newSMTPStub(t, "250 ok")
		s1, clk := newMailService(t, db, stub.url())
		t0 := time.Now()
		clk.set(t0)
		died := make(chan struct{})
		ctx1, cancel1 := context.WithCancel(context.Background())
		s1.crash = func(string) { close(died); <-ctx1.Done(); runtime.Goexit() }
		done1 := make(chan struct{})
		go func() { defer close(done1); _ = s1.Run(ctx1) }()
		e := envelope("shop1", orderapi.SubjectShipped, orderapi.Shipped{Order: sampleOrder("ada@example.com"),
			Shipment: orderapi.Shipment{Carrier: "DHL", TrackingNumber: "JD01"}})
		if err := s1.HandleEmailEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		<-died // the first process "dies" right after the server accepted
		cancel1()
		<-done1
		if stub.count() != 1 {
			t.Fatalf("%d accepted before the crash", stub.count())
		}
		// A new process, after the claim ran out.
		s2, clk2 := newMailService(t, db, stub.url())
		clk2.set(t0.Add(2*s2.cfg.Mail.Timeout + 2*time.Minute))
		run(t, s2)
		ctx := tenancy.WithID(t.Context(), "shop1")
		got := emailOf(t, s2, ctx, notifyapi.EmailSent)
		if stub.count() != 2 || got.Attempts != 1 {
			t.Fatalf("%d accepted, email %+v", stub.count(), got)
		}
		for i, m := range stub.accepted {
			if id := messageIDOf(t, m); id != "<"+got.MessageID+">" {
				t.Errorf("copy %d has Message-ID %q, want <%s>", i, id, got.MessageID)
			}
		}
		// Redelivered now, the event makes no third copy.
		if err := s2.HandleEmailEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if l, _ := s2.Emails(ctx, "", 0, ""); len(l.Items) != 1 || l.Items[0].Status != notifyapi.EmailSent {
			t.Errorf("emails after a redelivery: %+v", l.Items)
		}
	}, Migrations...)
}

// TestEmailsAPI: the client lists, reads and resends emails; a resend of
// an email that has not failed is a 409 email_not_failed; staff below
// manager see none; with SMTP, a token is masked in what the API shows.
func TestEmailsAPI(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		stub := newSMTPStub(t, "550 5.1.1 no such user")
		s, _ := newMailService(t, db, stub.url())
		srv := webtest.New(t, s.Routes)
		c := notifyapi.NewClient(srv.URL, &http.Client{Transport: bearer{}})
		ctx := tenancy.WithID(t.Context(), "default")
		run(t, s)
		if err := s.HandleEmailEvent(ctx, envelope("default", identityapi.SubjectStaffInvited,
			identityapi.StaffInvited{InvitationID: "i1", Email: "new@example.com", Name: "Nia", Role: "staff", Token: "tok-secret-3", ExpiresAt: time.Now().Add(time.Hour)})); err != nil {
			t.Fatal(err)
		}
		var e notifyapi.Email
		eventually(t, "a failed email", func() bool {
			l, err := c.Emails(ctx, notifyapi.EmailParams{Status: notifyapi.EmailFailed})
			if err != nil || len(l.Items) != 1 {
				return false
			}
			e, err = c.Email(ctx, l.Items[0].ID)
			return err == nil
		})
		if e.To != "new@example.com" || e.Kind != kindStaffInvitation || !strings.Contains(e.Text, "/admin/invitations/accept?token=…") ||
			strings.Contains(e.Text+e.HTML, "tok-secret-3") {
			t.Fatalf("email %+v", e)
		}
		stub.set("250 ok")
		if _, err := c.ResendEmail(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the email sent", func() bool {
			got, err := c.Email(ctx, e.ID)
			return err == nil && got.Status == notifyapi.EmailSent
		})
		if code, body := call(t, srv.URL, "", http.MethodPost, "/api/v1/admin/emails/"+e.ID+"/resend", ""); code != http.StatusConflict || !strings.Contains(body, "email_not_failed") {
			t.Errorf("resend of a sent email: %d %s", code, body)
		}
		if code, _ := call(t, srv.URL, "staff", http.MethodGet, "/api/v1/admin/emails", ""); code != http.StatusForbidden {
			t.Errorf("staff listing emails: %d", code)
		}
	}, Migrations...)
}

// TestStoreEmailsGoToTheOwner: a disabled webhook and a new review are
// emailed to the store's active owner, with links into the admin; without
// an owner, the email fails at once (nobody to send it to).
func TestStoreEmailsGoToTheOwner(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newMailService(t, db, "")
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if err := s.HandleEmailEvent(t.Context(), envelope("shop1", notifyapi.SubjectWebhookDisabled,
			notifyapi.WebhookDisabled{SubscriptionID: "sub-1", URL: "https://erp.example/hook", FailingSince: at, DisabledAt: at.Add(24 * time.Hour)})); err != nil {
			t.Fatal(err)
		}
		got := emailOf(t, s, ctx, notifyapi.EmailKept)
		if got.To != "owner@example.com" || !strings.Contains(got.Text, "https://erp.example/hook") ||
			!strings.Contains(got.Text, "https://tom.example/admin/webhooks/sub-1") || !strings.Contains(got.Text, "2026-03-01 12:00 UTC") {
			t.Errorf("webhook email %+v", got)
		}
		// A store with no owner (shop3 has no staff here).
		if err := s.HandleEmailEvent(t.Context(), envelope("shop3", reviewapi.SubjectPublished, reviewapi.Published{ID: "r1", Rating: 1, Title: "Bad"})); err != nil {
			t.Fatal(err)
		}
		failed := emailOf(t, s, tenancy.WithID(t.Context(), "shop3"), notifyapi.EmailFailed)
		if failed.Kind != kindReviewPublished || !strings.Contains(failed.LastError, "no active owner") || failed.Attempts != 1 {
			t.Errorf("review email without an owner %+v", failed)
		}
	}, Migrations...)
}

// TestSMTPURL: what -notify.smtp-url accepts, and that a refusal never
// quotes the password.
func TestSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"smtp://127.0.0.1:1025", true},
		{"smtp://user:pa%20ss@mail.example:587?starttls=required", true},
		{"smtps://user:secret@mail.example", true},
		{"smtp://mail.example?starttls=none", true},
		{"smtp://mail.example?starttls=maybe", false},
		{"http://mail.example", false},
		{"smtp://:25", false},
		{"smtp://mail.example:99999", false},
		{"smtp://user:s3cr3t@mail.example:%zz", false},
	} {
		_, err := parseSMTP(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("parseSMTP(%q): %v, want ok %v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("parseSMTP(%q) quotes the password: %v", tc.url, err)
		}
	}
}

// fakeInvoices serves one PDF per invoice ID.
type fakeInvoices map[string][]byte

func (f fakeInvoices) File(_ context.Context, id, format string) ([]byte, error) {
	if b, ok := f[id]; ok && format == "pdf" {
		return b, nil
	}
	return nil, &apiclient.Error{Status: 404, Code: "invoice_not_found"}
}

// TestInvoiceEmailAttachesPDF: a re-sent invoice reaches the buyer with
// its stored PDF attached, named after its number, and the link to the
// order's page; one whose PDF the invoice service does not have fails for
// good rather than going without it.
func TestInvoiceEmailAttachesPDF(t *testing.T) {
	smtpURL, mp := smtpForTest(t)
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newMailService(t, db, smtpURL)
		s.invoices = fakeInvoices{"inv-1": []byte("%PDF-1.3 the stored bytes")}
		ctx := tenancy.WithID(t.Context(), "shop1")
		run(t, s)
		to := kit.NewID() + "@example.com"
		doc := invoiceapi.Issued{Invoice: invoiceapi.Invoice{ID: "inv-1", Kind: invoiceapi.KindInvoice, Number: "INV-2026-000042",
			OrderID: "ord-1", IssueDate: "2026-03-01", Total: sampleOrder(to).Total}, Email: to}
		if err := s.HandleEmailEvent(t.Context(), envelope("shop1", invoiceapi.SubjectResendRequested, doc)); err != nil {
			t.Fatal(err)
		}
		emailOf(t, s, ctx, notifyapi.EmailSent)
		msgs := mp.to(t, to)
		if len(msgs) != 1 {
			t.Fatalf("Mailpit has %d messages to %s, want 1", len(msgs), to)
		}
		var full struct {
			Subject, Text string
			Attachments   []struct {
				FileName, ContentType string
				Size                  int
			}
		}
		mp.get(t, "/api/v1/message/"+msgs[0].ID, &full)
		if len(full.Attachments) != 1 || full.Attachments[0].FileName != "INV-2026-000042.pdf" ||
			full.Attachments[0].ContentType != "application/pdf" || full.Attachments[0].Size != len("%PDF-1.3 the stored bytes") {
			t.Errorf("attachments: %+v", full.Attachments)
		}
		if !strings.Contains(full.Subject, "INV-2026-000042") || !strings.Contains(full.Text, "https://tom.example/orders/ord-1") {
			t.Errorf("message: %q\n%s", full.Subject, full.Text)
		}

		gone := doc
		gone.ID, gone.Email = "inv-gone", "gone-"+to
		if err := s.HandleEmailEvent(t.Context(), envelope("shop1", invoiceapi.SubjectResendRequested, gone)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the email of a missing PDF failed", func() bool {
			l, err := s.Emails(ctx, notifyapi.EmailFailed, 0, "")
			return err == nil && len(l.Items) == 1
		})
		if n := len(mp.to(t, gone.Email)); n != 0 {
			t.Errorf("%d messages sent without their PDF", n)
		}
	}, Migrations...)
}
