package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Availability tells a shopper, for each SKU, whether it can be bought and
// how many are left when few are (see availability). It answers in the
// order asked, once per SKU (none for none); a SKU never stocked is sold
// out. Anyone may ask: it shows no levels, locations or reservations.
func (s *Service) Availability(ctx context.Context, skus []string) (inventoryapi.AvailabilityList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return inventoryapi.AvailabilityList{}, err
	}
	var errs []kit.FieldError
	if len(skus) > inventoryapi.MaxAvailabilitySKUs {
		errs = append(errs, kit.FieldError{Field: "query.sku", Message: fmt.Sprintf("at most %d SKUs", inventoryapi.MaxAvailabilitySKUs), Value: len(skus)})
	}
	var uniq []string
	seen := map[string]bool{}
	for i, sku := range skus {
		if msg := validSKU(sku); msg != "" {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("query.sku[%d]", i), Message: msg, Value: sku})
		}
		if !seen[sku] {
			seen[sku] = true
			uniq = append(uniq, sku)
		}
	}
	if err := kit.Invalid(ErrInvalid, errs...); err != nil {
		return inventoryapi.AvailabilityList{}, err
	}
	var out inventoryapi.AvailabilityList
	err = s.store.Read(ctx, func(q *inventorydb.Queries) error {
		out = inventoryapi.AvailabilityList{Items: make([]inventoryapi.Availability, 0, len(uniq))}
		for _, sku := range uniq {
			lvl, err := s.stockLevel(ctx, q, tenant, sku)
			if errors.Is(err, ErrStockNotFound) {
				out.Items = append(out.Items, inventoryapi.Availability{SKU: sku, Status: inventoryapi.AvailabilitySoldOut})
				continue
			}
			if err != nil {
				return err
			}
			out.Items = append(out.Items, availability(lvl))
		}
		return nil
	})
	if err != nil {
		return inventoryapi.AvailabilityList{}, fmt.Errorf("read availability: %w", err)
	}
	return out, nil
}

// availability is what a shopper may know of a stock level. What one order
// line can get is the most any single location has (a reservation serves
// a line from one location), so that is what counts, not the sum. The
// count is told only when few are left: at or below the SKU's low-stock
// threshold, or at or below inventoryapi.FewLeft.
func availability(l inventoryapi.StockLevel) inventoryapi.Availability {
	var most int64
	for _, loc := range l.Locations {
		most = max(most, loc.Available)
	}
	a := inventoryapi.Availability{SKU: l.SKU, Status: inventoryapi.AvailabilityInStock}
	switch {
	case most <= 0:
		a.Status = inventoryapi.AvailabilitySoldOut
	case most <= l.LowStockThreshold || most <= inventoryapi.FewLeft:
		a.Status, a.Available = inventoryapi.AvailabilityFewLeft, &most
	}
	return a
}
