package cart

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// ListQuery selects a page of the admin cart list.
type ListQuery struct {
	// Status is "" (all), "open" or "checked_out".
	Status string
	Cursor string
	Limit  int
}

// cursor is the position after the last cart of a page: the list is
// ordered by (updated_at, id) descending.
type cursor struct {
	updated int64
	id      string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.updated, 10) + ":" + c.id))
}

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, ErrInvalidCursor
	}
	at, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, ErrInvalidCursor
	}
	return cursor{updated: n, id: id}, nil
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
		return cartapi.CartList{}, &InputError{Err: ErrInvalid, Field: "status", Value: lq.Status, Message: "unknown status"}
	}
	// The first page starts after the largest possible key.
	after := cursor{updated: math.MaxInt64} // no cart has this updated_at: the id never compares
	if lq.Cursor != "" {
		if after, err = decodeCursor(lq.Cursor); err != nil {
			return cartapi.CartList{}, err
		}
	}
	n := web.PageSize(lq.Limit, s.cfg.PageSize, s.cfg.MaxPageSize)
	// One more than a page tells whether there is a next page.
	var rows []cartdb.ListCartsRow
	err = s.store.readTx(ctx, func(q *cartdb.Queries) error {
		var err error
		rows, err = q.ListCarts(ctx, cartdb.ListCartsParams{TenantID: tenant, Status: lq.Status,
			AfterUpdated: after.updated, AfterID: after.id, PageLimit: int32(n + 1)})
		return err
	})
	if err != nil {
		return cartapi.CartList{}, fmt.Errorf("list carts: %w", err)
	}
	out := cartapi.CartList{Items: make([]cartapi.CartSummary, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor{updated: rows[n-1].UpdatedAt, id: rows[n-1].ID}.encode()
			break
		}
		out.Items = append(out.Items, cartapi.CartSummary{
			ID: r.ID, Status: r.Status, Email: r.Email, CustomerID: r.CustomerID, Currency: r.Currency,
			OrderID: r.OrderID, Lines: r.LineCount, Quantity: r.Quantity,
			CreatedAt: time.UnixMicro(r.CreatedAt).UTC(), UpdatedAt: time.UnixMicro(r.UpdatedAt).UTC(),
		})
	}
	return out, nil
}
