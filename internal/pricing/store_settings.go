package pricing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// The store settings that change money (currency, tax-inclusive prices)
// belong to the tenant service: a store's owner changes them with PATCH
// /api/v1/admin/store, and pricing applies them from tenant.created.v1 and
// tenant.updated.v1 (consumer group TenantGroup, inbox dedupe), keeping the
// newest version it has seen. A new store also gets its default shipping
// method here, so that it can check out from the start.

// defaultMethod is the shipping method every new store starts with: free,
// everywhere, in the store's currency. The owner prices it (or adds others)
// at /api/v1/admin/pricing/shipping-methods.
func defaultMethod(currency string) pricingapi.ShippingMethodInput {
	return pricingapi.ShippingMethodInput{Code: "standard", Name: "Standard shipping", Price: money.Money{Amount: 0, Currency: currency}}
}

// tenantSubjects are the tenant events the store settings come from.
var tenantSubjects = []string{tenantapi.SubjectTenantCreated, tenantapi.SubjectTenantUpdated}

// HandleTenantEvent applies one tenant event exactly once (inbox dedupe
// under the store settings' consumer group), as the bus consumer does.
func (s *Service) HandleTenantEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.store.DB(), s.cfg.TenantGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.applyTenantEvent(ctx, tx, e)
	})
	return err
}

// applyTenantEvent copies a store's currency and tax mode, unless a newer
// version of them was applied already (events may arrive out of order), and
// gives a new store its default shipping method.
func (s *Service) applyTenantEvent(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	var set tenantapi.Settings
	var version int64
	created := false
	switch e.Type {
	case tenantapi.SubjectTenantCreated:
		var data tenantapi.TenantCreated
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		// Stores created before the event carried settings have a new
		// store's.
		set = tenantapi.DefaultSettings(data.Name)
		if data.Settings != nil {
			set = *data.Settings
		}
		version, created = data.UpdatedAt.UnixMicro(), true
		if data.UpdatedAt.IsZero() {
			version = e.Time.UnixMicro()
		}
	case tenantapi.SubjectTenantUpdated:
		var data tenantapi.TenantUpdated
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
		}
		set, version = data.Settings, data.UpdatedAt.UnixMicro()
		if data.UpdatedAt.IsZero() {
			version = e.Time.UnixMicro()
		}
	default:
		return nil // not ours: acknowledge
	}
	if err := money.ValidCurrency(set.Currency); err != nil {
		return bus.Permanent(fmt.Errorf("%s %s: currency %q: %w", e.Type, e.ID, set.Currency, err))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := pricingdb.New(tx)
	now := s.now().UnixMicro()
	n, err := q.PutStoreSettings(ctx, pricingdb.PutStoreSettingsParams{TenantID: tenant, Currency: set.Currency,
		TaxInclusive: set.TaxInclusive, Version: version, UpdatedAt: now})
	if err != nil {
		return fmt.Errorf("apply store settings: %w", err)
	}
	if n == 0 {
		s.log.DebugContext(ctx, "older store settings skipped", "event_id", e.ID, "tenant", tenant)
	} else if _, err := q.FollowCurrency(ctx, pricingdb.FollowCurrencyParams{Currency: set.Currency, UpdatedAt: now, TenantID: tenant}); err != nil {
		return fmt.Errorf("move free shipping methods to %s: %w", set.Currency, err)
	}
	if !created {
		return nil
	}
	// A new store can check out at once: a free standard method, its
	// default, unless it has methods already (a replayed event, the demo).
	count, err := q.CountShippingMethods(ctx, tenant)
	if err != nil {
		return fmt.Errorf("count shipping methods: %w", err)
	}
	if count > 0 {
		return nil
	}
	m := defaultMethod(set.Currency)
	if err := q.InsertShippingMethod(ctx, pricingdb.InsertShippingMethodParams{TenantID: tenant, ID: kit.NewID(), Code: m.Code,
		Name: m.Name, Price: m.Price.Amount, Currency: m.Price.Currency, Countries: jsonList(nil), Active: true,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		return fmt.Errorf("create the default shipping method: %w", err)
	}
	if err := q.DefaultShippingMethodIfNone(ctx, pricingdb.DefaultShippingMethodIfNoneParams{TenantID: tenant, Code: m.Code,
		DefaultCountry: s.cfg.DefaultCountry, UpdatedAt: now}); err != nil {
		return fmt.Errorf("make %s the default shipping method: %w", m.Code, err)
	}
	return nil
}

// replaceUntouchedDefault replaces the store's default shipping method by
// m (the demo's of the same code) if it is still as the store got it; else
// it answers ErrTaken, leaving the store's own method alone.
func (s *Service) replaceUntouchedDefault(ctx context.Context, m pricingapi.ShippingMethodInput) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	row, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) (pricingdb.ShippingMethod, error) {
		return q.GetShippingMethodByCode(ctx, pricingdb.GetShippingMethodByCodeParams{TenantID: tenant, Code: m.Code})
	})
	if err != nil {
		return fmt.Errorf("load shipping method %s: %w", m.Code, err)
	}
	def := defaultMethod(row.Currency)
	if row.Name != def.Name || row.Price != 0 || row.FreeOver.Valid || row.Countries != jsonList(nil) || !row.Active {
		return ErrTaken
	}
	_, err = s.SaveShippingMethod(ctx, row.ID, m)
	return err
}
