package analytics

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsdb"
	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Subjects are the events the service folds: every one is logged first.
var Subjects = []string{
	orderapi.SubjectConfirmed, orderapi.SubjectCancelled, orderapi.SubjectShipped, orderapi.SubjectDelivered,
	orderapi.SubjectRefunded, orderapi.SubjectReturnRequested, orderapi.SubjectReturnReceived,
	cartapi.SubjectCreated,
	catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived,
	inventoryapi.SubjectStockAdjusted, inventoryapi.SubjectStockCommitted,
	tenantapi.SubjectTenantCreated, tenantapi.SubjectTenantUpdated,
}

// Start subscribes the consumer before requests are served and before the
// demo seed runs (a new consumer group only sees what is published after
// it subscribed); Run stops it.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil || s.consumers.Len() > 0 {
		return nil // tests hand events to Handle
	}
	// The consumer outlives Start's context: Run stops it.
	c, err := outbox.Consume(context.WithoutCancel(ctx), s.bus, s.store.DB(),
		bus.Subscription{Group: s.cfg.Group, Subjects: Subjects}, s.now, s.consume)
	if err != nil {
		return fmt.Errorf("analytics: subscribe: %w", err)
	}
	s.consumers.Add(c)
	return nil
}

// Run stops the consumer when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.consumers.Stop()
	return nil
}

// Handle logs and folds one event once, as the consumer does (the inbox of
// the consumer group): applied is false for an event handled before.
func (s *Service) Handle(ctx context.Context, e outbox.Envelope) (applied bool, err error) {
	return outbox.Handle(ctx, s.store.DB(), s.cfg.Group, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.consume(ctx, tx, e)
	})
}

// consume appends e to the log and folds it into the read models, in tx.
// An event already in the log (the inbox forgot it, or two groups were
// pointed at one database) is not folded twice.
func (s *Service) consume(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return bus.Permanent(err)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return bus.Permanent(fmt.Errorf("encode event %s: %w", e.ID, err))
	}
	q := analyticsdb.New(tx)
	n, err := q.LogEvent(ctx, analyticsdb.LogEventParams{TenantID: tenant, ID: e.ID, Type: e.Type,
		At: sqldb.Micros(e.Time), ReceivedAt: sqldb.Micros(s.now()), Envelope: string(raw)})
	if err != nil {
		return fmt.Errorf("log event %s: %w", e.ID, err)
	}
	if n == 0 {
		return nil
	}
	// The fold's writes only pass their errors on: on PostgreSQL they go
	// out with the commit (sqldb.Pipelined).
	return fold(sqldb.Pipelined(ctx), q, tenant, e)
}

// orderPayload reads every order event: each carries the order after the
// change; a return event also the return.
type orderPayload struct {
	orderapi.Order
	Return *orderapi.Return `json:"return,omitempty"`
}

// storePayload reads tenant.created.v1 and tenant.updated.v1 alike: the
// settings (absent in creations of stores from before signup) and their
// version.
type storePayload struct {
	Settings  *tenantapi.Settings `json:"settings"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// fold applies one event to the read models. Every change is an insert of
// a fact keyed by what the event is about (done once), or an upsert whose
// result does not depend on the order of the events (the newest version
// wins, amounts only grow, flags once set stay set): so the live fold and
// a replay of the log in any order end in the same state.
func fold(ctx context.Context, q *analyticsdb.Queries, tenant string, e outbox.Envelope) error {
	decode := func(v any) error {
		if err := json.Unmarshal(e.Data, v); err != nil {
			return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		return nil
	}
	switch e.Type {
	case orderapi.SubjectConfirmed, orderapi.SubjectCancelled, orderapi.SubjectShipped, orderapi.SubjectDelivered,
		orderapi.SubjectRefunded, orderapi.SubjectReturnRequested, orderapi.SubjectReturnReceived:
		var o orderPayload
		if err := decode(&o); err != nil {
			return err
		}
		return foldOrder(ctx, q, tenant, e.Type, o)
	case cartapi.SubjectCreated:
		var c cartapi.Created
		if err := decode(&c); err != nil {
			return err
		}
		if err := q.InsertCart(ctx, analyticsdb.InsertCartParams{TenantID: tenant, CartID: c.CartID, CreatedAt: sqldb.Micros(c.At)}); err != nil {
			return fmt.Errorf("fold cart %s: %w", c.CartID, err)
		}
		return nil
	case catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived:
		// The three payloads have the same shape.
		var p catalogapi.ProductUpdated
		if err := decode(&p); err != nil {
			return err
		}
		return foldProduct(ctx, q, tenant, p)
	case inventoryapi.SubjectStockAdjusted:
		var a inventoryapi.StockAdjusted
		if err := decode(&a); err != nil {
			return err
		}
		kind := a.Kind
		if kind != "restock" {
			kind = "adjustment"
		}
		if err := q.InsertStockMove(ctx, analyticsdb.InsertStockMoveParams{TenantID: tenant, EventID: e.ID, LineNo: 0,
			Sku: a.SKU, Kind: kind, Delta: a.Delta, At: sqldb.Micros(a.At)}); err != nil {
			return fmt.Errorf("fold stock adjustment %s: %w", e.ID, err)
		}
		return nil
	case inventoryapi.SubjectStockCommitted:
		var c inventoryapi.StockCommitted
		if err := decode(&c); err != nil {
			return err
		}
		for i, l := range c.Lines {
			if err := q.InsertStockMove(ctx, analyticsdb.InsertStockMoveParams{TenantID: tenant, EventID: e.ID, LineNo: int64(i),
				Sku: l.SKU, Kind: "commit", Delta: -l.Quantity, At: sqldb.Micros(c.At)}); err != nil {
				return fmt.Errorf("fold stock commit %s: %w", e.ID, err)
			}
		}
		return nil
	case tenantapi.SubjectTenantCreated, tenantapi.SubjectTenantUpdated:
		var st storePayload
		if err := decode(&st); err != nil {
			return err
		}
		if st.Settings == nil {
			return nil // a store created before events carried settings
		}
		version := st.UpdatedAt
		if version.IsZero() {
			version = e.Time
		}
		if err := q.UpsertStore(ctx, analyticsdb.UpsertStoreParams{TenantID: tenant, TimeZone: st.Settings.TimeZone,
			Currency: st.Settings.Currency, Version: sqldb.Micros(version)}); err != nil {
			return fmt.Errorf("fold store settings: %w", err)
		}
		return nil
	}
	return nil // a subject routed to the group by an old binding
}

// foldOrder records an order from any of its events: its figures as placed
// (they never change), the largest refunded amount told, whether it was
// confirmed (any event but a cancellation follows a confirmation) and
// whether it was cancelled; its lines once; a received return once.
func foldOrder(ctx context.Context, q *analyticsdb.Queries, tenant, typ string, o orderPayload) error {
	var units int64
	for _, l := range o.Lines {
		units += l.Quantity
	}
	confirmed, cancelled := int64(1), int64(0)
	if typ == orderapi.SubjectCancelled || o.Status == orderapi.StatusCancelled || o.Status == orderapi.StatusCancelling {
		confirmed, cancelled = 0, 1
		if typ != orderapi.SubjectCancelled && o.Status == orderapi.StatusCancelling {
			cancelled = 0 // on its way: the cancellation's own event says so
		}
	}
	err := q.UpsertOrder(ctx, analyticsdb.UpsertOrderParams{TenantID: tenant, OrderID: o.ID, PlacedAt: sqldb.Micros(o.CreatedAt),
		Currency: o.Currency, Customer: customerKey(o.Email), CartID: o.CartID, Total: o.Total.Amount, Tax: o.Tax.Amount,
		Refunded: o.Refunded.Amount, Units: units, Confirmed: confirmed, Cancelled: cancelled})
	if err != nil {
		return fmt.Errorf("fold order %s: %w", o.ID, err)
	}
	for i, l := range o.Lines {
		if err := q.InsertOrderLine(ctx, analyticsdb.InsertOrderLineParams{TenantID: tenant, OrderID: o.ID, LineNo: int64(i),
			Sku: l.SKU, ProductID: l.ProductID, Title: l.Title, Quantity: l.Quantity, Total: l.Total.Amount}); err != nil {
			return fmt.Errorf("fold line %d of order %s: %w", i, o.ID, err)
		}
	}
	if typ == orderapi.SubjectReturnReceived && o.Return != nil {
		var n int64
		for _, l := range o.Return.Lines {
			n += l.Quantity
		}
		if err := q.InsertReturn(ctx, analyticsdb.InsertReturnParams{TenantID: tenant, ReturnID: o.Return.ID, OrderID: o.ID,
			Units: n, ReceivedAt: sqldb.Micros(o.Return.UpdatedAt)}); err != nil {
			return fmt.Errorf("fold return %s: %w", o.Return.ID, err)
		}
	}
	return nil
}

// foldProduct records a product's title and category and its variants'
// cost prices, when newer than what is recorded. Its newest event also
// clears the cost of the variants it no longer has; an older one, coming
// late, changes no variant (it may bring back one removed since).
func foldProduct(ctx context.Context, q *analyticsdb.Queries, tenant string, p catalogapi.ProductUpdated) error {
	version := sqldb.Micros(p.Product.UpdatedAt)
	var catID, catName string
	if p.Category != nil {
		catID, catName = p.Category.ID, p.Category.Name
	}
	if err := q.UpsertProduct(ctx, analyticsdb.UpsertProductParams{TenantID: tenant, ProductID: p.Product.ID, Title: p.Product.Title,
		CategoryID: catID, CategoryName: catName, Version: version}); err != nil {
		return fmt.Errorf("fold product %s: %w", p.Product.ID, err)
	}
	newest, err := q.ProductVersion(ctx, analyticsdb.ProductVersionParams{TenantID: tenant, ProductID: p.Product.ID})
	if err != nil {
		return fmt.Errorf("fold product %s: %w", p.Product.ID, err)
	}
	if newest > version {
		return nil
	}
	if err := q.ClearVariantCosts(ctx, analyticsdb.ClearVariantCostsParams{TenantID: tenant, ProductID: p.Product.ID, Version: version}); err != nil {
		return fmt.Errorf("fold variants of product %s: %w", p.Product.ID, err)
	}
	for _, v := range p.Product.Variants {
		cost := sql.NullInt64{}
		if v.CostPrice != nil {
			cost = sql.NullInt64{Int64: *v.CostPrice, Valid: true}
		}
		if err := q.UpsertVariant(ctx, analyticsdb.UpsertVariantParams{TenantID: tenant, Sku: v.SKU, ProductID: p.Product.ID,
			Currency: v.Price.Currency, CostPrice: cost, Version: version}); err != nil {
			return fmt.Errorf("fold variant %s: %w", v.SKU, err)
		}
	}
	return nil
}

// customerKey is who bought an order: its email address, trimmed and
// lowercased (guests and account holders alike).
func customerKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
