package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// consumerGroup is the bus consumer of the events stores may subscribe to.
const consumerGroup = "notify-webhooks"

// Start subscribes to the events stores may subscribe to. The consumer
// outlives Start's context: Run stops it.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil {
		return nil // tests hand events to HandleEvent
	}
	c, err := outbox.Consume(context.WithoutCancel(ctx), s.bus, s.st.DB(),
		bus.Subscription{Group: consumerGroup, Subjects: EventTypes}, s.now,
		func(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
			return s.enqueue(ctx, tx, e)
		})
	if err != nil {
		return fmt.Errorf("notify: subscribe to events: %w", err)
	}
	s.consumers.Add(c)
	c, err = outbox.Consume(context.WithoutCancel(ctx), s.bus, s.st.DB(),
		bus.Subscription{Group: emailGroup, Subjects: EmailEventTypes}, s.now,
		func(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
			return s.enqueueEmail(ctx, tx, e)
		})
	if err != nil {
		return fmt.Errorf("notify: subscribe to emailed events: %w", err)
	}
	s.consumers.Add(c)
	return nil
}

// Run sends due deliveries and emails until ctx is done, then stops the
// consumers.
func (s *Service) Run(ctx context.Context) error {
	defer s.consumers.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx, s.emails())
	}()
	s.run(ctx, s.deliveries())
	<-done
	return nil
}

// HandleEvent applies one event as the consumer does: once per event ID,
// whatever the redeliveries.
func (s *Service) HandleEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.st.DB(), consumerGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.enqueue(ctx, tx, e)
	})
	return err
}

// message is the body of a webhook request: the Standard Webhooks
// payload shape, with the event's ID and data as the producer wrote them.
type message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	EventID   string          `json:"event_id"`
	Data      json.RawMessage `json:"data"`
}

// enqueue makes, in the consumer's transaction, one delivery of e to each
// enabled subscription of its store that receives its type. The unique
// (subscription, event) key makes a second run a no-op, should the inbox
// ever let one through.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return bus.Permanent(fmt.Errorf("notify: event %s: %w", e.ID, err))
	}
	q := notifydb.New(tx)
	subs, err := q.SubscribersOf(ctx, notifydb.SubscribersOfParams{TenantID: tenant, EventType: e.Type})
	if err != nil || len(subs) == 0 {
		return err
	}
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(message{Type: e.Type, Timestamp: e.Time.UTC(), EventID: e.ID, Data: data})
	if err != nil {
		return bus.Permanent(fmt.Errorf("notify: event %s: encode body: %w", e.ID, err))
	}
	now := s.now()
	for _, sub := range subs {
		if _, err := q.InsertDelivery(ctx, notifydb.InsertDeliveryParams{TenantID: tenant, ID: kit.NewID(), SubscriptionID: sub,
			EventID: e.ID, EventType: e.Type, Body: string(body), NextAttemptAt: sqldb.Micros(now),
			RetryUntil: sqldb.Micros(now.Add(s.cfg.RetryFor)), CreatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("notify: queue delivery of %s: %w", e.ID, err)
		}
	}
	// The worker may look before the transaction commits; its poll then
	// finds the deliveries.
	s.notifyWorker()
	return nil
}
