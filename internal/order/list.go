package order

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
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
	n := s.cfg.PageSize
	if lq.Limit > 0 {
		n = min(lq.Limit, s.cfg.MaxPageSize)
	}
	p := orderdb.ListOrdersParams{TenantID: tenant, Status: string(lq.Status), Email: strings.TrimSpace(lq.Email),
		CreatedFrom: math.MinInt64, CreatedTo: math.MaxInt64, AfterCreated: math.MaxInt64, PageLimit: int32(n + 1)}
	if !lq.CreatedFrom.IsZero() {
		p.CreatedFrom = micros(lq.CreatedFrom)
	}
	if !lq.CreatedTo.IsZero() {
		p.CreatedTo = micros(lq.CreatedTo)
	}
	if lq.Cursor != "" {
		if p.AfterCreated, p.AfterID, err = decodeCursor(lq.Cursor); err != nil {
			return orderapi.OrderList{}, err
		}
	}
	recs, err := s.store.list(ctx, p)
	if err != nil {
		return orderapi.OrderList{}, err
	}
	out := orderapi.OrderList{Items: make([]orderapi.Order, 0, min(len(recs), n))}
	for i, r := range recs {
		if i == n {
			last := recs[n-1]
			out.NextCursor = encodeCursor(micros(last.CreatedAt), last.ID)
			break
		}
		out.Items = append(out.Items, public(r))
	}
	return out, nil
}

func encodeCursor(created int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrInvalidCursor
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", fmt.Errorf("%w: %q", ErrInvalidCursor, c)
	}
	return n, id, nil
}
