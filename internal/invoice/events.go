package invoice

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/invoice/invoicedb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// orderSubjects are the order events that issue documents. They are read by
// one consumer group, so that an order's events are handled in the order
// they were published.
var orderSubjects = []string{orderapi.SubjectConfirmed, orderapi.SubjectShipped, orderapi.SubjectRefunded,
	orderapi.SubjectReturnReceived, orderapi.SubjectCancelled}

// Start subscribes to the order events before requests are served, so that
// nothing published after is missed; the consumer stops when Run ends.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil {
		return nil // tests feed events to HandleOrderEvent and HandleCustomerEvent
	}
	// The consumer outlives Start's context: Run stops it.
	c, err := outbox.Consume(context.WithoutCancel(ctx), sellerFirst{s.bus, s}, s.store.DB(),
		bus.Subscription{Group: s.cfg.OrdersGroup, Subjects: orderSubjects}, s.now,
		func(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
			sel, ok := ctx.Value(sellerKey{}).(seller)
			if !ok {
				return errors.New("invoice: the store's details were not read before the event's transaction")
			}
			return s.handleOrder(ctx, tx, e, sel)
		})
	if err != nil {
		return fmt.Errorf("invoice: subscribe to order events: %w", err)
	}
	s.consumers.Add(c)
	v, err := outbox.Consume(context.WithoutCancel(ctx), s.bus, s.store.DB(),
		bus.Subscription{Group: s.cfg.CustomersGroup, Subjects: []string{identityapi.SubjectCustomerEmailVerified}}, s.now, s.handleCustomer)
	if err != nil {
		s.consumers.Stop()
		return fmt.Errorf("invoice: subscribe to customer email verifications: %w", err)
	}
	s.consumers.Add(v)
	return nil
}

// Run stops the consumer when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.consumers.Stop()
	return nil
}

// HandleOrderEvent applies one order event once (the inbox of the consumer
// group): applied is false for an event applied before. The store's
// details are read first, outside the event's transaction, which does only
// database work.
func (s *Service) HandleOrderEvent(ctx context.Context, e outbox.Envelope) (applied bool, err error) {
	sel, err := s.sellerOf(tenancy.WithID(ctx, e.Tenant), e.Tenant)
	if err != nil {
		return false, err
	}
	return outbox.Handle(ctx, s.store.DB(), s.cfg.OrdersGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.handleOrder(ctx, tx, e, sel)
	})
}

// sellerKey is the context key of the seller sellerFirst read.
type sellerKey struct{}

// sellerFirst is a bus whose handlers find in their context (sellerKey)
// the seller of the message's store, read from the tenant service before
// the handler runs, and so before outbox.Consume opens the inbox's
// transaction: a transaction's function does only database work (it may
// run again), never a call to another service.
type sellerFirst struct {
	bus.Bus
	s *Service
}

func (b sellerFirst) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	return b.Bus.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		e, err := outbox.Decode(m)
		if err != nil {
			return err
		}
		sel, err := b.s.sellerOf(tenancy.WithID(ctx, e.Tenant), e.Tenant)
		if err != nil {
			return err
		}
		return h(context.WithValue(ctx, sellerKey{}, sel), m)
	})
}

// HandleCustomerEvent applies one email verification once (the inbox of
// the consumer group): applied is false for an event applied before.
func (s *Service) HandleCustomerEvent(ctx context.Context, e outbox.Envelope) (applied bool, err error) {
	return outbox.Handle(ctx, s.store.DB(), s.cfg.CustomersGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.handleCustomer(ctx, tx, e)
	})
}

// handleCustomer gives a customer who verified their email the store's
// guest orders of it, as the order service does: signed in, they download
// those orders' documents too. Another event type (an old binding of a
// broker) is skipped.
func (s *Service) handleCustomer(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	c, _, ok, err := identityapi.DecodeEmailVerified(e.Type, e.Data)
	if !ok {
		return nil
	}
	if err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	h := emailHash(c.Email)
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	if _, err := invoicedb.New(tx).ClaimBuyers(ctx, invoicedb.ClaimBuyersParams{CustomerID: c.CustomerID, TenantID: tenant, EmailHash: h}); err != nil {
		return fmt.Errorf("give guest orders to customer %s: %w", c.CustomerID, err)
	}
	return nil
}

// emailHash is the hex SHA-256 of an email as accounts are keyed (trimmed,
// lowercased); "" for none.
func emailHash(email string) string {
	email = emailKey(email)
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// orderEvent is what the order events carry, all of them in one: the
// order, and by subject the token hash (confirmed, cancelled), the amount
// refunded (refunded) or the return (return_received).
type orderEvent struct {
	orderapi.Order
	TokenHash string          `json:"token_hash"`
	Amount    money.Money     `json:"amount"`
	Reason    string          `json:"reason"`
	Return    orderapi.Return `json:"return"`
}

// handleOrder issues what an order event calls for, in the inbox's
// transaction: the invoice on confirmation (or shipment, as the store is
// set), a credit note on a refund, a received return or the cancellation
// of an invoiced order. It also keeps who bought the order, for the
// buyer's downloads. sel is the store's seller, read before tx began.
func (s *Service) handleOrder(ctx context.Context, tx *sql.Tx, e outbox.Envelope, sel seller) error {
	var o orderEvent
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	if o.ID == "" || o.Currency == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: order without id or currency", e.Type, e.ID))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := invoicedb.New(tx)
	var cancelledAt int64
	if e.Type == orderapi.SubjectCancelled {
		cancelledAt = max(e.Time.UnixMicro(), 1)
	}
	// The upsert comes first: on PostgreSQL it holds the order's buyer
	// row locked until commit, so the order's events take turns.
	cancelled, err := q.UpsertBuyer(ctx, invoicedb.UpsertBuyerParams{TenantID: tenant, OrderID: o.ID, CustomerID: o.CustomerID,
		TokenHash: strings.ToLower(o.TokenHash), EmailHash: emailHash(o.Email), CancelledAt: cancelledAt})
	if err != nil {
		return fmt.Errorf("keep the buyer of order %s: %w", o.ID, err)
	}
	if e.Type == orderapi.SubjectCancelled {
		return s.creditCancelled(ctx, tx, q, tenant, o.Order, sel)
	}
	ensure := func() (invoiceapi.Invoice, bool, error) {
		return s.ensureInvoice(ctx, tx, q, tenant, o.Order, sel, cancelled != 0)
	}
	switch e.Type {
	case orderapi.SubjectConfirmed:
		if sel.invoiceOn == tenantapi.InvoiceOnShipped {
			return nil
		}
		_, _, err = ensure()
		return err
	case orderapi.SubjectShipped:
		// Whatever the setting, a shipped order has its invoice: a store
		// that invoiced on confirmation has it already.
		_, _, err = ensure()
		return err
	case orderapi.SubjectRefunded:
		if o.Amount.Amount <= 0 || o.Amount.Currency != o.Currency {
			return nil
		}
		inv, ok, err := ensure()
		if err != nil || !ok {
			return err
		}
		reason := "Refund"
		if o.Reason != "" {
			reason += ": " + o.Reason
		}
		return s.credit(ctx, tx, q, tenant, inv, sel, o.Amount.Amount, reason, "refund:"+e.ID, func(credits []invoiceapi.Invoice, _ int64) []part {
			return rateParts(inv, credits, "Refund")
		})
	case orderapi.SubjectReturnReceived:
		if o.Return.ID == "" || o.Return.RefundAmount.Amount <= 0 || o.Return.RefundAmount.Currency != o.Currency {
			return nil // nothing refunded, nothing credited
		}
		inv, ok, err := ensure()
		if err != nil || !ok {
			return err
		}
		return s.credit(ctx, tx, q, tenant, inv, sel, o.Return.RefundAmount.Amount, "Return "+o.Return.ID, "return:"+o.Return.ID,
			func(credits []invoiceapi.Invoice, amount int64) []part {
				if p := returnParts(inv, credits, o.Return, amount); len(p) > 0 {
					return p
				}
				return rateParts(inv, credits, "Return")
			})
	}
	return nil
}

// creditCancelled credits what is left of a cancelled order's invoice:
// all of it, line by line, when nothing was credited before. An order
// cancelled before it was invoiced has nothing to credit, and is never
// invoiced after (its buyer row says it is cancelled).
func (s *Service) creditCancelled(ctx context.Context, tx *sql.Tx, q *invoicedb.Queries, tenant string, o orderapi.Order, sel seller) error {
	row, err := q.GetOrderInvoice(ctx, invoicedb.GetOrderInvoiceParams{TenantID: tenant, OrderID: o.ID})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the invoice of order %s: %w", o.ID, err)
	}
	inv, err := decode(row.Body)
	if err != nil {
		return err
	}
	return s.credit(ctx, tx, q, tenant, inv, sel, inv.Total.Amount, "Order cancelled", "cancel:"+o.ID, func(credits []invoiceapi.Invoice, _ int64) []part {
		if len(credits) == 0 {
			return wholeParts(inv)
		}
		return rateParts(inv, credits, "Cancellation")
	})
}
