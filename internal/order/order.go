// Package order is the order service: the checkout saga that turns a cart
// or a list of items into a confirmed order, and the order's life after it
// (shipments with capture, delivery tracking, cancellation, refunds and
// returns).
//
// Checkout is a saga orchestrated here (see saga.go): quote → insert the
// order pending → reserve stock → redeem the coupon → authorize payment →
// commit stock and confirm. Only the order's ends are written to it
// (pending, then confirmed or cancelled, each one conditional UPDATE): the
// steps between are calls idempotent on the order ID, and the service that
// owns each is the record of whether it happened. On failure the saga
// compensates (release stock, release the coupon, void the payment). A
// process that dies mid-saga leaves a pending order that a recovery pass
// (Start, then Run every few seconds) finishes once its lease has run out,
// going by the payment: authorized, the order is confirmed; anything else,
// compensated and cancelled. Every order ends confirmed or cancelled with
// stock and payment consistent.
//
// Money columns keep total_due = total − captured + refunded and
// 0 ≤ refunded ≤ captured ≤ total as CHECK constraints; captured and
// refunded are taken from the payment service's answers in the same
// transaction as the order change.
package order

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the order tables, after the outbox's they write
// events to.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "order_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrNotFound               = errors.New("order: order not found")
	ErrShipmentNotFound       = errors.New("order: shipment not found")
	ErrReturnNotFound         = errors.New("order: return not found")
	ErrIdempotencyKeyRequired = errors.New("order: Idempotency-Key header required")
	ErrIdempotencyKeyReused   = errors.New("order: Idempotency-Key used with a different request")
	ErrInProgress             = errors.New("order: checkout with this key still in progress")
	ErrPaymentTimeout         = errors.New("order: payment provider timed out")
	ErrCouponExhausted        = errors.New("order: coupon has no use left")
	ErrReservationExpired     = errors.New("order: stock reservation expired before confirmation")
	ErrInterrupted            = errors.New("order: checkout interrupted and cancelled")
	ErrTransition             = errors.New("order: not allowed in the order's status")
	ErrRefundExceedsCaptured  = errors.New("order: refund exceeds captured amount")
	ErrRefundKeyReused        = errors.New("order: refund key used for another amount")
	ErrCaptureFailed          = errors.New("order: payment capture refused")
	ErrUnavailable            = errors.New("order: a service the order depends on is unavailable")
	ErrConflict               = errors.New("order: concurrent change, try again")
	ErrCartCheckedOut         = errors.New("order: cart already checked out")
	ErrSignInRequired         = errors.New("order: sign in as a customer first")
	ErrNotCustomer            = errors.New("order: only a signed-in customer has orders")
)

// OutOfStockError is a checkout refused for lack of stock of SKU.
type OutOfStockError struct {
	SKU                  string
	Requested, Available int64
}

func (e *OutOfStockError) Error() string { return "order: out of stock: " + e.SKU }

// DeclinedError is a checkout whose payment the provider declined.
type DeclinedError struct{ Reason string }

func (e *DeclinedError) Error() string { return "order: payment declined: " + e.Reason }

// CaptureFailedError is a first shipment whose payment could not be
// captured, for good (Reason: the provider's decline reason, or the
// payment service's refusal): the order was cancelled instead. It matches
// ErrCaptureFailed.
type CaptureFailedError struct{ Reason string }

func (e *CaptureFailedError) Error() string { return "order: payment capture declined: " + e.Reason }

func (e *CaptureFailedError) Unwrap() error { return ErrCaptureFailed }

// RefundDeclinedError is a refund the payment provider (or the payment
// service) refused for good: nothing was refunded.
type RefundDeclinedError struct{ Reason string }

func (e *RefundDeclinedError) Error() string { return "order: refund declined: " + e.Reason }

// TransitionError is an operation the order's status (or its return's)
// does not allow; Detail says why, for the API's users. It matches
// ErrTransition.
type TransitionError struct{ Detail string }

func (e *TransitionError) Error() string { return "order: " + e.Detail }

func (e *TransitionError) Unwrap() error { return ErrTransition }

// notAllowed is a *TransitionError with a formatted detail.
func notAllowed(format string, args ...any) error {
	return &TransitionError{Detail: fmt.Sprintf(format, args...)}
}

// Config tunes the order service. The zero value takes the defaults.
type Config struct {
	// SagaLease is how long an unfinished order may go untouched before
	// recovery takes it over: longer than any healthy saga step, and than
	// SagaTimeout plus the compensations' own 15 s, so recovery never
	// works on an order a live checkout is still finishing.
	SagaLease time.Duration
	// RecoveryInterval is how often Run looks for unfinished orders.
	RecoveryInterval time.Duration
	// ReservationTTL is how long inventory holds a checkout's stock.
	ReservationTTL time.Duration
	// SagaTimeout bounds one checkout's calls to other services.
	SagaTimeout time.Duration
	// CheckoutWait bounds how long a retried checkout waits for the first
	// request with its key to finish.
	CheckoutWait time.Duration
	// Paging bounds the admin order list's pages.
	Paging kit.Paging
	// faults is fault injection for the crash tests, in a binary built
	// with -tags faultinject only (kit.Faults).
	faults kit.Faults
}

// Defaults of Config.
const (
	DefaultSagaLease        = 60 * time.Second
	DefaultRecoveryInterval = 5 * time.Second
	DefaultReservationTTL   = 15 * time.Minute
	DefaultSagaTimeout      = 20 * time.Second
	DefaultCheckoutWait     = 15 * time.Second
	DefaultPageSize         = 20
	DefaultMaxPageSize      = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "order."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.SagaLease, prefix+"saga-lease", DefaultSagaLease, "how long an unfinished checkout may go untouched before recovery finishes it")
	fs.DurationVar(&c.RecoveryInterval, prefix+"recovery-interval", DefaultRecoveryInterval, "how often unfinished checkouts are looked for")
	fs.DurationVar(&c.ReservationTTL, prefix+"reservation-ttl", DefaultReservationTTL, "how long inventory holds a checkout's stock")
	fs.DurationVar(&c.SagaTimeout, prefix+"saga-timeout", DefaultSagaTimeout, "bound on one checkout's calls to other services")
	fs.DurationVar(&c.CheckoutWait, prefix+"checkout-wait", DefaultCheckoutWait, "how long a retried checkout waits for the first request with its key")
	c.Paging.RegisterFlags(fs, prefix, "orders", "a list request", DefaultPageSize, DefaultMaxPageSize)
	c.faults = kit.Faults{Points: []string{crashAfterReserve, crashAfterAuthorize}}
	c.faults.RegisterFlags(fs, prefix, "this checkout step succeeded")
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	switch {
	case c.SagaLease <= 0 || c.RecoveryInterval <= 0 || c.ReservationTTL <= 0 || c.SagaTimeout <= 0 || c.CheckoutWait <= 0:
		return errors.New("order: saga-lease, recovery-interval, reservation-ttl, saga-timeout and checkout-wait must be positive")
	case c.ReservationTTL < time.Second || c.ReservationTTL > 24*time.Hour:
		return fmt.Errorf("order: reservation-ttl %s is not between one second and 24 hours", c.ReservationTTL)
	}
	if err := c.Paging.Validate("order", kit.PageCeiling); err != nil {
		return err
	}
	return c.faults.Validate("order")
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.SagaLease, DefaultSagaLease)
	def(&c.RecoveryInterval, DefaultRecoveryInterval)
	def(&c.ReservationTTL, DefaultReservationTTL)
	def(&c.SagaTimeout, DefaultSagaTimeout)
	def(&c.CheckoutWait, DefaultCheckoutWait)
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Deps is what the order service is built from.
type Deps struct {
	kit.Deps
	// Inventory reserves, commits, releases and restocks the orders'
	// stock. Required.
	Inventory Inventory
	// Pricing quotes checkouts and redeems their coupons. Required.
	Pricing Pricing
	// Payment authorizes, captures, voids and refunds the orders'
	// payments. Required.
	Payment Payments
	// Cart reads the cart a checkout names. Required.
	Cart Carts
}

// Service is the order service. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store store
	deps  Deps
	log   *slog.Logger
	now   func() time.Time
	// crash, when set, is called as the saga passes each crash point
	// (crashAfterReserve, crashAfterAuthorize) and may end the process
	// there: fault injection, set from Config in a faultinject build and
	// by the tests.
	crash  func(step string)
	tokens tokens
	// providers caches the payment providers on offer (checkProvider).
	providers providerList

	consumers kit.Consumers // subscribed in Start, stopped when Run ends
}

// New returns the order service on deps.DB, migrated with Migrations.
// Start subscribes its consumers on deps.Bus (none without one, for
// tests).
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Inventory == nil || deps.Pricing == nil || deps.Payment == nil || deps.Cart == nil {
		return nil, errors.New("order: the inventory, pricing, payment and cart clients are all required")
	}
	st, err := kit.Prepare(ctx, "order", deps.Deps, orderdb.Prepare)
	if err != nil {
		return nil, err
	}
	tk, err := loadTokens(ctx, deps.DB, time.Now())
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: store{st}, deps: deps, log: deps.Logger(), now: time.Now,
		crash: cfg.faults.Crash(), tokens: tk}, nil
}
