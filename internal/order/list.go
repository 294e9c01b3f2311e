package order

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// ListQuery filters and pages the admin order list; zero values are unset.
type ListQuery struct {
	Status      orderapi.Status
	Email       string
	CreatedFrom time.Time // inclusive
	CreatedTo   time.Time // exclusive
	Cursor      string
	Limit       int
}

// List returns a page of the tenant's orders, newest first. Listed orders
// carry no shipments or returns.
func (s *Service) List(ctx context.Context, lq ListQuery) (orderapi.OrderList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return orderapi.OrderList{}, err
	}
	n := s.pageSize(lq.Limit)
	p := orderdb.ListOrdersParams{TenantID: tenant, Status: string(lq.Status), Email: strings.TrimSpace(lq.Email),
		CreatedFrom: math.MinInt64, CreatedTo: math.MaxInt64, AfterCreated: math.MaxInt64, PageLimit: int32(n + 1)}
	if !lq.CreatedFrom.IsZero() {
		p.CreatedFrom = sqldb.Micros(lq.CreatedFrom)
	}
	if !lq.CreatedTo.IsZero() {
		p.CreatedTo = sqldb.Micros(lq.CreatedTo)
	}
	if lq.Cursor != "" {
		c, err := kit.ParseCursor(lq.Cursor)
		if err != nil {
			return orderapi.OrderList{}, err
		}
		p.AfterCreated, p.AfterID = c.At, c.ID
	}
	recs, err := s.store.list(ctx, p)
	if err != nil {
		return orderapi.OrderList{}, err
	}
	return page(recs, n), nil
}

// CustomerOrders returns a page of the signed-in customer's orders (the
// customer principal in ctx), newest first: ErrSignInRequired without
// credentials, ErrNotCustomer for anyone else. Listed orders carry no
// shipments or returns.
func (s *Service) CustomerOrders(ctx context.Context, cursor string, limit int) (orderapi.OrderList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return orderapi.OrderList{}, err
	}
	customer := customerOf(ctx)
	if customer == "" {
		if _, ok := auth.From(ctx); !ok {
			return orderapi.OrderList{}, ErrSignInRequired
		}
		return orderapi.OrderList{}, ErrNotCustomer
	}
	n := s.pageSize(limit)
	p := orderdb.ListCustomerOrdersParams{TenantID: tenant, CustomerID: sql.NullString{String: customer, Valid: true},
		AfterCreated: math.MaxInt64, PageLimit: int32(n + 1)}
	if cursor != "" {
		c, err := kit.ParseCursor(cursor)
		if err != nil {
			return orderapi.OrderList{}, err
		}
		p.AfterCreated, p.AfterID = c.At, c.ID
	}
	recs, err := s.store.customerOrders(ctx, p)
	if err != nil {
		return orderapi.OrderList{}, err
	}
	return page(recs, n), nil
}

// pageSize turns a requested limit into the page size.
func (s *Service) pageSize(limit int) int {
	return s.cfg.Paging.Size(limit)
}

// page is the first n of recs (n+1 were read: one more tells there is a
// next page) with the cursor after the last.
func page(recs []record, n int) orderapi.OrderList {
	out := orderapi.OrderList{Items: make([]orderapi.Order, 0, min(len(recs), n))}
	for i, r := range recs {
		if i == n {
			last := recs[n-1]
			out.NextCursor = kit.Cursor{At: sqldb.Micros(last.CreatedAt), ID: last.ID}.String()
			break
		}
		out.Items = append(out.Items, public(r))
	}
	return out
}
