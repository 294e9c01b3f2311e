package tenant

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
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
	t, err := kit.ReadOne(ctx, s.st, func(q *tenantdb.Queries) (tenantdb.Tenant, error) { return loadTenant(ctx, q, id) })
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

// SetPlan moves ctx's store to plan: the deployment operator's operation
// (the admin or service token), never a store's own staff nor its signup.
func (s *Service) SetPlan(ctx context.Context, plan string) (tenantapi.Limits, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.Limits{}, err
	}
	l, ok := planLimits(plan)
	if !ok {
		return tenantapi.Limits{}, invalid("validation_failed", "body.plan", "must be free, pro or enterprise", plan)
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		n, err := q.UpdatePlan(ctx, tenantdb.UpdatePlanParams{Plan: plan, UpdatedAt: sqldb.Micros(s.now()), ID: id})
		if err != nil {
			return fmt.Errorf("set plan of %s: %w", id, err)
		}
		if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return tenantapi.Limits{}, err
	}
	s.log.InfoContext(ctx, "store plan set", "tenant", id, "plan", plan)
	return l, nil
}
