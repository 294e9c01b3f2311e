package catalog

import (
	"context"
	"fmt"

	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// PlanLimits is what the catalog needs of the tenant service
// (tenantapi.Client): the plan limits of the store in ctx.
type PlanLimits interface {
	Limits(ctx context.Context) (tenantapi.Limits, error)
}

// roomForOne checks, in the write transaction, that the store may have one
// more draft or active product under limits (nil: no limit). The lock row
// makes concurrent creations of one store take turns, so the count is not
// stale by the time the product is inserted.
func (s *Service) roomForOne(ctx context.Context, q *catalogdb.Queries, tenant string, limits *tenantapi.Limits) error {
	if limits == nil {
		return nil
	}
	if err := q.LockProductQuota(ctx, catalogdb.LockProductQuotaParams{TenantID: tenant, TouchedAt: sqldb.Micros(s.now())}); err != nil {
		return fmt.Errorf("lock product quota: %w", err)
	}
	n, err := q.CountLiveProducts(ctx, tenant)
	if err != nil {
		return fmt.Errorf("count products: %w", err)
	}
	return tenantapi.CheckLimit(*limits, tenantapi.ResourceProducts, n)
}
