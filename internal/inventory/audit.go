package inventory

import (
	"context"
	"fmt"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Audit counts violations of the inventory's invariants for the tenant, in
// one snapshot. The bench and the tests expect all zero (expired_held may
// be briefly above zero between sweeps).
func (s *Service) Audit(ctx context.Context) (inventoryapi.Audit, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.Audit{}, err
	}
	var a inventoryapi.Audit
	now := s.now()
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		var err error
		if a.NegativeStock, err = q.AuditNegativeStock(ctx, tenant); err != nil {
			return fmt.Errorf("audit negative stock: %w", err)
		}
		if a.LedgerMismatches, err = q.AuditLedgerMismatches(ctx, tenant); err != nil {
			return fmt.Errorf("audit ledger: %w", err)
		}
		if a.ExpiredHeld, err = q.AuditExpiredHeld(ctx, inventorydb.AuditExpiredHeldParams{TenantID: tenant, Now: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("audit expired reservations: %w", err)
		}
		if a.ReservedMismatches, err = q.AuditReservedMismatches(ctx, tenant); err != nil {
			return fmt.Errorf("audit reserved stock: %w", err)
		}
		return nil
	})
	return a, err
}
