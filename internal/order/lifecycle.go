package order

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// writeAttempts bounds how often an admin operation re-reads an order that
// changed under it before giving up with ErrConflict.
const writeAttempts = 5

// load reads an order of the tenant in ctx.
func (s *Service) load(ctx context.Context, id string) (record, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return record{}, err
	}
	return s.store.get(ctx, tenant, id)
}

// retry runs fn on a fresh read of the order until its write does not
// race another writer.
func (s *Service) retry(ctx context.Context, id string, fn func(rec record) (record, error)) (orderapi.Order, error) {
	for range writeAttempts {
		rec, err := s.load(ctx, id)
		if err != nil {
			return orderapi.Order{}, err
		}
		rec, err = fn(rec)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return orderapi.Order{}, err
		}
		return public(rec), nil
	}
	return orderapi.Order{}, ErrConflict
}

// Order returns an order of the tenant in ctx (admin).
func (s *Service) Order(ctx context.Context, id string) (orderapi.Order, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return orderapi.Order{}, err
	}
	return public(rec), nil
}

// GuestOrder returns an order to whoever holds its token, or to the
// customer it belongs to (signed in: a customer principal in ctx). Anyone
// else gets ErrNotFound, as for an order that does not exist.
func (s *Service) GuestOrder(ctx context.Context, id, token string) (orderapi.Order, error) {
	rec, err := s.owned(ctx, id, token)
	if err != nil {
		return orderapi.Order{}, err
	}
	return public(rec), nil
}

// owned loads an order for its token's holder or its customer; for anyone
// else it is ErrNotFound.
func (s *Service) owned(ctx context.Context, id, token string) (record, error) {
	customer := customerOf(ctx)
	if token == "" && customer == "" {
		return record{}, ErrNotFound
	}
	rec, err := s.load(ctx, id)
	if err != nil {
		return record{}, err
	}
	byToken := token != "" && subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(rec.tokenHash)) == 1
	if !byToken && (customer == "" || rec.CustomerID != customer) {
		return record{}, ErrNotFound
	}
	return rec, nil
}

// customerOf returns the ID of the signed-in customer making the request in
// ctx, or "" for anyone else (a guest, staff, an API key, a service).
func customerOf(ctx context.Context) string {
	if p, ok := auth.From(ctx); ok && p.Kind == auth.KindCustomer {
		return p.Subject
	}
	return ""
}
