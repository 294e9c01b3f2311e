package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Stores is what the catalog needs of the tenant service
// (tenantapi.Client): the store in ctx, whose settings name the currency
// its prices are in.
type Stores interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// ErrStoreUnavailable is returned when the store's currency cannot be read
// now: prices are refused rather than taken unchecked.
var ErrStoreUnavailable = errors.New("catalog: store settings unavailable")

// checkCurrency checks that every variant of p is priced in the store's
// currency. It runs before the write transaction: the call to the tenant
// service must not hold the database's write lock.
func (s *Service) checkCurrency(ctx context.Context, variants []catalogapi.VariantInput) error {
	if s.stores == nil || len(variants) == 0 {
		return nil
	}
	st, err := s.stores.Store(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	var errs []kit.FieldError
	for i, v := range variants {
		if v.Price.Currency != st.Currency {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("variants[%d].price.currency", i),
				Message: fmt.Sprintf("must be the store's currency, %s", st.Currency), Value: v.Price.Currency})
		}
	}
	return kit.Invalid(ErrInvalid, errs...)
}
