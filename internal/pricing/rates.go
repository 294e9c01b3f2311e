package pricing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// validCountry reports whether c is an uppercase ISO 3166-1 alpha-2 code of
// a country, by the platform's one rule (text.Country).
func validCountry(c string) bool { return text.Country(c) == nil }

// Settings returns the tenant's pricing settings: the store's currency and
// tax mode as the tenant service last announced them (a new store's
// defaults before its first event), and pricing's own defaults.
func (s *Service) Settings(ctx context.Context) (pricingapi.Settings, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Settings{}, err
	}
	return kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) (pricingapi.Settings, error) {
		return s.settings(ctx, q, tenant)
	})
}

func (s *Service) settings(ctx context.Context, q *pricingdb.Queries, tenant string) (pricingapi.Settings, error) {
	set := pricingapi.Settings{Currency: tenantapi.DefaultCurrency, TaxInclusive: tenantapi.DefaultTaxInclusive, DefaultCountry: s.cfg.DefaultCountry}
	st, err := q.GetStoreSettings(ctx, tenant)
	switch {
	case err == nil:
		set.Currency, set.TaxInclusive = st.Currency, st.TaxInclusive
	case !errors.Is(err, sql.ErrNoRows):
		return pricingapi.Settings{}, fmt.Errorf("load store settings: %w", err)
	}
	r, err := q.GetSettings(ctx, tenant)
	switch {
	case err == nil:
		set.DefaultShippingMethod, set.DefaultCountry = r.DefaultShippingMethod, r.DefaultCountry
	case !errors.Is(err, sql.ErrNoRows):
		return pricingapi.Settings{}, fmt.Errorf("load settings: %w", err)
	}
	return set, nil
}

// PutSettings replaces the pricing settings pricing owns (the default
// shipping method and country) and returns all of them.
func (s *Service) PutSettings(ctx context.Context, in pricingapi.SettingsUpdate) (pricingapi.Settings, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Settings{}, err
	}
	if !validCountry(in.DefaultCountry) {
		return pricingapi.Settings{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "default_country", Message: "not an ISO 3166 alpha-2 country", Value: in.DefaultCountry})
	}
	var out pricingapi.Settings
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		if err := q.PutSettings(ctx, pricingdb.PutSettingsParams{TenantID: tenant, DefaultShippingMethod: in.DefaultShippingMethod,
			DefaultCountry: in.DefaultCountry, UpdatedAt: s.now().UnixMicro()}); err != nil {
			return err
		}
		out, err = s.settings(ctx, q, tenant)
		return err
	})
	if err != nil {
		return pricingapi.Settings{}, fmt.Errorf("put settings: %w", err)
	}
	return out, nil
}

// checkTaxRate validates a tax rate input.
func checkTaxRate(in *pricingapi.TaxRateInput) error {
	in.Region = strings.ToUpper(strings.TrimSpace(in.Region))
	in.Name = strings.TrimSpace(in.Name)
	var errs []kit.FieldError
	if !validCountry(in.Country) {
		errs = append(errs, kit.FieldError{Field: "country", Message: "not an ISO 3166 alpha-2 country", Value: in.Country})
	}
	if in.RateBP < 0 || in.RateBP > 10000 {
		errs = append(errs, kit.FieldError{Field: "rate_bp", Message: "must be 0 to 10000", Value: in.RateBP})
	}
	if err := text.Line(in.Name, 100, true); err != nil {
		errs = append(errs, kit.FieldError{Field: "name", Message: err.Error(), Value: in.Name})
	}
	return kit.Invalid(ErrInvalid, errs...)
}

// TaxRates lists the tenant's tax rates by country and region.
func (s *Service) TaxRates(ctx context.Context) ([]pricingapi.TaxRate, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) ([]pricingdb.TaxRate, error) {
		return q.ListTaxRates(ctx, tenant)
	})
	if err != nil {
		return nil, fmt.Errorf("list tax rates: %w", err)
	}
	out := make([]pricingapi.TaxRate, len(rs))
	for i, r := range rs {
		out[i] = toTaxRate(r)
	}
	return out, nil
}

// TaxRate returns one tax rate.
func (s *Service) TaxRate(ctx context.Context, id string) (pricingapi.TaxRate, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.TaxRate{}, err
	}
	r, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) (pricingdb.TaxRate, error) {
		return q.GetTaxRate(ctx, pricingdb.GetTaxRateParams{TenantID: tenant, ID: id})
	})
	if err := notFound(err, "tax rate "+id); err != nil {
		return pricingapi.TaxRate{}, err
	}
	return toTaxRate(r), nil
}

// SaveTaxRate creates (id "") or replaces a tax rate. One rate per country
// and region: another one for the same place is taken.
func (s *Service) SaveTaxRate(ctx context.Context, id string, in pricingapi.TaxRateInput) (pricingapi.TaxRate, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.TaxRate{}, err
	}
	if err := checkTaxRate(&in); err != nil {
		return pricingapi.TaxRate{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out pricingapi.TaxRate
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		rates, err := q.CountryTaxRates(ctx, pricingdb.CountryTaxRatesParams{TenantID: tenant, Country: in.Country})
		if err != nil {
			return fmt.Errorf("load tax rates of %s: %w", in.Country, err)
		}
		if slices.ContainsFunc(rates, func(r pricingdb.TaxRate) bool { return r.Region == in.Region && r.ID != id }) {
			return invalidTaken("region", in.Country+"/"+in.Region)
		}
		if id == "" {
			out = pricingapi.TaxRate{ID: kit.NewID(), Country: in.Country, Region: in.Region, RateBP: in.RateBP, Name: in.Name, CreatedAt: now, UpdatedAt: now}
			return q.InsertTaxRate(ctx, pricingdb.InsertTaxRateParams{TenantID: tenant, ID: out.ID, Country: in.Country,
				Region: in.Region, RateBp: in.RateBP, Name: in.Name, CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)})
		}
		old, err := q.GetTaxRate(ctx, pricingdb.GetTaxRateParams{TenantID: tenant, ID: id})
		if err := notFound(err, "tax rate "+id); err != nil {
			return err
		}
		out = pricingapi.TaxRate{ID: id, Country: in.Country, Region: in.Region, RateBP: in.RateBP, Name: in.Name, CreatedAt: sqldb.FromMicros(old.CreatedAt), UpdatedAt: now}
		_, err = q.UpdateTaxRate(ctx, pricingdb.UpdateTaxRateParams{Country: in.Country, Region: in.Region, RateBp: in.RateBP,
			Name: in.Name, UpdatedAt: sqldb.Micros(now), TenantID: tenant, ID: id})
		return err
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return pricingapi.TaxRate{}, invalidTaken("region", in.Country+"/"+in.Region)
		}
		return pricingapi.TaxRate{}, fmt.Errorf("save tax rate: %w", err)
	}
	return out, nil
}

// DeleteTaxRate deletes a tax rate.
func (s *Service) DeleteTaxRate(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		n, err := q.DeleteTaxRate(ctx, pricingdb.DeleteTaxRateParams{TenantID: tenant, ID: id})
		if err == nil && n == 0 {
			err = fmt.Errorf("tax rate %s: %w", id, ErrNotFound)
		}
		return err
	})
}

// checkShippingMethod validates a shipping method input.
func checkShippingMethod(in *pricingapi.ShippingMethodInput) error {
	in.Name = strings.TrimSpace(in.Name)
	var errs []kit.FieldError
	if err := text.Line(in.Name, 100, true); err != nil {
		errs = append(errs, kit.FieldError{Field: "name", Message: err.Error(), Value: in.Name})
	}
	if in.Price.Amount < 0 {
		errs = append(errs, kit.FieldError{Field: "price.amount", Message: "must not be negative", Value: in.Price.Amount})
	}
	if money.ValidCurrency(in.Price.Currency) != nil {
		errs = append(errs, kit.FieldError{Field: "price.currency", Message: "unknown ISO 4217 currency", Value: in.Price.Currency})
	}
	if in.FreeOver != nil && (in.FreeOver.Currency != in.Price.Currency || in.FreeOver.Amount < 0) {
		errs = append(errs, kit.FieldError{Field: "free_over", Message: "must be a non-negative amount in the price's currency", Value: in.FreeOver})
	}
	cs := []string{}
	for i, c := range in.Countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !validCountry(c) {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("countries[%d]", i), Message: "not an ISO 3166 alpha-2 country", Value: in.Countries[i]})
		} else if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	in.Countries = cs
	return kit.Invalid(ErrInvalid, errs...)
}

// ShippingMethods lists the tenant's shipping methods, cheapest first: all
// of them (admin), or only the active ones serving country ("" for any).
func (s *Service) ShippingMethods(ctx context.Context, activeOnly bool, country string) ([]pricingapi.ShippingMethod, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	if country != "" && !validCountry(country) {
		return nil, refused(ErrInvalidCountry, "query.country", country, fmt.Sprintf("%q is not an ISO 3166 alpha-2 country", country))
	}
	rs, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) ([]pricingdb.ShippingMethod, error) {
		return q.ListShippingMethods(ctx, tenant)
	})
	if err != nil {
		return nil, fmt.Errorf("list shipping methods: %w", err)
	}
	out := []pricingapi.ShippingMethod{}
	for _, r := range rs {
		m, err := toShippingMethod(r)
		if err != nil {
			return nil, err
		}
		if activeOnly && (!m.Active || (country != "" && len(m.Countries) > 0 && !slices.Contains(m.Countries, country))) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// ShippingMethod returns one shipping method.
func (s *Service) ShippingMethod(ctx context.Context, id string) (pricingapi.ShippingMethod, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.ShippingMethod{}, err
	}
	r, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) (pricingdb.ShippingMethod, error) {
		return q.GetShippingMethod(ctx, pricingdb.GetShippingMethodParams{TenantID: tenant, ID: id})
	})
	if err := notFound(err, "shipping method "+id); err != nil {
		return pricingapi.ShippingMethod{}, err
	}
	return toShippingMethod(r)
}

// SaveShippingMethod creates (id "") or replaces a shipping method.
func (s *Service) SaveShippingMethod(ctx context.Context, id string, in pricingapi.ShippingMethodInput) (pricingapi.ShippingMethod, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.ShippingMethod{}, err
	}
	if err := checkShippingMethod(&in); err != nil {
		return pricingapi.ShippingMethod{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	out := pricingapi.ShippingMethod{ID: id, Code: in.Code, Name: in.Name, Price: in.Price, FreeOver: in.FreeOver,
		Countries: in.Countries, Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now}
	var freeOver sql.NullInt64
	if in.FreeOver != nil {
		freeOver = sql.NullInt64{Int64: in.FreeOver.Amount, Valid: true}
	}
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		other, err := q.GetShippingMethodByCode(ctx, pricingdb.GetShippingMethodByCodeParams{TenantID: tenant, Code: in.Code})
		if err == nil && other.ID != id {
			return invalidTaken("code", in.Code)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up shipping method %s: %w", in.Code, err)
		}
		if id == "" {
			out.ID = kit.NewID()
			return q.InsertShippingMethod(ctx, pricingdb.InsertShippingMethodParams{TenantID: tenant, ID: out.ID, Code: in.Code,
				Name: in.Name, Price: in.Price.Amount, Currency: in.Price.Currency, FreeOver: freeOver,
				Countries: jsonList(in.Countries), Active: out.Active, CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)})
		}
		old, err := q.GetShippingMethod(ctx, pricingdb.GetShippingMethodParams{TenantID: tenant, ID: id})
		if err := notFound(err, "shipping method "+id); err != nil {
			return err
		}
		out.CreatedAt = sqldb.FromMicros(old.CreatedAt)
		_, err = q.UpdateShippingMethod(ctx, pricingdb.UpdateShippingMethodParams{Code: in.Code, Name: in.Name,
			Price: in.Price.Amount, Currency: in.Price.Currency, FreeOver: freeOver, Countries: jsonList(in.Countries),
			Active: out.Active, UpdatedAt: sqldb.Micros(now), TenantID: tenant, ID: id})
		return err
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return pricingapi.ShippingMethod{}, invalidTaken("code", in.Code)
		}
		return pricingapi.ShippingMethod{}, fmt.Errorf("save shipping method: %w", err)
	}
	return out, nil
}

// DeleteShippingMethod deletes a shipping method.
func (s *Service) DeleteShippingMethod(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		n, err := q.DeleteShippingMethod(ctx, pricingdb.DeleteShippingMethodParams{TenantID: tenant, ID: id})
		if err == nil && n == 0 {
			err = fmt.Errorf("shipping method %s: %w", id, ErrNotFound)
		}
		return err
	})
}
