package tenant

import (
	"context"

	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// planLimits are the limits of each plan. They live in code: changing a
// plan is a release, and every store on it moves at once.
func planLimits(plan string) (tenantapi.Limits, bool) {
	switch plan {
	case tenantapi.PlanFree:
		return tenantapi.Limits{Plan: plan, Products: 100, Staff: 2}, true
	case tenantapi.PlanPro:
		return tenantapi.Limits{Plan: plan, Products: 10_000, Staff: 20}, true
	case tenantapi.PlanEnterprise:
		return tenantapi.Limits{Plan: plan, Products: tenantapi.Unlimited, Staff: tenantapi.Unlimited}, true
	}
	return tenantapi.Limits{}, false
}

// Limits returns the plan limits of ctx's store.
func (s *Service) Limits(ctx context.Context) (tenantapi.Limits, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.Limits{}, err
	}
	t, err := readOne(ctx, s.store, func(q *tenantdb.Queries) (tenantdb.Tenant, error) { return s.store.tenant(ctx, q, id) })
	if err != nil {
		return tenantapi.Limits{}, err
	}
	l, ok := planLimits(t.Plan)
	if !ok {
		// The column's CHECK allows only known plans.
		return tenantapi.Limits{Plan: t.Plan, Products: 0, Staff: 0}, nil
	}
	return l, nil
}
