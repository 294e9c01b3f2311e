package cart

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Stores is what the cart needs of the tenant service (tenantapi.Client):
// the store in ctx, whose settings name the currency of its prices.
type Stores interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// Option changes how New builds the service.
type Option func(*Service)

// WithStores makes every cart's currency the store's: a new cart takes it,
// an empty one keeps it, and an SKU priced in another currency is refused
// (currency_mismatch) however the cart began. Without it (tests, a cart
// service deployed alone) a cart takes the currency of its first line.
func WithStores(st Stores) Option {
	return func(s *Service) { s.stores = st }
}

// ErrStoreUnavailable is returned when the store's currency cannot be read
// now: a cart is not given a currency by guesswork.
var ErrStoreUnavailable = errors.New("cart: store settings unavailable")

// storeCurrency is the currency of the store in ctx, or "" without a
// Stores client. It is read before a write transaction, never inside one.
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
