package cart

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// The consumer groups of the cart service.
const (
	groupCatalog = "cart-catalog"
	groupOrders  = "cart-orders"
)

// subjectOrderConfirmed is the order service's event for a confirmed order;
// its data carries cart_id when the checkout started from a cart.
const subjectOrderConfirmed = "order.confirmed.v1"

// orderConfirmed is the part of order.confirmed.v1's data the cart reads.
// The order's own type lives in the order service's contract; decoding just
// these two fields keeps the cart free of it.
type orderConfirmed struct {
	ID     string `json:"id"`
	CartID string `json:"cart_id"`
}

// Start subscribes the consumers: the catalog's product events (the price
// projection) and the order service's confirmations (checked-out carts).
// It runs before the demo seed, so the seed's events are not missed: a new
// consumer group only sees messages published after it subscribed. The
// consumers stop when Run ends.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil {
		return errors.New("cart: no bus to consume from")
	}
	// Consumers outlive Start's context: Run stops them.
	ctx = context.WithoutCancel(ctx)
	catalog, err := outbox.Consume(ctx, s.bus, s.store.DB(), bus.Subscription{
		Group:    groupCatalog,
		Subjects: []string{catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived},
	}, s.now, s.handleProduct)
	if err != nil {
		return fmt.Errorf("cart: subscribe to catalog events: %w", err)
	}
	s.consumers.Add(catalog)
	// Most orders name no cart (one-call checkouts): those change nothing
	// here and cost no transaction.
	orders, err := outbox.ConsumeWhere(ctx, notifying{s.bus, s.notify}, s.store.DB(), bus.Subscription{
		Group:    groupOrders,
		Subjects: []string{subjectOrderConfirmed},
	}, s.now, namesCart, s.handleOrderConfirmed)
	if err != nil {
		s.consumers.Stop()
		return fmt.Errorf("cart: subscribe to order events: %w", err)
	}
	s.consumers.Add(orders)
	return nil
}

// notify wakes the relay.
func (s *Service) notify() {
	if s.relay != nil {
		s.relay.Notify()
	}
}

// notifying is a bus whose handlers call after once they succeeded having
// written an event (outbox.TrackEvents): once outbox.Consume's transaction
// has committed, so the relay is woken when there is something to publish,
// and only then (a wake for nothing costs the relay a pass over its outbox).
type notifying struct {
	bus.Bus
	after func()
}

func (b notifying) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	return b.Bus.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		ctx, wrote := outbox.TrackEvents(ctx)
		err := h(ctx, m)
		if err == nil && wrote() {
			b.after()
		}
		return err
	})
}

// handleProduct applies a catalog product snapshot to the projection, if it
// is newer than the one applied for the product: events of one product may
// arrive out of order (redelivery, a replay of dead letters).
func (s *Service) handleProduct(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	var data struct {
		Product catalogapi.Product `json:"product"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	p := data.Product
	if p.ID == "" || p.UpdatedAt.IsZero() {
		return bus.Permanent(fmt.Errorf("decode %s %s: product without id or updated_at", e.Type, e.ID))
	}
	if e.Type == catalogapi.SubjectProductArchived {
		p.Status = catalogapi.StatusArchived // whatever the snapshot says
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return applyProduct(ctx, cartdb.New(tx), tenant, p)
}

// applyProduct writes a product snapshot to the projection unless a newer
// (or the same) one was applied.
func applyProduct(ctx context.Context, q *cartdb.Queries, tenant string, p catalogapi.Product) error {
	at := p.UpdatedAt.UnixMicro()
	applied, err := q.ProductVersion(ctx, cartdb.ProductVersionParams{TenantID: tenant, ProductID: p.ID})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("load projected product %s: %w", p.ID, err)
	case applied >= at:
		return nil // stale or repeated snapshot
	}
	if err := q.SetProductVersion(ctx, cartdb.SetProductVersionParams{TenantID: tenant, ProductID: p.ID, UpdatedAt: at}); err != nil {
		return fmt.Errorf("record projected product %s: %w", p.ID, err)
	}
	if err := q.RetireProductSKUs(ctx, cartdb.RetireProductSKUsParams{TenantID: tenant, ProductID: p.ID, ProductUpdatedAt: at}); err != nil {
		return fmt.Errorf("retire SKUs of product %s: %w", p.ID, err)
	}
	for _, r := range skuRows(tenant, p) {
		if err := q.UpsertSKU(ctx, r); err != nil {
			return fmt.Errorf("project SKU %s: %w", r.Sku, err)
		}
	}
	return nil
}

// decodeOrderConfirmed reads the cart's part of an order.confirmed.v1
// event; data that does not parse never will (a permanent error).
func decodeOrderConfirmed(e outbox.Envelope) (orderConfirmed, error) {
	var o orderConfirmed
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return o, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	return o, nil
}

// namesCart reports whether a confirmed order started from a cart: only
// then has its event an effect here (outbox.ConsumeWhere).
func namesCart(e outbox.Envelope) (bool, error) {
	o, err := decodeOrderConfirmed(e)
	return o.CartID != "", err
}

// handleOrderConfirmed marks the order's cart checked out and announces it.
// An order without a cart (namesCart filters those out before the inbox),
// or for a cart that is gone (swept) or already checked out, changes
// nothing.
func (s *Service) handleOrderConfirmed(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	o, err := decodeOrderConfirmed(e)
	if err != nil {
		return err
	}
	if o.CartID == "" {
		return nil
	}
	if o.ID == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: no order id", e.Type, e.ID))
	}
	_, err = s.checkOut(ctx, tx, o.CartID, o.ID)
	return err
}

// checkOut marks an open cart of the tenant in ctx checked out by orderID
// in tx and writes cart.checked_out.v1; ok is false when there was no open
// cart to mark.
func (s *Service) checkOut(ctx context.Context, tx *sql.Tx, cartID, orderID string) (ok bool, err error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return false, err
	}
	now := s.now()
	c, err := cartdb.New(tx).CheckOutCart(ctx, cartdb.CheckOutCartParams{TenantID: tenant, ID: cartID, OrderID: orderID, UpdatedAt: now.UnixMicro()})
	if errors.Is(err, sql.ErrNoRows) {
		s.log.DebugContext(ctx, "confirmed order names no open cart", "tenant", tenant, "order_id", orderID)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check out cart for order %s: %w", orderID, err)
	}
	err = addEvent(ctx, tx, cartapi.SubjectCheckedOut, now, cartapi.CheckedOut{
		CartID: c.ID, OrderID: orderID, Email: c.Email, CustomerID: c.CustomerID, At: now.UTC(),
	})
	if err != nil {
		return false, err
	}
	s.log.DebugContext(ctx, "cart checked out", "tenant", tenant, "order_id", orderID)
	return true, nil
}

// Run deletes abandoned carts every SweepInterval until ctx is done, then
// stops the consumers Start subscribed and returns nil.
func (s *Service) Run(ctx context.Context) error {
	defer s.consumers.Stop()
	tick := time.NewTicker(s.cfg.SweepInterval)
	defer tick.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweep abandoned carts", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "abandoned carts deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Sweep deletes the open carts of every tenant untouched for longer than
// the TTL, with their lines, and returns how many it deleted. Each cart goes
// in its own small transaction, checked again there, so a cart changed in
// the meantime stays and a long sweep never blocks shoppers. The list spans
// tenants (sqldb.AllTenants); each deletion runs as the cart's tenant.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.TTL).UnixMicro()
	const batch = 500
	total := 0
	all := sqldb.AllTenants(ctx)
	for {
		var stale []cartdb.StaleCartsRow
		err := s.store.Read(all, func(q *cartdb.Queries) error {
			var err error
			stale, err = q.StaleCarts(all, cartdb.StaleCartsParams{Cutoff: cutoff, Batch: batch})
			return err
		})
		if err != nil {
			return total, fmt.Errorf("list abandoned carts: %w", err)
		}
		deleted := 0
		for _, c := range stale {
			var n int64
			ctx := tenancy.WithID(ctx, c.TenantID)
			err := s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *cartdb.Queries) error {
				var err error
				n, err = q.DeleteStaleCart(ctx, cartdb.DeleteStaleCartParams{TenantID: c.TenantID, ID: c.ID, Cutoff: cutoff})
				return err
			})
			if err != nil {
				return total, fmt.Errorf("delete abandoned cart: %w", err)
			}
			deleted += int(n)
		}
		total += deleted
		// A batch in which nothing could go means the rest changed under
		// us; the next sweep sees them again.
		if len(stale) < batch || deleted == 0 {
			return total, nil
		}
	}
}
