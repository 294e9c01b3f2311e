package review

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
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/review/reviewdb"
)

// orderSubjects are the order events the buyers projection follows.
var orderSubjects = []string{orderapi.SubjectConfirmed, orderapi.SubjectDelivered, orderapi.SubjectCancelled}

// Start subscribes the buyers projection to the order service's events,
// and to identity's email verifications (which give a customer the guest
// orders of their verified email, as the order service does). It runs before
// requests are served, so nothing published after is missed; the consumers
// stop when Run ends.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil {
		return nil // tests feed events to HandleOrderEvent and HandleCustomerEvent
	}
	// The consumers outlive Start's context: Run stops them.
	ctx = context.WithoutCancel(ctx)
	c, err := outbox.Consume(ctx, s.bus, s.store.DB(),
		bus.Subscription{Group: s.cfg.OrdersGroup, Subjects: orderSubjects}, s.now, s.handleOrder)
	if err != nil {
		return fmt.Errorf("review: subscribe to order events: %w", err)
	}
	s.consumers.Add(c)
	r, err := outbox.Consume(ctx, s.bus, s.store.DB(),
		bus.Subscription{Group: s.cfg.CustomersGroup, Subjects: []string{identityapi.SubjectCustomerEmailVerified}}, s.now, s.handleCustomer)
	if err != nil {
		s.consumers.Stop()
		return fmt.Errorf("review: subscribe to customer email verifications: %w", err)
	}
	s.consumers.Add(r)
	return nil
}

// Run stops the consumers when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.consumers.Stop()
	return nil
}

// HandleOrderEvent applies one order event to the buyers projection once
// (the inbox of the consumer group): applied is false for an event applied
// before.
func (s *Service) HandleOrderEvent(ctx context.Context, e outbox.Envelope) (applied bool, err error) {
	return outbox.Handle(ctx, s.store.DB(), s.cfg.OrdersGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.handleOrder(ctx, tx, e)
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
// guest orders placed with it, so they review them signed in as well as
// with the order token: the order service's rule, applied to the
// projection. Registering alone claims nothing (docs/decisions/0026); an
// event of another type (a registration still routed to the group by a
// broker's old binding) is skipped.
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
	n, err := reviewdb.New(tx).ClaimPurchases(ctx, reviewdb.ClaimPurchasesParams{CustomerID: c.CustomerID, TenantID: tenant, EmailHash: h})
	if err != nil {
		return fmt.Errorf("give guest orders to customer %s: %w", c.CustomerID, err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "guest purchases claimed", "tenant", tenant, "customer_id", c.CustomerID, "count", n)
	}
	return nil
}

// emailHash is the hex SHA-256 of an email as accounts are keyed (trimmed,
// lowercased); "" for none. The projection keeps this, never the email.
func emailHash(email string) string {
	email = identityapi.EmailKey(email)
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// handleOrder writes the order snapshot of e into the projection unless a
// newer one is there (events of one order may arrive out of order).
func (s *Service) handleOrder(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	var o orderapi.OrderEvent
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	if o.ID == "" || o.UpdatedAt.IsZero() {
		return bus.Permanent(fmt.Errorf("decode %s %s: order without id or updated_at", e.Type, e.ID))
	}
	status := purchaseStatus(e.Type)
	if status == "" {
		return nil // a subject this projection does not follow
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return applyPurchase(ctx, reviewdb.New(tx), tenant, o, status)
}

// purchaseStatus is the projection's status after an order event.
func purchaseStatus(subject string) string {
	switch subject {
	case orderapi.SubjectConfirmed:
		return "confirmed"
	case orderapi.SubjectDelivered:
		return "delivered"
	case orderapi.SubjectCancelled:
		return "cancelled"
	}
	return ""
}

// applyPurchase writes an order snapshot: the order row when newer than
// the one held, and its lines (which never change once confirmed).
func applyPurchase(ctx context.Context, q *reviewdb.Queries, tenant string, o orderapi.OrderEvent, status string) error {
	at := o.UpdatedAt.UnixMicro()
	held, err := q.PurchaseVersion(ctx, reviewdb.PurchaseVersionParams{TenantID: tenant, OrderID: o.ID})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("load purchase %s: %w", o.ID, err)
	case held >= at:
		return nil // stale or repeated snapshot
	}
	// The writes below only pass their errors on: on PostgreSQL they go out
	// with the commit (sqldb.Pipelined).
	ctx = sqldb.Pipelined(ctx)
	err = q.UpsertPurchase(ctx, reviewdb.UpsertPurchaseParams{TenantID: tenant, OrderID: o.ID, CustomerID: o.CustomerID,
		TokenHash: strings.ToLower(o.TokenHash), EmailHash: emailHash(o.Email), Status: status, BuyerName: o.ShippingAddress.Name, UpdatedAt: at})
	if err != nil {
		return fmt.Errorf("project purchase %s: %w", o.ID, err)
	}
	for _, l := range o.Lines {
		if l.SKU == "" || l.ProductID == "" {
			continue
		}
		err := q.InsertPurchaseLine(ctx, reviewdb.InsertPurchaseLineParams{TenantID: tenant, OrderID: o.ID, Sku: l.SKU,
			ProductID: l.ProductID, Title: l.Title})
		if err != nil {
			return fmt.Errorf("project line %s of purchase %s: %w", l.SKU, o.ID, err)
		}
	}
	return nil
}
