// Package cart is the cart service: guest and customer shopping carts, their
// lines, and what they cost.
//
// A cart is public and identified by an unguessable ID, which is its guest's
// bearer secret. Lines show the catalog's current title and price, read from
// a local projection of the catalog's product events (the cart never calls
// the catalog); totals come from a quote of the pricing service, and a cart
// read still answers, without totals, when pricing cannot quote it. When the
// order service confirms an order made from a cart, the cart is marked
// checked out (read-only) and cart.checked_out.v1 is published. Open carts
// untouched for the configured TTL are deleted by a sweeper.
//
// Every table is keyed by tenant and every query takes the tenant from the
// context (tenancy.ID): a cart ID of one tenant is unknown to every other.
package cart

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the cart tables. Apply outbox.Migrations first.
var Migrations = sqldb.Embedded(migrationFiles, "migrations", "cart_db_version")

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrNotFound         = errors.New("cart: cart not found")
	ErrLineNotFound     = errors.New("cart: line not found")
	ErrCheckedOut       = errors.New("cart: cart is checked out")
	ErrInvalid          = errors.New("cart: invalid input")
	ErrInvalidQuantity  = errors.New("cart: quantity must be 1..10000")
	ErrUnknownSKU       = errors.New("cart: unknown or unavailable SKU")
	ErrTooManyLines     = errors.New("cart: too many lines")
	ErrCurrencyMismatch = errors.New("cart: SKU priced in another currency than the cart")
	ErrInvalidCursor    = errors.New("cart: invalid cursor")
	// ErrPricingUnavailable means a change that needs the pricing service's
	// word (setting a coupon) could not get it.
	ErrPricingUnavailable = errors.New("cart: pricing service unavailable")
)

// InputError is a request the service refuses: Err (one of the sentinels
// above) says why, Field and Value what.
type InputError struct {
	Err error
	// Field is the JSON name of the field at fault, e.g. "items[2].sku".
	Field string
	Value any
	// Message is for people; Err's text when empty.
	Message string
}

func (e *InputError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Field)
}

func (e *InputError) Unwrap() error { return e.Err }

// PricingError is the pricing service refusing a quote the cart asked for
// to check a change (an unknown coupon, a country it does not ship to): the
// change is refused with pricing's status and code.
type PricingError struct {
	Status int
	Code   string
	Detail string
	Fields []FieldError
}

// FieldError is one field a PricingError names.
type FieldError struct {
	Location string
	Message  string
	Value    any
}

func (e *PricingError) Error() string {
	return fmt.Sprintf("cart: pricing refused the cart: %d %s: %s", e.Status, e.Code, e.Detail)
}

// Quoter prices a basket: the one thing the cart needs of the pricing
// service (*pricingapi.Client implements it).
type Quoter interface {
	Quote(ctx context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error)
}

// Config tunes the cart service. The zero value takes the defaults.
type Config struct {
	// TTL is how long an open cart may stay untouched before the sweeper
	// deletes it.
	TTL time.Duration
	// SweepInterval is how often the sweeper looks for abandoned carts.
	SweepInterval time.Duration
	// QuoteTimeout bounds the pricing call of one cart read: past it the
	// cart answers without totals rather than hang.
	QuoteTimeout time.Duration
	// PageSize is the admin list's page size when a request gives no limit.
	PageSize int
	// MaxPageSize caps the limit a request may ask for.
	MaxPageSize int
}

// Defaults of Config.
const (
	DefaultTTL           = 30 * 24 * time.Hour
	DefaultSweepInterval = time.Hour
	DefaultQuoteTimeout  = 3 * time.Second
	DefaultPageSize      = 20
	DefaultMaxPageSize   = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "cart."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.TTL, prefix+"ttl", DefaultTTL, "how long an open cart may stay untouched before it is deleted")
	fs.DurationVar(&c.SweepInterval, prefix+"sweep-interval", DefaultSweepInterval, "how often abandoned carts are looked for")
	fs.DurationVar(&c.QuoteTimeout, prefix+"quote-timeout", DefaultQuoteTimeout, "how long a cart read waits for the pricing service before answering without totals")
	fs.IntVar(&c.PageSize, prefix+"page-size", DefaultPageSize, "carts per page when an admin list request gives no limit")
	fs.IntVar(&c.MaxPageSize, prefix+"max-page-size", DefaultMaxPageSize, "largest page an admin list request may ask for")
}

// Validate reports a config the service cannot run with.
func (c Config) Validate() error {
	if c.TTL < time.Minute {
		return fmt.Errorf("cart: ttl %s is below one minute", c.TTL)
	}
	if c.SweepInterval < time.Second {
		return fmt.Errorf("cart: sweep-interval %s is below one second", c.SweepInterval)
	}
	if c.QuoteTimeout <= 0 {
		return fmt.Errorf("cart: quote-timeout %s must be positive", c.QuoteTimeout)
	}
	if c.PageSize < 1 || c.MaxPageSize < c.PageSize || c.MaxPageSize > 1000 {
		return fmt.Errorf("cart: need 1 <= page-size (%d) <= max-page-size (%d) <= 1000", c.PageSize, c.MaxPageSize)
	}
	return nil
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.QuoteTimeout == 0 {
		c.QuoteTimeout = DefaultQuoteTimeout
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = max(DefaultMaxPageSize, c.PageSize)
	}
	return c
}

// Service is the cart service. It is safe for concurrent use.
type Service struct {
	cfg     Config
	db      *sqldb.DB
	store   *store
	bus     bus.Bus
	events  *outbox.Relay
	pricing Quoter
	stores  Stores // nil: a cart takes its first line's currency
	log     *slog.Logger
	now     func() time.Time
	newID   func() string

	mu        sync.Mutex
	consumers []bus.Consumer
}

// New returns the cart service on db, which must be migrated with
// outbox.Migrations and Migrations. b carries the catalog and order events
// the service consumes (subscribed in Start); events is woken after writes
// that added events (nil is fine: its poll finds them). pricing quotes the
// carts' totals.
func New(cfg Config, db *sqldb.DB, b bus.Bus, events *outbox.Relay, pricing Quoter, log *slog.Logger, opts ...Option) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("cart: no database")
	}
	if pricing == nil {
		return nil, errors.New("cart: no pricing client")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// New has no context to take (its signature is the runner's); preparing
	// statements is quick and bounded here instead.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := newStore(ctx, db)
	if err != nil {
		return nil, err
	}
	svc := &Service{cfg: cfg, db: db, store: st, bus: b, events: events, pricing: pricing, log: log,
		now: time.Now, newID: newID}
	for _, o := range opts {
		o(svc)
	}
	return svc, nil
}

// newID returns a UUIDv7 for a line: time-ordered, so a cart's lines list
// in the order they were added. NewV7 fails only if crypto/rand does, which
// since Go 1.24 aborts the program instead of returning an error.
func newID() string {
	id, _ := uuid.NewV7()
	return id.String()
}

// write runs fn in a write transaction and wakes the relay after a commit
// when fn wrote events.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx, q *cartdb.Queries) (events bool, err error)) error {
	var events bool
	err := s.store.tx(ctx, func(tx *sql.Tx, q *cartdb.Queries) error {
		var err error
		events, err = fn(tx, q)
		return err
	})
	if err == nil && events && s.events != nil {
		s.events.Notify()
	}
	return err
}

// Create creates an open cart for the tenant in ctx, with the lines and
// fields of in (all optional). A coupon is checked with the pricing service
// when there are lines to quote; on an empty cart it is kept unchecked and
// shows in the totals once lines are added.
func (s *Service) Create(ctx context.Context, in cartapi.CartCreate) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	items, err := mergeItems(in.Items)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkEmail("email", in.Email); err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuoteFields(&in.Coupon, &in.Country, &in.Region, &in.ShippingMethod); err != nil {
		return cartapi.Cart{}, err
	}
	now := s.now()
	c := cartdb.Cart{
		TenantID: tenant, ID: newCartID(), Status: cartapi.StatusOpen, Email: in.Email,
		Coupon: normalCoupon(in.Coupon), Country: in.Country, Region: in.Region, ShippingMethod: in.ShippingMethod,
		CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro(),
	}
	cur, err := s.storeCurrency(ctx)
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("create cart: %w", err)
	}
	// Refuse bad SKUs with the cart's own codes before asking pricing.
	err = s.store.readTx(ctx, func(q *cartdb.Queries) error {
		var err error
		c.Currency, err = resolveItems(ctx, q, tenant, items, cur)
		return err
	})
	if err != nil {
		return cartapi.Cart{}, err
	}
	lines := make([]cartdb.ListLinesRow, len(items))
	for i, it := range items {
		lines[i] = cartdb.ListLinesRow{ID: s.newID(), Sku: it.SKU, Quantity: it.Quantity}
	}
	if c.Coupon != "" || c.Country != "" || c.ShippingMethod != "" {
		if err := s.checkQuote(ctx, c, lines); err != nil {
			return cartapi.Cart{}, err
		}
	}
	err = s.write(ctx, func(_ *sql.Tx, q *cartdb.Queries) (bool, error) {
		// Again in the transaction: the projection may have moved on.
		if _, err := resolveItems(ctx, q, tenant, items, cur); err != nil {
			return false, err
		}
		if err := q.InsertCart(ctx, cartdb.InsertCartParams{
			TenantID: tenant, ID: c.ID, Email: c.Email, CustomerID: c.CustomerID, Currency: c.Currency,
			Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		}); err != nil {
			return false, fmt.Errorf("insert cart: %w", err)
		}
		for _, l := range lines {
			if err := q.InsertLine(ctx, cartdb.InsertLineParams{TenantID: tenant, CartID: c.ID, ID: l.ID, Sku: l.Sku,
				Quantity: l.Quantity, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}); err != nil {
				return false, fmt.Errorf("insert line %s: %w", l.Sku, err)
			}
		}
		return false, nil
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("create cart: %w", err)
	}
	s.log.DebugContext(ctx, "cart created", "tenant", tenant, "lines", len(lines))
	return s.Cart(ctx, c.ID)
}

// checkQuote asks pricing to quote the cart c with lines as it would be
// after a change, and turns a refusal into a *PricingError. A cart with
// nothing to quote passes. When pricing cannot answer, a change that sets a
// coupon is refused (ErrPricingUnavailable): a coupon is only taken once
// pricing accepted it; other changes pass and show in the next read.
func (s *Service) checkQuote(ctx context.Context, c cartdb.Cart, lines []cartdb.ListLinesRow) error {
	req, ok := quoteRequest(s.preview(ctx, c, lines))
	if !ok {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QuoteTimeout)
	defer cancel()
	_, err := s.pricing.Quote(qctx, req)
	if err == nil {
		return nil
	}
	if pe := rejection(err); pe != nil {
		return pe
	}
	s.log.WarnContext(ctx, "quote to check a cart change", "err", err)
	if c.Coupon != "" {
		return ErrPricingUnavailable
	}
	return nil
}

// preview is view for lines not yet written: their products are looked up
// in the projection.
func (s *Service) preview(ctx context.Context, c cartdb.Cart, lines []cartdb.ListLinesRow) cartapi.Cart {
	full := make([]cartdb.ListLinesRow, len(lines))
	copy(full, lines)
	// A line whose SKU cannot be read stays unjoined, as an unknown SKU
	// would: the quote then says what is wrong with it.
	_ = s.store.readTx(ctx, func(q *cartdb.Queries) error {
		for i, l := range full {
			if l.ProductID != "" {
				continue // a line read from the database, already joined
			}
			row, err := q.GetSKU(ctx, cartdb.GetSKUParams{TenantID: c.TenantID, Sku: l.Sku})
			if err == nil {
				full[i].ProductID, full[i].VariantID, full[i].Title = row.ProductID, row.VariantID, row.Title
				full[i].Price, full[i].Currency, full[i].Active = row.Price, row.Currency, row.Active
			}
		}
		return nil
	})
	return view(c, full)
}

// Cart returns a cart of the tenant in ctx with its current prices and,
// when pricing can quote it, its totals. A failing pricing service never
// fails the read: the cart then carries TotalsError instead of Totals.
func (s *Service) Cart(ctx context.Context, id string) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	row, lines, err := s.store.readCart(ctx, tenant, id)
	if err != nil {
		return cartapi.Cart{}, err
	}
	c := view(row, lines)
	req, ok := quoteRequest(c)
	if !ok || c.Status != cartapi.StatusOpen {
		// A checked-out cart's figures are the order's now; its lines
		// remain for reference.
		return c, nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QuoteTimeout)
	defer cancel()
	q, err := s.pricing.Quote(qctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return cartapi.Cart{}, ctx.Err()
		}
		if rejection(err) == nil {
			s.log.WarnContext(ctx, "quote cart", "err", err)
		}
		c.TotalsError = totalsProblem(err)
		return c, nil
	}
	c.Totals = totals(q)
	return c, nil
}

// Update changes a cart's email, coupon and destination. Changes that
// affect the quote are checked with pricing first (see checkQuote).
func (s *Service) Update(ctx context.Context, id string, in cartapi.CartUpdate) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	old, lines, err := s.store.readCart(ctx, tenant, id)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if old.Status != cartapi.StatusOpen {
		return cartapi.Cart{}, ErrCheckedOut
	}
	next, priced, err := patch(old, in)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if priced {
		if err := s.checkQuote(ctx, next, lines); err != nil {
			return cartapi.Cart{}, err
		}
	}
	err = s.write(ctx, func(_ *sql.Tx, q *cartdb.Queries) (bool, error) {
		c, err := lockCart(ctx, q, tenant, id, s.now())
		if err != nil {
			return false, err
		}
		// The patch applies to the row as it is now (its currency may have
		// changed since it was read).
		c, _, err = patch(c, in)
		if err != nil {
			return false, err
		}
		return false, q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email,
			Currency: c.Currency, Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod})
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("update cart: %w", err)
	}
	return s.Cart(ctx, id)
}

// AddItem adds an SKU to a cart: a new line, or more of the line that
// already holds the SKU.
func (s *Service) AddItem(ctx context.Context, id string, in cartapi.Item) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkSKU("sku", in.SKU); err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuantity("quantity", in.Quantity); err != nil {
		return cartapi.Cart{}, err
	}
	cur, err := s.storeCurrency(ctx)
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("add %s to cart: %w", in.SKU, err)
	}
	err = s.write(ctx, func(_ *sql.Tx, q *cartdb.Queries) (bool, error) {
		now := s.now()
		c, err := lockCart(ctx, q, tenant, id, now)
		if err != nil {
			return false, err
		}
		row, err := sku(ctx, q, tenant, "sku", in.SKU)
		if err != nil {
			return false, err
		}
		lines, err := q.ListLines(ctx, cartdb.ListLinesParams{TenantID: tenant, CartID: id})
		if err != nil {
			return false, fmt.Errorf("load cart lines: %w", err)
		}
		for _, l := range lines {
			if l.Sku != in.SKU {
				continue
			}
			if l.Quantity+in.Quantity > cartapi.MaxQuantity {
				return false, &InputError{Err: ErrInvalidQuantity, Field: "quantity", Value: in.Quantity,
					Message: fmt.Sprintf("the line already has %d; a line holds at most %d", l.Quantity, cartapi.MaxQuantity)}
			}
			_, err := q.SetLineQuantity(ctx, cartdb.SetLineQuantityParams{TenantID: tenant, CartID: id, ID: l.ID,
				Quantity: l.Quantity + in.Quantity, UpdatedAt: now.UnixMicro()})
			return false, err
		}
		if len(lines) >= cartapi.MaxLines {
			return false, &InputError{Err: ErrTooManyLines, Field: "sku", Value: in.SKU,
				Message: fmt.Sprintf("a cart holds at most %d lines", cartapi.MaxLines)}
		}
		// The cart's currency; for a cart without one yet (made without
		// the store's currency at hand), the store's, else the first line's.
		want := c.Currency
		if want == "" {
			want = cur
		}
		if want == "" {
			want = row.Currency
		}
		if row.Currency != want {
			return false, &InputError{Err: ErrCurrencyMismatch, Field: "sku", Value: in.SKU,
				Message: fmt.Sprintf("priced in %s, the cart in %s", row.Currency, want)}
		}
		if c.Currency != want {
			c.Currency = want
			if err := q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email, Currency: c.Currency,
				Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod}); err != nil {
				return false, fmt.Errorf("set cart currency: %w", err)
			}
		}
		return false, q.InsertLine(ctx, cartdb.InsertLineParams{TenantID: tenant, CartID: id, ID: s.newID(), Sku: in.SKU,
			Quantity: in.Quantity, CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro()})
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("add %s to cart: %w", in.SKU, err)
	}
	return s.Cart(ctx, id)
}

// UpdateItem sets the quantity of a line.
func (s *Service) UpdateItem(ctx context.Context, id, line string, quantity int64) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuantity("quantity", quantity); err != nil {
		return cartapi.Cart{}, err
	}
	err = s.write(ctx, func(_ *sql.Tx, q *cartdb.Queries) (bool, error) {
		now := s.now()
		if _, err := lockCart(ctx, q, tenant, id, now); err != nil {
			return false, err
		}
		n, err := q.SetLineQuantity(ctx, cartdb.SetLineQuantityParams{TenantID: tenant, CartID: id, ID: line,
			Quantity: quantity, UpdatedAt: now.UnixMicro()})
		if err != nil {
			return false, fmt.Errorf("set quantity: %w", err)
		}
		if n == 0 {
			return false, ErrLineNotFound
		}
		return false, nil
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("update line %s: %w", line, err)
	}
	return s.Cart(ctx, id)
}

// RemoveItem deletes a line. Without the store's currency (WithStores) the
// cart's currency goes with its last line, so an emptied cart takes any
// currency again; with it, the cart keeps the store's.
func (s *Service) RemoveItem(ctx context.Context, id, line string) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	err = s.write(ctx, func(_ *sql.Tx, q *cartdb.Queries) (bool, error) {
		c, err := lockCart(ctx, q, tenant, id, s.now())
		if err != nil {
			return false, err
		}
		n, err := q.DeleteLine(ctx, cartdb.DeleteLineParams{TenantID: tenant, CartID: id, ID: line})
		if err != nil {
			return false, fmt.Errorf("delete line: %w", err)
		}
		if n == 0 {
			return false, ErrLineNotFound
		}
		left, err := q.ListLines(ctx, cartdb.ListLinesParams{TenantID: tenant, CartID: id})
		if err != nil {
			return false, fmt.Errorf("load cart lines: %w", err)
		}
		if len(left) == 0 && c.Currency != "" && s.stores == nil {
			return false, q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email, Currency: "",
				Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod})
		}
		return false, nil
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("remove line %s: %w", line, err)
	}
	return s.Cart(ctx, id)
}
