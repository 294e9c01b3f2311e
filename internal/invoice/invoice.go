// Package invoice is the invoice service: the store's invoices and credit
// notes, issued from the order service's events, numbered without gaps,
// immutable once issued, each with its PDF and its EN 16931 (UBL 2.1) XML.
//
// An order is invoiced when it is confirmed or when it ships, as the store
// is set (order.confirmed.v1 or order.shipped.v1; a shipped order is always
// invoiced, whatever the setting, if it was not yet). Refunds
// (order.refunded.v1), received returns (order.return_received.v1) and the
// cancellation of an invoiced order (order.cancelled.v1) issue credit notes
// that reference the invoice; an order cancelled before it was invoiced is
// never invoiced (the cancellation is kept with the order's buyer row,
// whose lock the order's events take in turn). One consumer group reads those events through
// the inbox, and each document has a source key (the order, the refund's
// event, the return) that is UNIQUE, so a redelivered event issues nothing
// twice.
//
// Numbers are per store, series (INV, CN) and calendar year of the store's
// time zone, taken from a counter row bumped in the transaction that
// inserts the document (docs/decisions/0028-invoice-numbering.md): a
// rollback takes the number back, concurrent issues wait on the row, so
// there is no gap and no duplicate on either engine; a document is dated
// right after its number is taken. The PDF and the XML
// are rendered in that same transaction and stored with the document;
// downloads serve those bytes, and nothing updates a document.
package invoice

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/invoice/invoicedb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the invoice tables and the outbox and inbox it writes
// and reads.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "invoice_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	// ErrNotFound: no such document, or (for a buyer) not theirs.
	ErrNotFound = errors.New("invoice: document not found")
)

// Config tunes the invoice service. The zero value takes the defaults.
type Config struct {
	// OrdersGroup is the consumer group of the order events that issue
	// documents.
	OrdersGroup string
	// CustomersGroup is the consumer group of identity's email
	// verifications, which give a customer the guest orders of their
	// verified email (and so their documents).
	CustomersGroup string
	// Paging is the document lists' page size and its cap.
	Paging kit.Paging
}

// Defaults of Config.
const (
	DefaultOrdersGroup    = "invoice-orders"
	DefaultCustomersGroup = "invoice-customers"
	DefaultPageSize       = 20
	DefaultMaxPageSize    = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "invoice."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.OrdersGroup, prefix+"orders-group", DefaultOrdersGroup, "consumer group reading the order events that issue invoices and credit notes")
	fs.StringVar(&c.CustomersGroup, prefix+"customers-group", DefaultCustomersGroup, "consumer group giving customers who verified their email the invoices of that email's guest orders")
	c.Paging.RegisterFlags(fs, prefix, "invoices", "a list request", DefaultPageSize, DefaultMaxPageSize)
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.OrdersGroup == "" {
		c.OrdersGroup = DefaultOrdersGroup
	}
	if c.CustomersGroup == "" {
		c.CustomersGroup = DefaultCustomersGroup
	}
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if err := bus.ValidateGroup(c.OrdersGroup); err != nil {
		return fmt.Errorf("invoice: orders-group: %w", err)
	}
	if err := bus.ValidateGroup(c.CustomersGroup); err != nil {
		return fmt.Errorf("invoice: customers-group: %w", err)
	}
	if c.CustomersGroup == c.OrdersGroup {
		return errors.New("invoice: customers-group and orders-group must differ")
	}
	return c.Paging.Validate("invoice", kit.PageCeiling)
}

// StoreReader reads the settings of the store in ctx: its legal details
// (the seller of its documents), its time zone and when it invoices.
type StoreReader interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// Deps is what the invoice service is built from. Its Bus carries the
// order service's events; nil: nothing is consumed (tests feed events to
// HandleOrderEvent and HandleCustomerEvent).
type Deps struct {
	kit.Deps
	// Stores tells the store's legal details, time zone and whether it
	// invoices on confirmation or shipment. Nil: documents name the store
	// by its ID, are dated in UTC, and orders are invoiced on
	// confirmation.
	Stores StoreReader
}

// Service is the invoice service. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *kit.Store[*invoicedb.Queries]
	bus    bus.Bus
	stores StoreReader
	log    *slog.Logger
	now    func() time.Time

	consumers kit.Consumers // subscribed in Start, stopped when Run ends
}

// New returns the invoice service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "invoice", deps.Deps, invoicedb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bus: deps.Bus, stores: deps.Stores, log: deps.Logger(), now: time.Now}, nil
}
