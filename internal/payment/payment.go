// Package payment is the payment service: one payment per order, authorized,
// captured (in parts), voided and refunded (in parts, repeatedly, never
// above what was captured) through a provider: the built-in fake (the
// laptop default, with test tokens) or Stripe.
//
// Every provider call carries an idempotency key derived from the tenant,
// the order and the operation ("mercato-<tenant>-<order>-authorize", …), and
// every operation is first written to the payment_operations ledger as
// pending, then sent, then recorded with its event in one transaction. So a
// call whose answer was lost (a timeout, a crash) is settled by sending it
// again with the same key: the provider answers with the first outcome.
//
// Authorize is idempotent on the order ID: the first caller inserts the
// payment as pending and calls the provider; concurrent callers wait for the
// row to leave pending and return the same outcome. A pending payment whose
// caller died is settled by the sweep (at start and then periodically) or by
// the next call for the order: the authorization is replayed with its key
// and voided, and the payment marked failed, so nothing stays authorized
// without an order that knows of it. Void of a pending payment wins over the
// authorization in flight: that one sees the voided row and voids at the
// provider instead of recording the authorization.
//
// Events (payment.authorized/captured/refunded/failed/voided.v1) go through
// the outbox in the transaction of the change. Every table is keyed by
// tenant, every query scoped by the tenant of the context.
package payment

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the payment database is migrated with: the
// outbox it borrows from the platform, then its own tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "payment_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrNotFound              = errors.New("payment: payment not found")
	ErrInvalid               = errors.New("payment: invalid input")
	ErrUnknownProvider       = errors.New("payment: unknown provider")
	ErrCurrencyMismatch      = errors.New("payment: currency differs from the payment's")
	ErrInvalidState          = errors.New("payment: operation not allowed in this state")
	ErrCaptureExceeds        = errors.New("payment: capture exceeds the authorized amount")
	ErrRefundExceedsCaptured = errors.New("payment: refund exceeds the captured amount")
	ErrKeyReused             = errors.New("payment: idempotency key reused with other parameters")
	ErrMismatch              = errors.New("payment: the order's payment was made with other parameters")
	ErrPending               = errors.New("payment: authorization still in progress")
	ErrProvider              = errors.New("payment: provider error")
	ErrConflict              = errors.New("payment: concurrent change, try again")
)

// ExceedsError is a capture or refund above what is available; Err is
// ErrCaptureExceeds or ErrRefundExceedsCaptured.
type ExceedsError struct {
	Err       error
	Available int64 // minor units still available
}

func (e *ExceedsError) Error() string {
	return fmt.Sprintf("%v (available %d)", e.Err, e.Available)
}

func (e *ExceedsError) Unwrap() error { return e.Err }

// Config tunes the payment service. The zero value takes the defaults.
type Config struct {
	// Fake says when the built-in fake provider runs (see FakeMode). It
	// accepts test tokens as payments: outside the laptop shape it is for
	// tests and demos only, and Warnings says so.
	Fake FakeMode
	// Laptop says the process runs in the laptop shape: SQLite files and
	// the embedded bus. The platform sets it; it is no flag.
	Laptop bool
	// FakeTimeoutDelay is how long the fake's tok_timeout waits before
	// timing out.
	FakeTimeoutDelay time.Duration
	// FakeWebhookSecret verifies the fake provider's webhooks. Empty
	// refuses them all; the platform fills it from the data directory
	// unless the operator sets it (see cmd/mercato).
	FakeWebhookSecret string
	// StripeKey enables the Stripe provider.
	StripeKey string
	// StripeURL is the Stripe API base (empty: api.stripe.com; stripe-mock
	// in tests).
	StripeURL string
	// StripeWebhookSecret verifies Stripe's webhook signatures.
	StripeWebhookSecret string
	// ProviderTimeout bounds one provider call.
	ProviderTimeout time.Duration
	// PendingLease is how long an authorization may stay pending before it
	// is taken for abandoned and settled (replayed and voided). It must be
	// well above ProviderTimeout.
	PendingLease time.Duration
}

// Defaults of Config.
const (
	DefaultProviderTimeout = 20 * time.Second
	DefaultPendingLease    = time.Minute
	pageSize               = 20
	maxPageSize            = 100
)

// FakeMode says when the built-in fake provider runs: FakeAuto (the
// default, also the empty string) in the laptop shape only, FakeOn and
// FakeOff always and never. As a flag it takes true, false or auto; the
// flag alone means true.
type FakeMode string

// The fake provider's modes.
const (
	FakeAuto FakeMode = "auto"
	FakeOn   FakeMode = "true"
	FakeOff  FakeMode = "false"
)

// String implements pflag.Value.
func (m *FakeMode) String() string {
	if *m == "" {
		return string(FakeAuto)
	}
	return string(*m)
}

// Set implements pflag.Value: true, false (or another spelling that
// strconv.ParseBool takes) or auto.
func (m *FakeMode) Set(v string) error {
	if strings.EqualFold(v, string(FakeAuto)) {
		*m = FakeAuto
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true, false or auto, got %q", v)
	}
	*m = FakeOff
	if b {
		*m = FakeOn
	}
	return nil
}

// Type implements pflag.Value.
func (m *FakeMode) Type() string { return "true|false|auto" }

// FakeEnabled reports whether the fake provider runs with this config.
func (c Config) FakeEnabled() bool {
	switch c.Fake {
	case FakeOn:
		return true
	case FakeOff:
		return false
	}
	return c.Laptop
}

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "payment."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	c.Fake = FakeAuto
	fs.Var(&c.Fake, prefix+"fake", "the built-in fake provider, which takes test tokens (tok_visa, tok_declined, ...) as payments: auto runs it only in the laptop shape (no -db, -bus=embedded); true also elsewhere, with a warning in the log and on /readyz")
	fs.Lookup(prefix + "fake").NoOptDefVal = string(FakeOn)
	fs.DurationVar(&c.FakeTimeoutDelay, prefix+"fake-timeout-delay", 0, "how long the fake provider's tok_timeout waits before timing out")
	fs.StringVar(&c.FakeWebhookSecret, prefix+"fake-webhook-secret", "", "secret verifying the fake provider's webhooks (default: generated once and kept in the data directory as fake-webhook-secret) (secret)")
	fs.StringVar(&c.StripeKey, prefix+"stripe-key", "", "Stripe secret API key; enables the stripe provider (secret)")
	fs.StringVar(&c.StripeURL, prefix+"stripe-url", "", "Stripe API base URL (empty: https://api.stripe.com; stripe-mock in tests)")
	fs.StringVar(&c.StripeWebhookSecret, prefix+"stripe-webhook-secret", "", "Stripe webhook signing secret, whsec_... (secret)")
	fs.DurationVar(&c.ProviderTimeout, prefix+"provider-timeout", DefaultProviderTimeout, "bound of one provider call")
	fs.DurationVar(&c.PendingLease, prefix+"pending-lease", DefaultPendingLease, "age after which a pending authorization is taken for abandoned and voided")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.ProviderTimeout == 0 {
		c.ProviderTimeout = DefaultProviderTimeout
	}
	if c.PendingLease == 0 {
		c.PendingLease = max(DefaultPendingLease, 3*c.ProviderTimeout)
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.ProviderTimeout <= 0 || c.PendingLease <= 0 || c.FakeTimeoutDelay < 0 {
		return fmt.Errorf("payment: provider-timeout (%s) and pending-lease (%s) must be positive, fake-timeout-delay (%s) not negative",
			c.ProviderTimeout, c.PendingLease, c.FakeTimeoutDelay)
	}
	if c.PendingLease < 2*c.ProviderTimeout {
		return fmt.Errorf("payment: pending-lease %s must be at least twice provider-timeout %s", c.PendingLease, c.ProviderTimeout)
	}
	switch c.Fake {
	case "", FakeAuto, FakeOn, FakeOff:
	default:
		return fmt.Errorf("payment: fake must be true, false or auto, got %q", c.Fake)
	}
	if c.StripeURL != "" && c.StripeKey == "" {
		return errors.New("payment: stripe-url is set but stripe-key is not")
	}
	return nil
}

// Deps is what the payment service is built from. It calls no other
// service: its providers are built from Config.
type Deps struct {
	kit.Deps
}

// Service is the payment service. It is safe for concurrent use.
type Service struct {
	cfg       Config
	store     *kit.Store[*paymentdb.Queries]
	providers map[string]Provider
	log       *slog.Logger
	now       func() time.Time
	// pollMax bounds the wait of a concurrent Authorize for the first.
	pollMax time.Duration
}

// New returns the payment service on deps.DB, migrated with Migrations;
// deps.Relay is woken after each write.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "payment", deps.Deps, paymentdb.Prepare)
	if err != nil {
		return nil, err
	}
	providers := map[string]Provider{}
	if cfg.FakeEnabled() {
		providers[paymentapi.ProviderFake] = NewFake(deps.DB, cfg.FakeTimeoutDelay, cfg.FakeWebhookSecret)
	}
	if cfg.StripeKey != "" {
		providers[paymentapi.ProviderStripe] = NewStripe(cfg.StripeKey, cfg.StripeURL, cfg.StripeWebhookSecret,
			&http.Client{Timeout: cfg.ProviderTimeout})
	}
	return &Service{
		cfg: cfg, store: st, providers: providers, log: deps.Logger(),
		now: time.Now, pollMax: cfg.ProviderTimeout + 5*time.Second,
	}, nil
}
