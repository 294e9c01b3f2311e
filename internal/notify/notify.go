// Package notify is the notify service: the store's emails and its
// merchant webhooks.
//
// Emails (email.go, mailer.go, emaillog.go): a consumer turns each emailed
// event (an order confirmed, shipped, …; a password reset; a staff
// invitation; a new review; a webhook disabled) into one email row in the
// transaction that records the event in the inbox; a worker renders it in
// the store's language with the store's name and logo (text and HTML
// parts) and sends it over SMTP with retries, or, without SMTP settings,
// keeps it for the admin's Emails pages. An email refused for good is
// marked failed, the dead letters of email, and can be sent again.
//
// Webhooks: a store's subscriptions (an endpoint URL, the event types it
// wants, a signing secret), a consumer that turns each subscribed event into
// one delivery per subscription, a worker that sends each delivery signed as
// the Standard Webhooks specification says, retrying with exponential backoff
// and jitter for about a day, a delivery log with one entry per attempt,
// manual replay, and the disabling of a subscription whose endpoint fails for
// a day (announced as notify.webhook_disabled.v1).
//
// Delivery is at least once and unordered: a receiver deduplicates on the
// webhook-id header, which is the same on every attempt of a delivery.
//
// Outbound requests never reach a loopback, private, link-local or metadata
// address unless Config.AllowPrivate is set: the check runs on the resolved
// address at connect time (net.Dialer.Control), so a name that resolves to
// such an address later (DNS rebinding) is refused as well.
//
// Every table is keyed by tenant and every query of a request takes the
// tenant from its context (tenancy.ID); the delivery worker, which spans
// tenants by design, finds due deliveries under sqldb.AllTenants and handles
// each under its own tenant.
package notify

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are every set the notify database needs, in order: the
// platform's outbox and inbox, then the webhook tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "notify_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrSubscriptionNotFound = errors.New("notify: webhook subscription not found")
	ErrDeliveryNotFound     = errors.New("notify: webhook delivery not found")
	// ErrInvalid is the Err of every *kit.ValidationError of the service.
	ErrInvalid = errors.New("notify: invalid input")
	// ErrForbiddenTarget is the Err of the *kit.ValidationError refusing a
	// URL whose host is a loopback, private, link-local or metadata
	// address; at connect time, the error of the attempt.
	ErrForbiddenTarget = errors.New("notify: webhook target address not allowed")
)

// Config tunes the notify service. The zero value takes the defaults.
type Config struct {
	// AllowPrivate lets webhooks reach loopback, private and link-local
	// addresses: for local development only. The cloud metadata services
	// stay out of reach even so.
	AllowPrivate bool
	// Timeout bounds one delivery attempt, connection to last byte.
	Timeout time.Duration
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it, up to RetryMax, with ±25% jitter.
	RetryBase time.Duration
	RetryMax  time.Duration
	// RetryFor is how long after its first attempt a delivery is retried;
	// then it fails.
	RetryFor time.Duration
	// DisableAfter is how long a subscription may fail (every attempt since
	// the last success failed) before it is disabled.
	DisableAfter time.Duration
	// Poll is how often the workers look for due deliveries and emails
	// when nothing wakes them; Workers how many delivery attempts run at
	// once.
	Poll    time.Duration
	Workers int
	// Keep is how long a finished delivery and its log are kept after
	// their last attempt.
	Keep time.Duration
	// Paging is the lists' page size and its cap.
	Paging kit.Paging
	// Mail is the emails' settings.
	Mail MailConfig
	// faults is fault injection for the crash tests, in a binary built
	// with -tags faultinject only (kit.Faults).
	faults kit.Faults
}

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryBase    = 30 * time.Second
	DefaultRetryMax     = 2 * time.Hour
	DefaultRetryFor     = 24 * time.Hour
	DefaultDisableAfter = 24 * time.Hour
	DefaultPoll         = time.Second
	DefaultWorkers      = 4
	DefaultKeep         = 30 * 24 * time.Hour
	DefaultPageSize     = 50
	DefaultMaxPageSize  = 200
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "notify."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.BoolVar(&c.AllowPrivate, prefix+"webhooks-allow-private", false, "let webhooks reach loopback, private and link-local addresses, never cloud metadata (local development only)")
	fs.DurationVar(&c.Timeout, prefix+"webhooks-timeout", DefaultTimeout, "time limit of one webhook delivery attempt")
	fs.DurationVar(&c.RetryBase, prefix+"webhooks-retry-base", DefaultRetryBase, "wait after a webhook delivery's first failed attempt, doubled after each further failure")
	fs.DurationVar(&c.RetryMax, prefix+"webhooks-retry-max", DefaultRetryMax, "longest wait between two attempts of a webhook delivery")
	fs.DurationVar(&c.RetryFor, prefix+"webhooks-retry-for", DefaultRetryFor, "how long a webhook delivery is retried before it fails")
	fs.DurationVar(&c.DisableAfter, prefix+"webhooks-disable-after", DefaultDisableAfter, "how long a webhook subscription may fail before it is disabled")
	fs.DurationVar(&c.Poll, prefix+"webhooks-poll", DefaultPoll, "how often the webhook and email workers look for due deliveries and emails")
	fs.IntVar(&c.Workers, prefix+"webhooks-workers", DefaultWorkers, "webhook delivery attempts run at once")
	fs.DurationVar(&c.Keep, prefix+"webhooks-keep", DefaultKeep, "how long a finished webhook delivery and its log are kept")
	c.Paging.RegisterFlags(fs, prefix, "items", "a list request", DefaultPageSize, DefaultMaxPageSize)
	c.Mail.registerFlags(fs, prefix)
	c.faults = kit.Faults{Points: []string{crashAfterSend}}
	c.faults.RegisterFlags(fs, prefix, "this email step")
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if err := checkDurations(c.durations()); err != nil {
		return err
	}
	if err := checkRetries("webhooks", c.RetryBase, c.RetryMax, c.Workers); err != nil {
		return err
	}
	if err := c.Mail.validate(); err != nil {
		return err
	}
	if err := c.faults.Validate("notify"); err != nil {
		return err
	}
	return c.Paging.Validate("notify", kit.PageCeiling)
}

func (c Config) withDefaults() Config {
	defaultDurations(c.durations())
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	c.Mail = c.Mail.withDefaults()
	return c
}

// durations are the webhooks' duration settings.
func (c *Config) durations() []duration {
	return []duration{{"webhooks-timeout", &c.Timeout, DefaultTimeout}, {"webhooks-retry-base", &c.RetryBase, DefaultRetryBase},
		{"webhooks-retry-max", &c.RetryMax, DefaultRetryMax}, {"webhooks-retry-for", &c.RetryFor, DefaultRetryFor},
		{"webhooks-disable-after", &c.DisableAfter, DefaultDisableAfter}, {"webhooks-poll", &c.Poll, DefaultPoll}, {"webhooks-keep", &c.Keep, DefaultKeep}}
}

// duration is a duration setting: its flag's name (without the prefix),
// where it is kept, and its default.
type duration struct {
	name string
	v    *time.Duration
	def  time.Duration
}

// checkDurations refuses a negative duration.
func checkDurations(ds []duration) error {
	for _, d := range ds {
		if *d.v < 0 {
			return fmt.Errorf("notify: %s %s is negative", d.name, *d.v)
		}
	}
	return nil
}

// checkRetries refuses a first wait above the longest, and negative
// workers, of the flags what-retry-base, -retry-max and -workers.
func checkRetries(what string, base, max time.Duration, workers int) error {
	if max != 0 && base > max {
		return fmt.Errorf("notify: %s-retry-base %s is above %s-retry-max %s", what, base, what, max)
	}
	if workers < 0 {
		return fmt.Errorf("notify: %s-workers %d is negative", what, workers)
	}
	return nil
}

// defaultDurations gives each zero duration its default.
func defaultDurations(ds []duration) {
	for _, d := range ds {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// Deps is what the notify service is built from. The events it sends
// reach it through Deps.Bus (nil: no deliveries or emails are made from
// events; tests hand events to the handlers).
type Deps struct {
	kit.Deps
	// Stores reads a store's name, logo, locale and hosts for its emails.
	// Nil: emails name the store by its ID, in English, with links to
	// -notify.shop-url on localhost.
	Stores Stores
	// Staff finds the owner's address, to whom the store's own emails (a
	// new review, a webhook disabled) go. Nil: those emails fail.
	Staff Staff
	// Invoices serves the PDF an invoice email attaches. Nil: invoice
	// emails carry only the link to the order's page.
	Invoices InvoiceFiles
}

// Service is the notify service. It is safe for concurrent use.
type Service struct {
	cfg       Config
	st        *kit.Store[*notifydb.Queries]
	bus       bus.Bus
	log       *slog.Logger
	now       func() time.Time
	client    *http.Client
	consumers kit.Consumers
	// wake tells the worker that a delivery may be due now.
	wake chan struct{}

	stores    Stores
	staff     Staff
	invoices  InvoiceFiles
	templates map[string]templates
	// smtp is where emails go; nil: they are kept (the laptop).
	smtp *smtpServer
	// mailWake tells the email worker that an email may be due now.
	mailWake chan struct{}
	// crash is the fault injection hook (nil but in crash tests).
	crash func(point string)
}

// New returns the notify service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "notify", deps.Deps, notifydb.Prepare)
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, st: st, bus: deps.Bus, log: deps.Logger(), now: time.Now,
		client: newClient(cfg), wake: make(chan struct{}, 1),
		stores: deps.Stores, staff: deps.Staff, invoices: deps.Invoices, templates: tmpl, mailWake: make(chan struct{}, 1), crash: cfg.faults.Crash()}
	if cfg.Mail.SMTPURL != "" {
		srv, err := parseSMTP(cfg.Mail.SMTPURL)
		if err != nil {
			return nil, err
		}
		s.smtp = &srv
	}
	return s, nil
}

// notifyWorker wakes the delivery worker without blocking.
func (s *Service) notifyWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
