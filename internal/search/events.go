package search

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/search/searchapi"
	"github.com/mercato/mercato/internal/search/searchdb"
)

// The subjects each consumer group reads.
var (
	catalogSubjects   = []string{catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived}
	inventorySubjects = []string{inventoryapi.SubjectStockAdjusted, inventoryapi.SubjectStockReserved, inventoryapi.SubjectStockReleased}
	reviewSubjects    = []string{reviewapi.SubjectRatingChanged}
)

// ConsumerConcurrency is how many events each consumer applies at once
// (searchapi.ConsumerConcurrency).
const ConsumerConcurrency = searchapi.ConsumerConcurrency

// Start reads where the indexes are in the projection and subscribes the
// three consumers before requests are served and before the demo seed runs
// (a new consumer group only sees what is published after it subscribed).
// The indexes catch up with the projection in Run: a new replica's build
// does not hold up the process's start, and searches answer from what is
// indexed so far.
func (s *Service) Start(ctx context.Context) error {
	if err := s.indexer.start(ctx); err != nil {
		return fmt.Errorf("search: read index cursors: %w", err)
	}
	if s.bus == nil || s.consumers.Len() > 0 {
		return nil // tests hand events to Handle
	}
	for _, g := range []struct{ group, what string }{
		{s.cfg.CatalogGroup, "catalog"}, {s.cfg.InventoryGroup, "inventory"}, {s.cfg.ReviewGroup, "review"},
	} {
		subjects := map[string][]string{"catalog": catalogSubjects, "inventory": inventorySubjects, "review": reviewSubjects}[g.what]
		group := g.group
		// The consumer outlives Start's context: Run stops it.
		c, err := s.bus.Subscribe(context.WithoutCancel(ctx), bus.Subscription{Group: group, Subjects: subjects, Concurrency: ConsumerConcurrency},
			func(ctx context.Context, m bus.Message) error {
				e, err := outbox.Decode(m)
				if err != nil {
					return err
				}
				return s.handle(ctx, group, e, false)
			})
		if err != nil {
			s.consumers.Stop()
			return fmt.Errorf("search: subscribe to %s events: %w", g.what, err)
		}
		s.consumers.Add(c)
	}
	return nil
}

// Run catches the indexes up with the projection, then follows it (what
// other replicas wrote) until ctx is done, then stops the consumers and
// closes the indexes (persisting what they hold).
func (s *Service) Run(ctx context.Context) error {
	start := time.Now()
	n, err := s.indexer.catchUp(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WarnContext(ctx, "search index catch-up failed", "err", err) // the follower tries again
	case n > 0:
		s.log.InfoContext(ctx, "search index caught up", "count", n, "duration", time.Since(start).Round(time.Millisecond))
	}
	s.indexer.follow(ctx, s.cfg.Poll, s.wake)
	s.consumers.Stop()
	return s.Close()
}

// Handle applies one event exactly once, as the bus consumers do: the
// projection's change and the inbox record in one transaction (outbox.Handle
// under the event's consumer group), then, once committed, the products it
// touched are indexed again; Handle returns once they are searchable (the
// consumers do not wait). An event of no known subject is acknowledged.
func (s *Service) Handle(ctx context.Context, e outbox.Envelope) error {
	group := s.groupOf(e.Type)
	if group == "" {
		return nil
	}
	return s.handle(ctx, group, e, true)
}

// Deliver applies one event as the bus consumers do: it returns once the
// projection holds it, and the index follows without being waited for.
// What a bus would deliver can be handed here (mercato bench search).
func (s *Service) Deliver(ctx context.Context, e outbox.Envelope) error {
	group := s.groupOf(e.Type)
	if group == "" {
		return nil
	}
	return s.handle(ctx, group, e, false)
}

// groupOf is the consumer group of an event type; "" for none of ours.
func (s *Service) groupOf(typ string) string {
	switch {
	case contains(catalogSubjects, typ):
		return s.cfg.CatalogGroup
	case contains(inventorySubjects, typ):
		return s.cfg.InventoryGroup
	case contains(reviewSubjects, typ):
		return s.cfg.ReviewGroup
	}
	return ""
}

// handle is Handle under a known group, waiting for the index or not.
// outbox.Consume would do the same but offers no step after the commit,
// where the index is refreshed.
func (s *Service) handle(ctx context.Context, group string, e outbox.Envelope, wait bool) error {
	var touched []string
	_, err := outbox.Handle(ctx, s.store.DB(), group, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		touched, err = s.apply(ctx, tx, e)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.indexer.refresh(ctx, e.Tenant, touched, wait); err != nil {
		// The projection holds the change: the next catch-up indexes it.
		s.log.WarnContext(ctx, "search index refresh failed", "event_id", e.ID, "err", err)
		s.poke()
	}
	return nil
}

// poke asks the follower for a catch-up soon.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// apply writes one event into the projection in tx and returns the
// products whose documents changed.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, e outbox.Envelope) ([]string, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	q := searchdb.New(tx)
	now := sqldb.Micros(s.now())
	switch e.Type {
	case catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived:
		// The three payloads have the same shape.
		var data catalogapi.ProductUpdated
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return nil, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		return applyProduct(ctx, q, tenant, snapshot{Product: data.Product, Category: data.Category,
			Archived: e.Type == catalogapi.SubjectProductArchived}, now)
	case inventoryapi.SubjectStockAdjusted:
		var data inventoryapi.StockAdjusted
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return nil, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		if data.Available == nil {
			return nil, nil // published before events carried the total: nothing to learn
		}
		return applyStock(ctx, q, tenant, []inventoryapi.SKULevel{{SKU: data.SKU, Available: *data.Available}}, data.At.UnixMicro(), now)
	case inventoryapi.SubjectStockReserved:
		var data inventoryapi.StockReserved
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return nil, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		return applyStock(ctx, q, tenant, data.Levels, data.At.UnixMicro(), now)
	case inventoryapi.SubjectStockReleased:
		var data inventoryapi.StockReleased
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return nil, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		return applyStock(ctx, q, tenant, data.Levels, data.At.UnixMicro(), now)
	case reviewapi.SubjectRatingChanged:
		var data reviewapi.RatingChanged
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return nil, bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		return applyRating(ctx, q, tenant, data, now)
	}
	return nil, nil
}

// applyProduct keeps the newest snapshot of a product (events of one
// product may arrive out of order; its updated_at orders them) and the
// SKUs it has now.
func applyProduct(ctx context.Context, q *searchdb.Queries, tenant string, snap snapshot, now int64) ([]string, error) {
	p := snap.Product
	if p.ID == "" {
		return nil, bus.Permanent(errors.New("product event without a product id"))
	}
	version := p.UpdatedAt.UnixMicro()
	seen, err := q.ProductVersions(ctx, searchdb.ProductVersionsParams{TenantID: tenant, ProductID: p.ID})
	switch {
	case err == nil && seen.ProductVersion > version:
		return nil, nil // stale
	case err == nil && seen.ProductVersion == version && !snap.Archived:
		return nil, nil // the same change again (an archive at the same instant still wins)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("load versions of %s: %w", p.ID, err)
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot of %s: %w", p.ID, err)
	}
	if err := q.PutSnapshot(ctx, searchdb.PutSnapshotParams{TenantID: tenant, ProductID: p.ID, Snapshot: string(raw),
		ProductVersion: version, ChangedAt: now}); err != nil {
		return nil, fmt.Errorf("store snapshot of %s: %w", p.ID, err)
	}
	if err := q.DeleteProductSKUs(ctx, searchdb.DeleteProductSKUsParams{TenantID: tenant, ProductID: p.ID}); err != nil {
		return nil, fmt.Errorf("clear SKUs of %s: %w", p.ID, err)
	}
	for _, v := range p.Variants {
		if err := q.PutSKU(ctx, searchdb.PutSKUParams{TenantID: tenant, Sku: v.SKU, ProductID: p.ID}); err != nil {
			return nil, fmt.Errorf("store SKU %s: %w", v.SKU, err)
		}
	}
	return []string{p.ID}, nil
}

// applyStock keeps each SKU's newest available units (version: the
// event's time) and marks the products of the SKUs whose in-stock state
// may have changed.
func applyStock(ctx context.Context, q *searchdb.Queries, tenant string, levels []inventoryapi.SKULevel, version, now int64) ([]string, error) {
	var touched []string
	for _, l := range levels {
		seen, err := q.StockVersion(ctx, searchdb.StockVersionParams{TenantID: tenant, Sku: l.SKU})
		switch {
		case err == nil && seen > version:
			continue // stale
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("load stock version of %s: %w", l.SKU, err)
		}
		if err := q.PutStock(ctx, searchdb.PutStockParams{TenantID: tenant, Sku: l.SKU, Available: l.Available, Version: version}); err != nil {
			return nil, fmt.Errorf("store stock of %s: %w", l.SKU, err)
		}
		id, err := q.SKUProduct(ctx, searchdb.SKUProductParams{TenantID: tenant, Sku: l.SKU})
		if errors.Is(err, sql.ErrNoRows) {
			continue // no product event named the SKU yet: its snapshot will read the stock
		}
		if err != nil {
			return nil, fmt.Errorf("find product of %s: %w", l.SKU, err)
		}
		if !contains(touched, id) {
			if err := q.TouchProduct(ctx, searchdb.TouchProductParams{TenantID: tenant, ProductID: id, ChangedAt: now}); err != nil {
				return nil, fmt.Errorf("mark %s changed: %w", id, err)
			}
			touched = append(touched, id)
		}
	}
	return touched, nil
}

// applyRating keeps the newest rating aggregate of a product (by its
// Version). A product the catalog has not spoken of yet gets a row that
// its first snapshot completes.
func applyRating(ctx context.Context, q *searchdb.Queries, tenant string, r reviewapi.RatingChanged, now int64) ([]string, error) {
	if r.ProductID == "" {
		return nil, bus.Permanent(errors.New("rating event without a product id"))
	}
	seen, err := q.ProductVersions(ctx, searchdb.ProductVersionsParams{TenantID: tenant, ProductID: r.ProductID})
	switch {
	case err == nil && seen.RatingVersion >= r.Version:
		return nil, nil // stale or repeated
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("load versions of %s: %w", r.ProductID, err)
	}
	avg := int64(math.Round(r.Average * 100))
	if r.Count == 0 {
		avg = 0
	}
	if err := q.PutRating(ctx, searchdb.PutRatingParams{TenantID: tenant, ProductID: r.ProductID, RatingAverage: avg,
		RatingCount: r.Count, RatingVersion: r.Version, ChangedAt: now}); err != nil {
		return nil, fmt.Errorf("store rating of %s: %w", r.ProductID, err)
	}
	return []string{r.ProductID}, nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
