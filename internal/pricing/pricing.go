// Package pricing is the pricing service: it turns a basket of SKUs into a
// quote (lines − discounts + tax + shipping) with one pure function,
// Compute, and keeps what a quote needs per tenant: discounts (automatic and
// coupon codes, with usage limits), tax rates by country and region,
// shipping methods, the store's pricing settings, and a local projection of
// the catalog's SKUs and prices fed by catalog events, so a quote never calls
// the catalog.
//
// Coupon uses are taken by Redeem (idempotent per order) and given back by
// ReleaseRedemption; both are single conditional statements on counters, so
// usage limits hold however many orders redeem at once. Discount changes are
// announced as pricing.discount_changed.v1 through the outbox.
package pricing

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the pricing tables. Apply outbox.Migrations first.
var Migrations = sqldb.Embedded(migrationFiles, "migrations", "pricing_db_version")

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrUnknownSKU            = errors.New("pricing: unknown SKU")
	ErrInvalidQuantity       = errors.New("pricing: invalid quantity")
	ErrAmountTooLarge        = errors.New("pricing: amount out of range")
	ErrUnknownCoupon         = errors.New("pricing: unknown coupon")
	ErrCouponExpired         = errors.New("pricing: coupon not valid at this time")
	ErrCouponNotApplicable   = errors.New("pricing: coupon does not apply")
	ErrCouponExhausted       = errors.New("pricing: coupon has no uses left")
	ErrCurrencyMismatch      = errors.New("pricing: currency mismatch")
	ErrUnknownShippingMethod = errors.New("pricing: unknown shipping method")
	ErrShippingNotAvailable  = errors.New("pricing: shipping not available")
	ErrInvalidCountry        = errors.New("pricing: invalid country")
	ErrEmailRequired         = errors.New("pricing: email required for a per-customer coupon")
	ErrOrderRedeemed         = errors.New("pricing: order already redeemed another coupon")
	ErrInvalid               = errors.New("pricing: invalid input")
	ErrNotFound              = errors.New("pricing: not found")
	ErrTaken                 = errors.New("pricing: already exists")
)

// QuoteError is a quote or redemption refused for one field of the request.
type QuoteError struct {
	// Err is one of the sentinels above.
	Err error
	// Field is the request body field at fault, e.g. "items[2].sku".
	Field string
	// Value is the offending value: the SKU, the coupon, the quantity.
	Value  any
	Detail string
}

func (e *QuoteError) Error() string { return fmt.Sprintf("%s: %s", e.Err, e.Detail) }
func (e *QuoteError) Unwrap() error { return e.Err }

// ValidationError is an admin request with invalid fields.
type ValidationError struct {
	Err    error
	Fields []FieldError
}

// FieldError says what is wrong with one field of a request body.
type FieldError struct {
	Field   string
	Message string
	Value   any
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}
func (e *ValidationError) Unwrap() error { return e.Err }

// invalid returns a *ValidationError for fields, or nil for none.
func invalid(fields ...FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Err: ErrInvalid, Fields: fields}
}

// Config tunes the pricing service. The zero value takes the defaults.
type Config struct {
	// DefaultCountry is the destination of a quote that names none, for a
	// tenant that saved no settings.
	DefaultCountry string
	// CatalogGroup is the consumer group of the catalog projection.
	CatalogGroup string
	// TenantGroup is the consumer group copying the store settings
	// (currency, tax mode) from the tenant service's events.
	TenantGroup string
}

// Defaults of Config.
const (
	DefaultCatalogGroup = "pricing-catalog"
	DefaultTenantGroup  = "pricing-tenant"
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "pricing."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.DefaultCountry, prefix+"default-country", "", "destination country (ISO alpha-2) of quotes naming none, for a store that saved no pricing settings")
	fs.StringVar(&c.CatalogGroup, prefix+"catalog-group", DefaultCatalogGroup, "consumer group reading catalog product events into the price projection")
	fs.StringVar(&c.TenantGroup, prefix+"tenant-group", DefaultTenantGroup, "consumer group copying the store settings (currency, tax mode) from tenant events")
}

// Validate reports a config the service cannot run with.
func (c Config) Validate() error {
	if c.DefaultCountry != "" && !validCountry(c.DefaultCountry) {
		return fmt.Errorf("pricing: default-country %q is not an ISO 3166 alpha-2 code", c.DefaultCountry)
	}
	if err := bus.ValidateGroup(c.CatalogGroup); err != nil {
		return fmt.Errorf("pricing: catalog-group: %w", err)
	}
	if err := bus.ValidateGroup(c.TenantGroup); err != nil {
		return fmt.Errorf("pricing: tenant-group: %w", err)
	}
	if c.TenantGroup == c.CatalogGroup {
		return errors.New("pricing: tenant-group and catalog-group must differ")
	}
	return nil
}

// Service is the pricing service. It is safe for concurrent use.
type Service struct {
	cfg    Config
	db     *sqldb.DB
	store  *store
	bus    bus.Bus
	events *outbox.Relay
	log    *slog.Logger
	now    func() time.Time
	newID  func() string

	consumer bus.Consumer // the catalog projection, set by Start
	tenants  bus.Consumer // the store settings, set by Start
}

// New returns the pricing service on db, which must be migrated with
// outbox.Migrations and Migrations. b is where catalog events come from
// (nil: no projection, tests feed events to HandleCatalogEvent). events is
// woken after each write that added events; nil is fine.
func New(cfg Config, db *sqldb.DB, b bus.Bus, events *outbox.Relay, log *slog.Logger) (*Service, error) {
	if cfg.CatalogGroup == "" {
		cfg.CatalogGroup = DefaultCatalogGroup
	}
	if cfg.TenantGroup == "" {
		cfg.TenantGroup = DefaultTenantGroup
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("pricing: no database")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := newStore(ctx, db)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, db: db, store: st, bus: b, events: events, log: log, now: time.Now, newID: newID}, nil
}

// newID returns a UUIDv7; NewV7 fails only if crypto/rand does, which
// aborts the program instead.
func newID() string {
	id, _ := uuid.NewV7()
	return id.String()
}

// write runs fn in a write transaction and wakes the relay after commit. A
// unique violation (two creators of one code, two redeemers of one order)
// retries the whole operation once, which then sees the winner's row.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx, q *pricingdb.Queries) error) error {
	var err error
	for range 2 {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error { return fn(tx, s.store.write.WithTx(tx)) })
		if err == nil {
			if s.events != nil {
				s.events.Notify()
			}
			return nil
		}
		if !sqldb.IsUniqueViolation(err) {
			return err
		}
	}
	return err
}

// Quote prices a request for the tenant in ctx: it loads what the request
// names (SKUs from the catalog projection, the coupon, the automatic
// discounts, the destination's tax rates, the shipping method) in one read
// snapshot and hands it to Compute. It writes nothing.
func (s *Service) Quote(ctx context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Quote{}, err
	}
	if len(r.Items) == 0 || len(r.Items) > pricingapi.MaxItems {
		return pricingapi.Quote{}, &QuoteError{Err: ErrInvalidQuantity, Field: "items", Value: len(r.Items),
			Detail: fmt.Sprintf("a quote has 1 to %d items", pricingapi.MaxItems)}
	}
	for i, it := range r.Items {
		if err := text.SKU(it.SKU); err != nil {
			return pricingapi.Quote{}, &QuoteError{Err: ErrUnknownSKU, Field: fmt.Sprintf("items[%d].sku", i),
				Value: it.SKU, Detail: "not an SKU: " + err.Error()}
		}
		if it.Quantity < 1 || it.Quantity > pricingapi.MaxQuantity {
			return pricingapi.Quote{}, &QuoteError{Err: ErrInvalidQuantity, Field: fmt.Sprintf("items[%d].quantity", i),
				Value: it.Quantity, Detail: fmt.Sprintf("quantity of %s must be 1 to %d", it.SKU, pricingapi.MaxQuantity)}
		}
	}
	var in QuoteInput
	now := s.now()
	err = s.store.readTx(ctx, func(q *pricingdb.Queries) error {
		set, err := s.settings(ctx, q, tenant)
		if err != nil {
			return err
		}
		in, err = s.quoteInput(ctx, q, tenant, set, r)
		return err
	})
	if err != nil {
		return pricingapi.Quote{}, err
	}
	return Compute(in, now)
}

// quoteInput loads what Compute needs for r.
func (s *Service) quoteInput(ctx context.Context, q *pricingdb.Queries, tenant string, set pricingapi.Settings, r pricingapi.QuoteRequest) (QuoteInput, error) {
	in := QuoteInput{Currency: set.Currency, TaxInclusive: set.TaxInclusive, Country: strings.ToUpper(strings.TrimSpace(r.Country)),
		Region: strings.ToUpper(strings.TrimSpace(r.Region)), Email: normalizeEmail(r.Email)}
	if r.Currency != "" && r.Currency != set.Currency {
		return in, &QuoteError{Err: ErrCurrencyMismatch, Field: "currency", Value: r.Currency,
			Detail: fmt.Sprintf("the store prices in %s, not %s", set.Currency, r.Currency)}
	}
	if in.Country == "" {
		in.Country, in.Region = set.DefaultCountry, ""
	}
	if in.Country != "" && !validCountry(in.Country) {
		return in, &QuoteError{Err: ErrInvalidCountry, Field: "country", Value: r.Country,
			Detail: fmt.Sprintf("%q is not an ISO 3166 alpha-2 country", r.Country)}
	}
	for i, it := range r.Items {
		v, err := q.GetVariant(ctx, pricingdb.GetVariantParams{TenantID: tenant, Sku: it.SKU})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.Active) {
			return in, &QuoteError{Err: ErrUnknownSKU, Field: fmt.Sprintf("items[%d].sku", i), Value: it.SKU,
				Detail: fmt.Sprintf("%s is not for sale", it.SKU)}
		}
		if err != nil {
			return in, fmt.Errorf("load SKU %s: %w", it.SKU, err)
		}
		in.Lines = append(in.Lines, Line{SKU: v.Sku, ProductID: v.ProductID, VariantID: v.VariantID, CategoryID: v.CategoryID,
			Title: v.Title, UnitPrice: money.Money{Amount: v.Price, Currency: v.Currency}, Quantity: it.Quantity})
	}
	var err error
	if in.Automatic, err = toDiscounts(q.AutomaticDiscounts(ctx, tenant)); err != nil {
		return in, err
	}
	if code := NormalizeCoupon(r.Coupon); code != "" {
		row, err := q.GetDiscountByCode(ctx, pricingdb.GetDiscountByCodeParams{TenantID: tenant, Code: sql.NullString{String: code, Valid: true}})
		if errors.Is(err, sql.ErrNoRows) {
			return in, &QuoteError{Err: ErrUnknownCoupon, Field: "coupon", Value: r.Coupon, Detail: couponDetail(ErrUnknownCoupon, code)}
		}
		if err != nil {
			return in, fmt.Errorf("load coupon %s: %w", code, err)
		}
		d, err := toDiscount(row)
		if err != nil {
			return in, err
		}
		in.Coupon = &d
		if in.Email != "" {
			n, err := q.CustomerUses(ctx, pricingdb.CustomerUsesParams{TenantID: tenant, DiscountID: d.ID, Email: in.Email})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return in, fmt.Errorf("count uses of %s: %w", code, err)
			}
			in.CouponCustomerUses = n
		}
	}
	if in.Country != "" {
		rates, err := q.CountryTaxRates(ctx, pricingdb.CountryTaxRatesParams{TenantID: tenant, Country: in.Country})
		if err != nil {
			return in, fmt.Errorf("load tax rates of %s: %w", in.Country, err)
		}
		for _, tr := range rates {
			in.TaxRates = append(in.TaxRates, toTaxRate(tr))
		}
	}
	if r.NoShipping {
		return in, nil
	}
	code := r.ShippingMethod
	if code == "" {
		code = set.DefaultShippingMethod
	}
	if code == "" {
		return in, &QuoteError{Err: ErrUnknownShippingMethod, Field: "shipping_method", Value: "",
			Detail: "the store has no default shipping method: name one, or ask for no_shipping"}
	}
	row, err := q.GetShippingMethodByCode(ctx, pricingdb.GetShippingMethodByCodeParams{TenantID: tenant, Code: code})
	if errors.Is(err, sql.ErrNoRows) {
		return in, &QuoteError{Err: ErrUnknownShippingMethod, Field: "shipping_method", Value: code,
			Detail: fmt.Sprintf("no shipping method %s", code)}
	}
	if err != nil {
		return in, fmt.Errorf("load shipping method %s: %w", code, err)
	}
	m, err := toShippingMethod(row)
	if err != nil {
		return in, err
	}
	in.Shipping = &m
	return in, nil
}
