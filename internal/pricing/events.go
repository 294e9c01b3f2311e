package pricing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
)

// Start subscribes the catalog projection and the store settings before
// requests are served and before the demo seed runs: a new consumer group
// only sees messages published after it subscribes, so subscribing later
// would miss the demo catalog.
func (s *Service) Start(ctx context.Context) error {
	if s.bus == nil || s.consumers.Len() > 0 {
		return nil
	}
	tc, err := outbox.Consume(ctx, s.bus, s.store.DB(), bus.Subscription{Group: s.cfg.TenantGroup, Subjects: tenantSubjects}, s.now, s.applyTenantEvent)
	if err != nil {
		return fmt.Errorf("pricing: subscribe to tenant events: %w", err)
	}
	s.consumers.Add(tc)
	sub := bus.Subscription{
		Group: s.cfg.CatalogGroup,
		Subjects: []string{catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated,
			catalogapi.SubjectProductArchived},
	}
	c, err := outbox.Consume(ctx, s.bus, s.store.DB(), sub, s.now, s.applyCatalogEvent)
	if err != nil {
		s.consumers.Stop()
		return fmt.Errorf("pricing: subscribe to catalog events: %w", err)
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

// HandleCatalogEvent applies one catalog event exactly once (inbox dedupe
// under the projection's consumer group), as the bus consumer does.
func (s *Service) HandleCatalogEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.store.DB(), s.cfg.CatalogGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.applyCatalogEvent(ctx, tx, e)
	})
	return err
}

// applyCatalogEvent writes a product snapshot into the projection, unless
// a newer snapshot of the product was applied already: events of one
// product may arrive out of order, and the product's updated_at orders them.
func (s *Service) applyCatalogEvent(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	switch e.Type {
	case catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived:
	default:
		return nil // not ours: acknowledge
	}
	// The three payloads have the same shape: {"product": {...}}.
	var data catalogapi.ProductUpdated
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	p := data.Product
	if p.ID == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: no product id", e.Type, e.ID))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := pricingdb.New(tx)
	version := p.UpdatedAt.UnixMicro()
	seen, err := q.ProductVersion(ctx, pricingdb.ProductVersionParams{TenantID: tenant, ProductID: p.ID})
	switch {
	case err == nil && seen >= version:
		s.log.DebugContext(ctx, "stale product snapshot skipped", "event_id", e.ID, "product_id", p.ID)
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("load product version %s: %w", p.ID, err)
	}
	if err := q.PutProductVersion(ctx, pricingdb.PutProductVersionParams{TenantID: tenant, ProductID: p.ID, UpdatedAt: version}); err != nil {
		return fmt.Errorf("store product version %s: %w", p.ID, err)
	}
	if err := q.DeleteProductVariants(ctx, pricingdb.DeleteProductVariantsParams{TenantID: tenant, ProductID: p.ID}); err != nil {
		return fmt.Errorf("clear variants of %s: %w", p.ID, err)
	}
	active := p.Status == catalogapi.StatusActive && e.Type != catalogapi.SubjectProductArchived
	for _, v := range p.Variants {
		title := p.Title
		if v.Title != "" && v.Title != p.Title {
			title = p.Title + " – " + v.Title
		}
		err := q.PutVariant(ctx, pricingdb.PutVariantParams{TenantID: tenant, Sku: v.SKU, ProductID: p.ID, VariantID: v.ID,
			Title: title, CategoryID: p.CategoryID, Price: v.Price.Amount, Currency: v.Price.Currency, Active: active,
			ProductUpdatedAt: version})
		if err != nil {
			return fmt.Errorf("store variant %s: %w", v.SKU, err)
		}
	}
	return nil
}
