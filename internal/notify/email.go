package notify

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// emailGroup is the bus consumer of the events that are emailed.
const emailGroup = "notify-email"

// The kinds of email, one per event type emailed (emailKinds).
const (
	kindOrderConfirmed    = "order_confirmed"
	kindOrderShipped      = "order_shipped"
	kindOrderDelivered    = "order_delivered"
	kindRefundIssued      = "refund_issued"
	kindReturnReceived    = "return_received"
	kindPasswordReset     = "password_reset"
	kindEmailVerification = "email_verification"
	kindStaffInvitation   = "staff_invitation"
	kindReviewPublished   = "review_published"
	kindWebhookDisabled   = "webhook_disabled"
	kindInvoiceSent       = "invoice_sent"
)

// emailKinds maps each event type emailed to its kind of email.
var emailKinds = map[string]string{
	orderapi.SubjectConfirmed:                     kindOrderConfirmed,
	orderapi.SubjectShipped:                       kindOrderShipped,
	orderapi.SubjectDelivered:                     kindOrderDelivered,
	orderapi.SubjectRefunded:                      kindRefundIssued,
	orderapi.SubjectReturnReceived:                kindReturnReceived,
	identityapi.SubjectPasswordResetRequested:     kindPasswordReset,
	identityapi.SubjectEmailVerificationRequested: kindEmailVerification,
	identityapi.SubjectStaffInvited:               kindStaffInvitation,
	reviewapi.SubjectPublished:                    kindReviewPublished,
	notifyapi.SubjectWebhookDisabled:              kindWebhookDisabled,
	invoiceapi.SubjectResendRequested:             kindInvoiceSent,
}

// EmailEventTypes are the event types the email consumer receives.
var EmailEventTypes = func() []string {
	out := make([]string, 0, len(emailKinds))
	for t := range emailKinds {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}()

// Stores reads the store in ctx: its name, logo, locale and hosts
// (tenantapi.Client.Store, with the deployment's token).
type Stores interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// Staff lists the store's staff, to find the owner's address
// (identityapi.Client.ListStaff, with the deployment's token).
type Staff interface {
	ListStaff(ctx context.Context) (identityapi.StaffList, error)
}

// InvoiceFiles reads an invoice's or credit note's stored PDF
// (invoiceapi.Client.File, with the deployment's token).
type InvoiceFiles interface {
	File(ctx context.Context, id, format string) ([]byte, error)
}

// HandleEmailEvent applies one event as the email consumer does: once per
// event ID, whatever the redeliveries.
func (s *Service) HandleEmailEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.st.DB(), emailGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.enqueueEmail(ctx, tx, e)
	})
	return err
}

// enqueueEmail makes, in the consumer's transaction, the email of e: a row
// holding the event's data, rendered and sent by the worker. Rendering
// calls other services, which a transaction must not wait on. The unique
// (event, kind) key makes a second run a no-op, should the inbox ever let
// one through.
func (s *Service) enqueueEmail(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	kind, ok := emailKinds[e.Type]
	if !ok {
		return nil
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return bus.Permanent(fmt.Errorf("notify: event %s: %w", e.ID, err))
	}
	// A one-time token the email links with is kept apart, to be masked in
	// the admin and forgotten once sent. It is never logged.
	var tok struct {
		Token string `json:"token"`
	}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &tok); err != nil {
			return bus.Permanent(fmt.Errorf("notify: event %s: decode data: %w", e.ID, err))
		}
	}
	now := s.now()
	if _, err := notifydb.New(tx).InsertEmail(ctx, notifydb.InsertEmailParams{TenantID: tenant, ID: kit.NewID(),
		EventID: e.ID, EventType: e.Type, Kind: kind, Data: string(e.Data), Secret: tok.Token,
		MessageID: s.messageID(kind, e.ID), NextAttemptAt: sqldb.Micros(now),
		RetryUntil: sqldb.Micros(now.Add(s.cfg.Mail.RetryFor)), CreatedAt: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("notify: queue email of %s: %w", e.ID, err)
	}
	s.wakeMailer()
	return nil
}

// messageID is the Message-ID of the email of kind for event: derived from
// the event alone, so that every attempt, by whichever process, sends the
// same one and a receiver can recognise a second copy.
func (s *Service) messageID(kind, eventID string) string {
	return kind + "." + eventID + "@" + s.cfg.Mail.domain()
}

// wakeMailer tells the email worker that an email may be due now.
func (s *Service) wakeMailer() {
	select {
	case s.mailWake <- struct{}{}:
	default:
	}
}

//go:embed mail/*.tmpl
var mailFiles embed.FS

// mailLanguages are the languages emails are written in; English is the
// fallback of every other.
var mailLanguages = []string{"en", "de"}

// templates are the email templates of one language: subject and text
// parts through text/template, the HTML part through html/template, which
// escapes what the data brings (a review's body, a store's name).
type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parseTemplates parses every language's templates, each over English,
// so that a kind a language lacks is written in English.
func parseTemplates() (map[string]templates, error) {
	out := map[string]templates{}
	for _, lang := range mailLanguages {
		files := []string{"mail/layout.tmpl", "mail/en.tmpl"}
		if lang != "en" {
			files = append(files, "mail/"+lang+".tmpl")
		}
		t, err := texttemplate.ParseFS(mailFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("notify: parse %s email templates: %w", lang, err)
		}
		h, err := htmltemplate.ParseFS(mailFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("notify: parse %s email templates: %w", lang, err)
		}
		out[lang] = templates{text: t.Option("missingkey=error"), html: h.Option("missingkey=error")}
	}
	return out, nil
}

// language is the email language for a store locale (a BCP 47 tag):
// its language if emails are written in it, else English.
func language(locale string) string {
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	if slices.Contains(mailLanguages, lang) {
		return lang
	}
	return "en"
}

// mailStore is what an email shows of the store.
type mailStore struct {
	Name string
	// Logo is an absolute URL ("" for none); URL the shop's address.
	Logo, URL string
	Color     string
}

// mailData is what the templates render: the store, the link the email
// leads to, and the event's data (the fields of its kind set).
type mailData struct {
	Lang     string
	Store    mailStore
	Link     string
	Name     string
	Role     string
	Expires  string
	Order    *orderapi.Order
	Shipment *orderapi.Shipment
	Return   *orderapi.Return
	Amount   string
	Reason   string
	Review   *reviewapi.Published
	Webhook  *notifyapi.WebhookDisabled
	Invoice  *invoiceapi.Issued
	// Attached: the email carries the invoice's PDF.
	Attached bool
}

// rendered is an email ready to send.
type rendered struct {
	To, FromName, Locale, Subject, Text, HTML string
}

// errNoRecipient: the email has nobody to go to (an order without an
// email address, a store without an owner); it fails at once.
var errNoRecipient = errors.New("notify: the email has no recipient")

// render renders an email from its event's data, in the store's language,
// with what it needs of the store (and, for the owner's emails, of the
// staff) read from their services.
func (s *Service) render(ctx context.Context, e notifydb.Email) (rendered, error) {
	st, err := s.mailStore(ctx)
	if err != nil {
		return rendered{}, err
	}
	d := mailData{Lang: language(st.Locale), Store: st.mailStore}
	var to string
	decode := func(v any) error {
		if err := json.Unmarshal([]byte(e.Data), v); err != nil {
			return bus.Permanent(fmt.Errorf("decode %s: %w", e.EventType, err))
		}
		return nil
	}
	orderLink := func(o *orderapi.Order) string {
		return st.URL + "/orders/" + url.PathEscape(o.ID)
	}
	switch e.Kind {
	case kindOrderConfirmed, kindOrderDelivered:
		var v orderapi.OrderEvent
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Order, to, d.Link = &v.Order, v.Email, orderLink(&v.Order)
	case kindOrderShipped:
		var v orderapi.Shipped
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Order, d.Shipment, to, d.Link = &v.Order, &v.Shipment, v.Email, orderLink(&v.Order)
	case kindRefundIssued:
		var v orderapi.Refunded
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Order, d.Amount, d.Reason, to, d.Link = &v.Order, v.Amount.String(), v.Reason, v.Email, orderLink(&v.Order)
	case kindReturnReceived:
		var v orderapi.ReturnEvent
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Order, d.Return, to, d.Link = &v.Order, &v.Return, v.Email, orderLink(&v.Order)
	case kindPasswordReset:
		var v identityapi.PasswordResetRequested
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		to, d.Expires = v.Email, expires(v.ExpiresAt)
		d.Link = st.URL + "/account/reset-password?token=" + url.QueryEscape(v.Token)
	case kindEmailVerification:
		var v identityapi.EmailVerificationRequested
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		to, d.Name, d.Expires = v.Email, v.Name, expires(v.ExpiresAt)
		d.Link = st.URL + "/account/verify-email?token=" + url.QueryEscape(v.Token)
	case kindStaffInvitation:
		var v identityapi.StaffInvited
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		to, d.Name, d.Role, d.Expires = v.Email, v.Name, v.Role, expires(v.ExpiresAt)
		d.Link = st.URL + "/admin/invitations/accept?token=" + url.QueryEscape(v.Token)
	case kindReviewPublished:
		var v reviewapi.Published
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Review, d.Link = &v, st.URL+"/admin/reviews"
		if to, err = s.ownerAddress(ctx); err != nil {
			return rendered{}, err
		}
	case kindWebhookDisabled:
		var v notifyapi.WebhookDisabled
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Webhook, d.Link = &v, st.URL+"/admin/webhooks/"+url.PathEscape(v.SubscriptionID)
		if to, err = s.ownerAddress(ctx); err != nil {
			return rendered{}, err
		}
	case kindInvoiceSent:
		// A link to the order's page, where the buyer downloads the PDF
		// and the XML: a guest signs in or follows their order's link.
		var v invoiceapi.Issued
		if err := decode(&v); err != nil {
			return rendered{}, err
		}
		d.Invoice, to, d.Link = &v, v.Email, st.URL+"/orders/"+url.PathEscape(v.OrderID)
		d.Attached = s.attachesInvoices()
	default:
		return rendered{}, bus.Permanent(fmt.Errorf("notify: no template for %q", e.Kind))
	}
	if to == "" {
		return rendered{}, bus.Permanent(errNoRecipient)
	}
	r, err := s.execute(e.Kind, d)
	r.To, r.FromName = to, st.Name
	return r, err
}

// attachesInvoices reports whether invoice emails carry the PDF: they do
// when they are sent (SMTP) and the invoice service is there to serve it.
func (s *Service) attachesInvoices() bool { return s.invoices != nil && s.smtp != nil }

// attachments are the files an email carries: an invoice email's PDF,
// read from the invoice service as it was stored when issued.
func (s *Service) attachments(ctx context.Context, e notifydb.Email) ([]attachment, error) {
	if e.Kind != kindInvoiceSent || !s.attachesInvoices() {
		return nil, nil
	}
	var v invoiceapi.Issued
	if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
		return nil, bus.Permanent(fmt.Errorf("decode %s: %w", e.EventType, err))
	}
	pdf, err := s.invoices.File(ctx, v.ID, "pdf")
	if apiclient.IsCode(err, "invoice_not_found") {
		return nil, bus.Permanent(fmt.Errorf("attach %s: %w", v.Number, err))
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", v.Number, err)
	}
	return []attachment{{name: v.Number + ".pdf", contentType: "application/pdf", body: pdf}}, nil
}

// execute renders the three parts of an email of kind in d.Lang.
func (s *Service) execute(kind string, d mailData) (rendered, error) {
	t := s.templates[d.Lang]
	var subj, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subj, kind+".subject", d); err != nil {
		return rendered{}, bus.Permanent(fmt.Errorf("render %s subject: %w", kind, err))
	}
	if err := t.text.ExecuteTemplate(&text, kind+".text", d); err != nil {
		return rendered{}, bus.Permanent(fmt.Errorf("render %s text: %w", kind, err))
	}
	if err := t.html.ExecuteTemplate(&html, kind+".html", d); err != nil {
		return rendered{}, bus.Permanent(fmt.Errorf("render %s html: %w", kind, err))
	}
	// A subject is one line, whatever the data held.
	subject := strings.Join(strings.Fields(subj.String()), " ")
	return rendered{Locale: d.Lang, Subject: subject, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// expires formats a link's expiry for an email.
func expires(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// storeView is the store as an email needs it.
type storeView struct {
	mailStore
	Locale string
}

// mailStore reads the store in ctx from the tenant service. Without one
// (tests, a notify process told of no tenant service), the store is named
// by its ID and has the default locale.
func (s *Service) mailStore(ctx context.Context) (storeView, error) {
	const defaultColor = "#222222" // a store that chose no brand colour
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return storeView{}, bus.Permanent(err)
	}
	if s.stores == nil {
		return storeView{mailStore: mailStore{Name: tenant, URL: s.shopURL(""), Color: defaultColor}}, nil
	}
	st, err := s.stores.Store(ctx)
	if err != nil {
		return storeView{}, fmt.Errorf("read the store: %w", err)
	}
	v := storeView{mailStore: mailStore{Name: st.Name, URL: s.shopURL(shopHost(st.Hosts)), Color: st.BrandColor}, Locale: st.Locale}
	if v.Color == "" {
		v.Color = defaultColor
	}
	switch {
	case strings.HasPrefix(st.Logo, "https://"), strings.HasPrefix(st.Logo, "http://"):
		v.Logo = st.Logo
	case strings.HasPrefix(st.Logo, "/"):
		v.Logo = v.URL + st.Logo
	}
	return v, nil
}

// shopHost picks the host a store's links use: its first host that is
// not localhost, 127.0.0.1 or a *.localhost name (a custom domain, or a
// subdomain of a real base domain), else its first host.
func shopHost(hosts []string) string {
	for _, h := range hosts {
		if h != "localhost" && !strings.HasSuffix(h, ".localhost") && h != "127.0.0.1" {
			return h
		}
	}
	if len(hosts) > 0 {
		return hosts[0]
	}
	return ""
}

// shopURL is the shop's address on host, from Config.Mail.ShopURL
// ("http://{host}:8080" on the laptop), without a final slash.
func (s *Service) shopURL(host string) string {
	if host == "" {
		host = "localhost"
	}
	return strings.TrimSuffix(strings.ReplaceAll(s.cfg.Mail.ShopURL, "{host}", host), "/")
}

// ownerAddress is the address of the store's owner (the oldest active
// one), who receives the store's own emails.
func (s *Service) ownerAddress(ctx context.Context) (string, error) {
	if s.staff == nil {
		return "", bus.Permanent(fmt.Errorf("%w: no identity service to find the owner", errNoRecipient))
	}
	l, err := s.staff.ListStaff(ctx)
	if err != nil {
		return "", fmt.Errorf("list the staff: %w", err)
	}
	for _, m := range l.Items {
		if m.Role == string(auth.RoleOwner) && m.Status == identityapi.StatusActive && m.Email != "" {
			return m.Email, nil
		}
	}
	return "", bus.Permanent(fmt.Errorf("%w: the store has no active owner", errNoRecipient))
}
