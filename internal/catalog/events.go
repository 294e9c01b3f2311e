package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// MediaGroup is the consumer group adding uploaded images to products.
const MediaGroup = "catalog-media"

// Start subscribes to the media service's uploads before requests are
// served: a product image uploaded is added to its product. Without a bus
// (tests) nothing is subscribed; HandleMediaEvent takes the events.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil || s.consumers.Len() > 0 {
		return nil
	}
	// The consumer outlives Start's context: Run stops it.
	c, err := outbox.Consume(context.WithoutCancel(ctx), invalidating{s.bus, s}, s.store.DB(),
		bus.Subscription{Group: MediaGroup, Subjects: []string{mediaapi.SubjectUploaded}}, s.now, s.applyMediaEvent)
	if err != nil {
		return fmt.Errorf("catalog: subscribe to media uploads: %w", err)
	}
	s.consumers.Add(c)
	return nil
}

// Run waits for ctx, then stops the consumers.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.consumers.Stop()
	return nil
}

// HandleMediaEvent applies one media event exactly once (inbox dedupe
// under MediaGroup), as the bus consumer does, and then drops the tenant's
// cached pages.
func (s *Service) HandleMediaEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.store.DB(), MediaGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.applyMediaEvent(ctx, tx, e)
	})
	if err == nil {
		s.pages.Invalidate(e.Tenant)
	}
	return err
}

// invalidating is a bus whose handlers, once they succeeded (the inbox's
// transaction committed), drop the tenant's cached public pages: so the
// product page shows a new image at once in this process. Before the
// commit would be too early (see Service.write).
type invalidating struct {
	bus.Bus
	s *Service
}

func (b invalidating) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	return b.Bus.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		if err := h(ctx, m); err != nil {
			return err
		}
		if e, err := outbox.Decode(m); err == nil {
			b.s.pages.Invalidate(e.Tenant)
		}
		return nil
	})
}

// applyMediaEvent adds an uploaded product image to its product, in the
// inbox's transaction, and announces the product as updated. An image the
// product has already (the same bytes uploaded again) is not added twice;
// an image of a product the store does not have, or of one with the most
// images it may have, is dropped with a warning; a logo is not the
// catalog's.
func (s *Service) applyMediaEvent(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	if e.Type != mediaapi.SubjectUploaded {
		return nil
	}
	var up mediaapi.Uploaded
	if err := json.Unmarshal(e.Data, &up); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	m := up.Media
	if m.Kind != mediaapi.KindProductImage {
		return nil
	}
	if mediaapi.HashOf(m.URL) == "" || m.ProductID == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: no product or no media URL", e.Type, e.ID))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := catalogdb.New(tx) // the inbox's transaction, which outbox.Handle began
	old, err := s.store.product(ctx, q, tenant, m.ProductID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.log.WarnContext(ctx, "image of an unknown product dropped", "tenant", tenant, "product_id", m.ProductID, "event_id", e.ID)
			return nil
		}
		return err
	}
	if slices.ContainsFunc(old.Images, func(img catalogapi.Image) bool { return img.URL == m.URL }) {
		return nil
	}
	if len(old.Images) >= maxImages {
		s.log.WarnContext(ctx, "image dropped: the product has the most images it may", "tenant", tenant, "product_id", m.ProductID, "event_id", e.ID)
		return nil
	}
	p := old
	p.Images = append(slices.Clip(old.Images), catalogapi.Image{URL: m.URL, Alt: m.Alt, Width: m.Width, Height: m.Height})
	p.UpdatedAt = s.now().UTC()
	if !p.UpdatedAt.After(old.UpdatedAt) {
		p.UpdatedAt = old.UpdatedAt.Add(time.Microsecond) // updated_at must move for the optimistic check
	}
	if err := updateProduct(ctx, q, tenant, old, p); err != nil {
		return err
	}
	// The event carries the product's category as every product event does:
	// consumers (search, analytics) take an event without one as a product
	// without a category.
	cat, err := categoryRef(ctx, q, tenant, p.CategoryID)
	if err != nil {
		return err
	}
	return addEvent(ctx, tx, catalogapi.SubjectProductUpdated, p.UpdatedAt, catalogapi.ProductUpdated{Product: p, Category: cat})
}
