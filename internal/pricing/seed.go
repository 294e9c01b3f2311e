package pricing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// SeedDemo fills the context's tenant with the demo store's pricing:
// Germany by default; VAT rates of a few countries (with the
// Canary Islands as a region example); standard and express shipping; the
// coupons WELCOME10, SAVE5 and the expired SUMMER24. It is idempotent: what
// exists (by country and region, or by code) is left alone. It returns how
// many items it created.
func (s *Service) SeedDemo(ctx context.Context) (int, error) {
	n := 0
	// EUR and tax-inclusive prices are the store's settings, a new store's
	// defaults (the tenant service's).
	if _, err := s.PutSettings(ctx, pricingapi.SettingsUpdate{DefaultShippingMethod: "standard", DefaultCountry: "DE"}); err != nil {
		return n, fmt.Errorf("seed settings: %w", err)
	}
	rates := []pricingapi.TaxRateInput{
		{Country: "DE", RateBP: 1900, Name: "MwSt"},
		{Country: "FR", RateBP: 2000, Name: "TVA"},
		{Country: "NL", RateBP: 2100, Name: "BTW"},
		{Country: "AT", RateBP: 2000, Name: "USt"},
		{Country: "US", RateBP: 0, Name: "No sales tax collected"},
		{Country: "ES", RateBP: 2100, Name: "IVA"},
		{Country: "ES", Region: "CN", RateBP: 700, Name: "IGIC (Canary Islands)"},
	}
	for _, r := range rates {
		if _, err := s.SaveTaxRate(ctx, "", r); err == nil {
			n++
		} else if !errors.Is(err, ErrTaken) {
			return n, fmt.Errorf("seed tax rate %s/%s: %w", r.Country, r.Region, err)
		}
	}
	eur := func(cents int64) *money.Money { return &money.Money{Amount: cents, Currency: "EUR"} }
	methods := []pricingapi.ShippingMethodInput{
		{Code: "standard", Name: "Standard (2–4 days)", Price: *eur(490), FreeOver: eur(5000)},
		{Code: "express", Name: "Express (next day)", Price: *eur(990)},
	}
	for _, m := range methods {
		_, err := s.SaveShippingMethod(ctx, "", m)
		if errors.Is(err, ErrTaken) {
			// The store's own default method (made when it was created)
			// is replaced by the demo's, unless someone changed it.
			err = s.replaceUntouchedDefault(ctx, m)
		}
		if err == nil {
			n++
		} else if !errors.Is(err, ErrTaken) {
			return n, fmt.Errorf("seed shipping method %s: %w", m.Code, err)
		}
	}
	one := int64(1)
	summerStart := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	summerEnd := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	coupons := []pricingapi.DiscountCreate{
		{Name: "Welcome: 10% off your first order", Code: "WELCOME10", Kind: pricingapi.KindPercentage, PercentBP: 1000, UsageLimitPerCustomer: &one},
		{Name: "€5 off from €30", Code: "SAVE5", Kind: pricingapi.KindFixed, Amount: eur(500), MinSubtotal: eur(3000)},
		{Name: "Summer 2024: 15% off", Code: "SUMMER24", Kind: pricingapi.KindPercentage, PercentBP: 1500, StartsAt: &summerStart, EndsAt: &summerEnd},
	}
	for _, c := range coupons {
		if _, err := s.CreateDiscount(ctx, c); err == nil {
			n++
		} else if !errors.Is(err, ErrTaken) {
			return n, fmt.Errorf("seed coupon %s: %w", c.Code, err)
		}
	}
	return n, nil
}
