package cart

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// StoreReader is what the cart needs of the tenant service
// (tenantapi.Client, or a tenantapi.StoreCache of it): the store in ctx,
// whose settings name the currency of its prices.
type StoreReader interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// ErrStoreUnavailable is returned when the store's currency cannot be read
// now: a cart is not given a currency by guesswork.
var ErrStoreUnavailable = errors.New("cart: store settings unavailable")

// storeCurrency is the currency of the store in ctx, or "" without
// Deps.Stores. It is read before a write transaction, never inside one.
func (s *Service) storeCurrency(ctx context.Context) (string, error) {
	if s.stores == nil {
		return "", nil
	}
	st, err := s.stores.Store(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return st.Currency, nil
}
