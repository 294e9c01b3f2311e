package pricing

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// fakeBus records the one subscription and lets the test deliver to it.
type fakeBus struct {
	bus.Bus
	sub     bus.Subscription
	h       bus.Handler
	stopped bool
}

func (b *fakeBus) Subscribe(_ context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	b.sub, b.h = sub, h
	return b, nil
}

func (b *fakeBus) Stop() { b.stopped = true }

// TestStartConsumesCatalogEvents checks Start subscribes the projection
// under its group to the three product subjects, that a delivered message
// reaches the projection, and that Run stops the consumer.
func TestStartConsumesCatalogEvents(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		b := &fakeBus{}
		svc, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db, Bus: b}})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := []string{catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived}
		if b.sub.Group != "pricing-catalog" || !slices.Equal(b.sub.Subjects, want) {
			t.Fatalf("subscription = %+v", b.sub)
		}
		ctx := tenancy.WithID(t.Context(), "acme")
		p := catalogapi.Product{ID: "p1", Title: "Tea", Status: catalogapi.StatusActive, UpdatedAt: testNow,
			Variants: []catalogapi.Variant{{ID: "v1", SKU: "TEA-1", Title: "Tea", Price: money.Money{Amount: 450, Currency: "EUR"}}}}
		e, err := outbox.NewEvent(ctx, catalogapi.Source, catalogapi.SubjectProductCreated, testNow, catalogapi.ProductCreated{Product: p})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.h(t.Context(), bus.Message{ID: e.ID, Subject: e.Type, Data: raw, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		q, err := svc.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "TEA-1", Quantity: 2}}, NoShipping: true})
		if err != nil || q.Subtotal.Amount != 900 || q.Lines[0].Title != "Tea" {
			t.Fatalf("quote after event: %+v, %v", q, err)
		}
		// A message that is no envelope is dead-lettered at once.
		if err := b.h(t.Context(), bus.Message{ID: "x", Subject: e.Type, Data: []byte("{")}); !bus.IsPermanent(err) {
			t.Fatalf("garbage: %v, want a permanent error", err)
		}
		runCtx, cancel := context.WithTimeout(t.Context(), time.Second)
		cancel()
		if err := svc.Run(runCtx); err != nil || !b.stopped {
			t.Fatalf("Run = %v, stopped %v", err, b.stopped)
		}
	}, Migrations...)
}
