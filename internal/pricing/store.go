package pricing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into pricingdb
// (`go tool sqlc generate -f internal/pricing/sqlc.yaml`). The queries use
// sqlc.arg() so they also parse with sqlc's sqlite engine (`sqlc vet`).
// The service runs them through a kit.Store (see New); this file writes
// its events to the outbox and converts between rows and the API's types.

// addEvent writes one pricing event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, pricingapi.Source, subject, at, data)
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always encodes
	return string(b)
}

func parseList(s string) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode stored list: %w", err)
	}
	return l, nil
}

// toDiscount converts a stored row.
func toDiscount(r pricingdb.Discount) (pricingapi.Discount, error) {
	d := pricingapi.Discount{
		ID: r.ID, Name: r.Name, Code: r.Code.String, Kind: r.Kind, PercentBP: r.PercentBp, Scope: r.Scope,
		StartsAt: sqldb.FromNullMicros(r.StartsAt), EndsAt: sqldb.FromNullMicros(r.EndsAt), UsageLimit: intPtr(r.UsageLimit),
		UsageLimitPerCustomer: intPtr(r.UsageLimitPerCustomer), Used: r.Used, Stackable: r.Stackable,
		Priority: r.Priority, Active: r.Active, CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
	}
	if r.Kind == pricingapi.KindFixed {
		d.Amount = &money.Money{Amount: r.Amount, Currency: r.Currency}
	}
	if r.MinSubtotal.Valid {
		d.MinSubtotal = &money.Money{Amount: r.MinSubtotal.Int64, Currency: r.Currency}
	}
	var err error
	if d.ProductIDs, err = parseList(r.ProductIds); err != nil {
		return d, err
	}
	if d.CategoryIDs, err = parseList(r.CategoryIds); err != nil {
		return d, err
	}
	return d, nil
}

func toDiscounts(rs []pricingdb.Discount, err error) ([]pricingapi.Discount, error) {
	if err != nil {
		return nil, fmt.Errorf("list discounts: %w", err)
	}
	out := make([]pricingapi.Discount, 0, len(rs))
	for _, r := range rs {
		d, err := toDiscount(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// discountParams returns the stored form of d's mutable fields.
func discountCurrency(d pricingapi.Discount) (amount int64, currency string, minSub sql.NullInt64) {
	if d.Amount != nil {
		amount, currency = d.Amount.Amount, d.Amount.Currency
	}
	if d.MinSubtotal != nil {
		minSub = sql.NullInt64{Int64: d.MinSubtotal.Amount, Valid: true}
		currency = d.MinSubtotal.Currency
	}
	return amount, currency, minSub
}

func toTaxRate(r pricingdb.TaxRate) pricingapi.TaxRate {
	return pricingapi.TaxRate{ID: r.ID, Country: r.Country, Region: r.Region, RateBP: r.RateBp, Name: r.Name,
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
}

func toShippingMethod(r pricingdb.ShippingMethod) (pricingapi.ShippingMethod, error) {
	m := pricingapi.ShippingMethod{ID: r.ID, Code: r.Code, Name: r.Name, Price: money.Money{Amount: r.Price, Currency: r.Currency},
		Active: r.Active, CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
	if r.FreeOver.Valid {
		m.FreeOver = &money.Money{Amount: r.FreeOver.Int64, Currency: r.Currency}
	}
	var err error
	m.Countries, err = parseList(r.Countries)
	return m, err
}

func toRedemption(r pricingdb.Redemption) pricingapi.Redemption {
	return pricingapi.Redemption{OrderID: r.OrderID, DiscountID: r.DiscountID, Coupon: r.Coupon, Email: r.Email, Status: r.Status}
}

// notFound turns sql.ErrNoRows into ErrNotFound, naming what was looked up.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", what, err)
	}
	return nil
}
