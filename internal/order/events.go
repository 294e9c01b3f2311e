package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// groupCustomers is the consumer group of identity's customer events.
const groupCustomers = "order-customers"

// subscribe starts the consumers: identity's registrations, which claim
// guest orders. It runs in Start, before the demo seed and before requests,
// so no registration is missed: a new consumer group only sees messages
// published after it subscribed. Without a bus (tests) there is nothing to
// subscribe to. The consumer stops when Run ends.
func (s *Service) subscribe(ctx context.Context) error {
	if s.bus == nil {
		return nil
	}
	// The consumer outlives Start's context: Run stops it.
	c, err := outbox.Consume(context.WithoutCancel(ctx), s.bus, s.store.db, bus.Subscription{
		Group:    groupCustomers,
		Subjects: []string{identityapi.SubjectCustomerRegistered},
	}, s.now, s.handleCustomerRegistered)
	if err != nil {
		return fmt.Errorf("order: subscribe to customer registrations: %w", err)
	}
	s.mu.Lock()
	s.consumers = append(s.consumers, c)
	s.mu.Unlock()
	return nil
}

func (s *Service) stopConsumers() {
	s.mu.Lock()
	cs := s.consumers
	s.consumers = nil
	s.mu.Unlock()
	for _, c := range cs {
		c.Stop()
	}
}

// handleCustomerRegistered gives a new customer the store's guest orders
// placed with their email (compared lowercased, as identity keys
// accounts), in the transaction that records the event in the inbox.
// Orders that belong to a customer already keep theirs. Identity announces
// an account without verifying its email (it has no verification yet):
// whoever registers an address first is given its guest orders.
func (s *Service) handleCustomerRegistered(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	var c identityapi.CustomerRegistered
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	email := emailKey(c.Email)
	if strings.TrimSpace(c.CustomerID) == "" || email == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: registration without customer_id or email", e.Type, e.ID))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	n, err := s.store.write.WithTx(tx).ClaimGuestOrders(ctx, orderdb.ClaimGuestOrdersParams{
		CustomerID: sql.NullString{String: c.CustomerID, Valid: true}, TenantID: tenant, EmailLower: email})
	if err != nil {
		return fmt.Errorf("claim guest orders of customer %s: %w", c.CustomerID, err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "guest orders claimed", "tenant", tenant, "customer_id", c.CustomerID, "count", n)
	}
	return nil
}
