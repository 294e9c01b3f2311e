package inventory

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// maxID is above every UUID: the "before" of a ledger's first page.
const maxID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// Movements returns a page of the ledger, newest first: one SKU's, or all
// of them. The cursor is the ID of the last movement of the previous page.
func (s *Service) Movements(ctx context.Context, lq ListQuery) (inventoryapi.MovementList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.MovementList{}, err
	}
	before := maxID
	if lq.Cursor != "" {
		id, err := uuid.Parse(lq.Cursor)
		if err != nil {
			return inventoryapi.MovementList{}, kit.ErrInvalidCursor
		}
		before = id.String()
	}
	n := s.pageSize(lq.Limit)
	var rows []inventorydb.Movement
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		var err error
		if lq.SKU != "" {
			rows, err = q.ListMovements(ctx, inventorydb.ListMovementsParams{TenantID: tenant, Sku: lq.SKU, Before: before, Lim: int32(n + 1)})
		} else {
			rows, err = q.ListAllMovements(ctx, inventorydb.ListAllMovementsParams{TenantID: tenant, Before: before, Lim: int32(n + 1)})
		}
		return err
	})
	if err != nil {
		return inventoryapi.MovementList{}, fmt.Errorf("list movements: %w", err)
	}
	out := inventoryapi.MovementList{Items: make([]inventoryapi.Movement, 0, min(len(rows), n))}
	if len(rows) > n {
		rows = rows[:n]
		out.NextCursor = rows[n-1].ID
	}
	for _, r := range rows {
		out.Items = append(out.Items, toMovement(r))
	}
	return out, nil
}
