package cart

import (
	"context"
	"fmt"
	"math"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// ListQuery selects a page of the admin cart list.
type ListQuery struct {
	// Status is "" (all), "open" or "checked_out".
	Status string
	Cursor string
	Limit  int
}

// Carts returns a page of the tenant's carts, most recently changed first,
// for the admin.
func (s *Service) Carts(ctx context.Context, lq ListQuery) (cartapi.CartList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.CartList{}, err
	}
	switch lq.Status {
	case "", cartapi.StatusOpen, cartapi.StatusCheckedOut:
	default:
		return cartapi.CartList{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "query.status",
			Message: "unknown status", Value: lq.Status})
	}
	// The list is ordered by (updated_at, id) descending; the first page
	// starts after the largest possible key.
	after := kit.Cursor{At: math.MaxInt64} // no cart has this updated_at: the id never compares
	if lq.Cursor != "" {
		if after, err = kit.ParseCursor(lq.Cursor); err != nil {
			return cartapi.CartList{}, err
		}
	}
	n := s.cfg.Paging.Size(lq.Limit)
	// One more than a page tells whether there is a next page.
	var rows []cartdb.ListCartsRow
	err = s.store.Read(ctx, func(q *cartdb.Queries) error {
		var err error
		rows, err = q.ListCarts(ctx, cartdb.ListCartsParams{TenantID: tenant, Status: lq.Status,
			AfterUpdated: after.At, AfterID: after.ID, PageLimit: int32(n + 1)})
		return err
	})
	if err != nil {
		return cartapi.CartList{}, fmt.Errorf("list carts: %w", err)
	}
	out := cartapi.CartList{Items: make([]cartapi.CartSummary, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = kit.Cursor{At: rows[n-1].UpdatedAt, ID: rows[n-1].ID}.String()
			break
		}
		out.Items = append(out.Items, cartapi.CartSummary{
			ID: r.ID, Status: r.Status, Email: r.Email, CustomerID: r.CustomerID, Currency: r.Currency,
			OrderID: r.OrderID, Lines: r.LineCount, Quantity: r.Quantity,
			CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
		})
	}
	return out, nil
}
