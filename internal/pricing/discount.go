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
)

// NormalizeCoupon is the stored form of a coupon code: codes are
// case-insensitive, so they are kept and compared upper-cased.
func NormalizeCoupon(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// normalizeEmail is the per-customer key of an email address.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// newDiscount builds a discount from a create request.
func newDiscount(in pricingapi.DiscountCreate, id string, now time.Time) (pricingapi.Discount, error) {
	d := pricingapi.Discount{
		ID: id, Name: strings.TrimSpace(in.Name), Code: NormalizeCoupon(in.Code), Kind: in.Kind,
		PercentBP: in.PercentBP, Amount: in.Amount, Scope: in.Scope, ProductIDs: in.ProductIDs,
		CategoryIDs: in.CategoryIDs, StartsAt: in.StartsAt, EndsAt: in.EndsAt, UsageLimit: in.UsageLimit,
		UsageLimitPerCustomer: in.UsageLimitPerCustomer, MinSubtotal: in.MinSubtotal, Stackable: in.Stackable,
		Priority: in.Priority, Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now,
	}
	if d.Scope == "" {
		d.Scope = pricingapi.ScopeOrder
	}
	return d, validateDiscount(&d)
}

// patchDiscount applies an update to old; absent fields stay.
func patchDiscount(old pricingapi.Discount, in pricingapi.DiscountUpdate, now time.Time) (pricingapi.Discount, error) {
	d := old
	if in.Name != nil {
		d.Name = strings.TrimSpace(*in.Name)
	}
	if in.PercentBP != nil {
		d.PercentBP = *in.PercentBP
	}
	if in.Amount != nil {
		d.Amount = in.Amount
	}
	if in.ProductIDs != nil {
		d.ProductIDs = in.ProductIDs
	}
	if in.CategoryIDs != nil {
		d.CategoryIDs = in.CategoryIDs
	}
	if in.StartsAt != nil {
		d.StartsAt = in.StartsAt
	}
	if in.EndsAt != nil {
		d.EndsAt = in.EndsAt
	}
	if in.UsageLimit != nil {
		d.UsageLimit = in.UsageLimit
	}
	if in.UsageLimitPerCustomer != nil {
		d.UsageLimitPerCustomer = in.UsageLimitPerCustomer
	}
	if in.MinSubtotal != nil {
		d.MinSubtotal = in.MinSubtotal
	}
	if in.Stackable != nil {
		d.Stackable = *in.Stackable
	}
	if in.Priority != nil {
		d.Priority = *in.Priority
	}
	if in.Active != nil {
		d.Active = *in.Active
	}
	given := map[string]bool{"starts_at": in.StartsAt != nil, "ends_at": in.EndsAt != nil, "usage_limit": in.UsageLimit != nil,
		"usage_limit_per_customer": in.UsageLimitPerCustomer != nil, "min_subtotal": in.MinSubtotal != nil}
	var refused []kit.FieldError
	for i, f := range in.Clear {
		field := fmt.Sprintf("clear[%d]", i)
		switch {
		case !slices.Contains(pricingapi.Clearable, f):
			refused = append(refused, kit.FieldError{Field: field, Message: "not a field that can be cleared: " + strings.Join(pricingapi.Clearable, ", "), Value: f})
		case given[f]:
			refused = append(refused, kit.FieldError{Field: field, Message: f + " is both given and cleared", Value: f})
		}
		switch f {
		case "starts_at":
			d.StartsAt = nil
		case "ends_at":
			d.EndsAt = nil
		case "usage_limit":
			d.UsageLimit = nil
		case "usage_limit_per_customer":
			d.UsageLimitPerCustomer = nil
		case "min_subtotal":
			d.MinSubtotal = nil
		}
	}
	if len(refused) > 0 {
		return d, kit.Invalid(nil, refused...)
	}
	d.UpdatedAt = now
	return d, validateDiscount(&d)
}

// validateDiscount checks a discount's fields fit its kind and scope, and
// normalises its lists.
func validateDiscount(d *pricingapi.Discount) error {
	var errs []kit.FieldError
	add := func(field, msg string, value any) {
		errs = append(errs, kit.FieldError{Field: field, Message: msg, Value: value})
	}
	if err := text.Line(d.Name, 200, true); err != nil {
		add("name", err.Error(), d.Name)
	}
	if d.Code != "" {
		if err := text.Coupon(d.Code); err != nil {
			add("code", err.Error(), d.Code)
		}
	}
	switch d.Kind {
	case pricingapi.KindPercentage:
		if d.PercentBP < 1 || d.PercentBP > 10000 {
			add("percent_bp", "a percentage discount needs percent_bp 1..10000", d.PercentBP)
		}
		if d.Amount != nil {
			add("amount", "only a fixed discount has an amount", d.Amount)
		}
	case pricingapi.KindFixed:
		if d.Amount == nil || d.Amount.Amount <= 0 {
			add("amount", "a fixed discount needs a positive amount", d.Amount)
		} else if money.ValidCurrency(d.Amount.Currency) != nil {
			add("amount.currency", "unknown ISO 4217 currency", d.Amount.Currency)
		}
		if d.PercentBP != 0 {
			add("percent_bp", "only a percentage discount has percent_bp", d.PercentBP)
		}
	case pricingapi.KindFreeShipping:
		if d.Amount != nil || d.PercentBP != 0 {
			add("kind", "a free_shipping discount has neither amount nor percent_bp", d.Kind)
		}
		if d.Scope != pricingapi.ScopeOrder {
			add("scope", "a free_shipping discount applies to the order", d.Scope)
		}
	default:
		add("kind", "must be percentage, fixed or free_shipping", d.Kind)
	}
	d.ProductIDs, d.CategoryIDs = cleanIDs(d.ProductIDs), cleanIDs(d.CategoryIDs)
	switch d.Scope {
	case pricingapi.ScopeOrder:
		if len(d.ProductIDs) > 0 || len(d.CategoryIDs) > 0 {
			add("scope", "an order discount takes no product_ids or category_ids", d.Scope)
		}
	case pricingapi.ScopeProduct:
		if len(d.ProductIDs) == 0 || len(d.CategoryIDs) > 0 {
			add("product_ids", "a product discount needs product_ids (and no category_ids)", d.ProductIDs)
		}
	case pricingapi.ScopeCategory:
		if len(d.CategoryIDs) == 0 || len(d.ProductIDs) > 0 {
			add("category_ids", "a category discount needs category_ids (and no product_ids)", d.CategoryIDs)
		}
	default:
		add("scope", "must be order, product or category", d.Scope)
	}
	if d.StartsAt != nil && d.EndsAt != nil && !d.EndsAt.After(*d.StartsAt) {
		add("ends_at", "must be after starts_at", d.EndsAt)
	}
	if d.MinSubtotal != nil {
		switch {
		case d.MinSubtotal.Amount < 0:
			add("min_subtotal.amount", "must not be negative", d.MinSubtotal.Amount)
		case money.ValidCurrency(d.MinSubtotal.Currency) != nil:
			add("min_subtotal.currency", "unknown ISO 4217 currency", d.MinSubtotal.Currency)
		case d.Amount != nil && d.Amount.Currency != d.MinSubtotal.Currency:
			add("min_subtotal.currency", "must be the currency of amount", d.MinSubtotal.Currency)
		}
	}
	for name, v := range map[string]*int64{"usage_limit": d.UsageLimit, "usage_limit_per_customer": d.UsageLimitPerCustomer} {
		if v != nil && *v < 0 {
			add(name, "must not be negative", *v)
		}
	}
	if d.StartsAt != nil {
		t := d.StartsAt.UTC().Truncate(time.Microsecond)
		d.StartsAt = &t
	}
	if d.EndsAt != nil {
		t := d.EndsAt.UTC().Truncate(time.Microsecond)
		d.EndsAt = &t
	}
	return kit.Invalid(ErrInvalid, errs...)
}

// cleanIDs drops blanks and duplicates, keeping the order.
// knownProducts checks, in a transaction, that every product ID names a
// product of the tenant's catalog, as pricing's projection of it knows
// them: a discount of another store's product, or of none, could never
// apply.
func knownProducts(ctx context.Context, q *pricingdb.Queries, tenant string, ids []string) error {
	var errs []kit.FieldError
	for i, id := range ids {
		_, err := q.ProductVersion(ctx, pricingdb.ProductVersionParams{TenantID: tenant, ProductID: id})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("product_ids[%d]", i), Message: "no product of this store has this ID", Value: id})
		case err != nil:
			return fmt.Errorf("look up product %s: %w", id, err)
		}
	}
	return kit.Invalid(ErrInvalid, errs...)
}

func cleanIDs(ids []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func discountParams(tenant string, d pricingapi.Discount) pricingdb.InsertDiscountParams {
	amount, cur, minSub := discountCurrency(d)
	return pricingdb.InsertDiscountParams{
		TenantID: tenant, ID: d.ID, Name: d.Name, Code: sql.NullString{String: d.Code, Valid: d.Code != ""},
		Kind: d.Kind, PercentBp: d.PercentBP, Amount: amount, Currency: cur, Scope: d.Scope,
		ProductIds: jsonList(d.ProductIDs), CategoryIds: jsonList(d.CategoryIDs), StartsAt: sqldb.NullMicros(d.StartsAt),
		EndsAt: sqldb.NullMicros(d.EndsAt), UsageLimit: nullInt(d.UsageLimit), UsageLimitPerCustomer: nullInt(d.UsageLimitPerCustomer),
		MinSubtotal: minSub, Stackable: d.Stackable, Priority: d.Priority, Active: d.Active,
		CreatedAt: sqldb.Micros(d.CreatedAt), UpdatedAt: sqldb.Micros(d.UpdatedAt),
	}
}

// CreateDiscount creates a discount and announces it.
func (s *Service) CreateDiscount(ctx context.Context, in pricingapi.DiscountCreate) (pricingapi.Discount, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Discount{}, err
	}
	d, err := newDiscount(in, kit.NewID(), s.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return d, err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *pricingdb.Queries) error {
		if err := knownProducts(ctx, q, tenant, d.ProductIDs); err != nil {
			return err
		}
		if d.Code != "" {
			_, err := q.GetDiscountByCode(ctx, pricingdb.GetDiscountByCodeParams{TenantID: tenant, Code: sql.NullString{String: d.Code, Valid: true}})
			if err == nil {
				return invalidTaken("code", d.Code)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look up coupon %s: %w", d.Code, err)
			}
		}
		if err := q.InsertDiscount(ctx, discountParams(tenant, d)); err != nil {
			return err
		}
		return addEvent(ctx, tx, pricingapi.SubjectDiscountChanged, d.UpdatedAt, pricingapi.DiscountChanged{Change: pricingapi.ChangeCreated, Discount: d})
	})
	if err != nil {
		return pricingapi.Discount{}, fmt.Errorf("create discount: %w", err)
	}
	return d, nil
}

// invalidTaken refuses a value another item of the store already has.
func invalidTaken(field string, value any) error {
	return kit.Invalid(ErrTaken, kit.FieldError{Field: field, Message: "already in use", Value: value})
}

// UpdateDiscount applies a partial update and announces it.
func (s *Service) UpdateDiscount(ctx context.Context, id string, in pricingapi.DiscountUpdate) (pricingapi.Discount, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Discount{}, err
	}
	var d pricingapi.Discount
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *pricingdb.Queries) error {
		row, err := q.GetDiscount(ctx, pricingdb.GetDiscountParams{TenantID: tenant, ID: id})
		if err := notFound(err, "discount "+id); err != nil {
			return err
		}
		old, err := toDiscount(row)
		if err != nil {
			return err
		}
		if d, err = patchDiscount(old, in, s.now().UTC().Truncate(time.Microsecond)); err != nil {
			return err
		}
		if in.ProductIDs != nil {
			if err := knownProducts(ctx, q, tenant, d.ProductIDs); err != nil {
				return err
			}
		}
		p := discountParams(tenant, d)
		if _, err := q.UpdateDiscount(ctx, pricingdb.UpdateDiscountParams{
			Name: p.Name, PercentBp: p.PercentBp, Amount: p.Amount, Currency: p.Currency, ProductIds: p.ProductIds,
			CategoryIds: p.CategoryIds, StartsAt: p.StartsAt, EndsAt: p.EndsAt, UsageLimit: p.UsageLimit,
			UsageLimitPerCustomer: p.UsageLimitPerCustomer, MinSubtotal: p.MinSubtotal, Stackable: p.Stackable,
			Priority: p.Priority, Active: p.Active, UpdatedAt: p.UpdatedAt, TenantID: tenant, ID: id,
		}); err != nil {
			return err
		}
		return addEvent(ctx, tx, pricingapi.SubjectDiscountChanged, d.UpdatedAt, pricingapi.DiscountChanged{Change: pricingapi.ChangeUpdated, Discount: d})
	})
	if err != nil {
		return pricingapi.Discount{}, fmt.Errorf("update discount %s: %w", id, err)
	}
	return d, nil
}

// DeleteDiscount deletes a discount and announces it. Its redemptions stay
// (releasing one later is a no-op on the counters).
func (s *Service) DeleteDiscount(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *pricingdb.Queries) error {
		row, err := q.GetDiscount(ctx, pricingdb.GetDiscountParams{TenantID: tenant, ID: id})
		if err := notFound(err, "discount "+id); err != nil {
			return err
		}
		d, err := toDiscount(row)
		if err != nil {
			return err
		}
		if _, err := q.DeleteDiscount(ctx, pricingdb.DeleteDiscountParams{TenantID: tenant, ID: id}); err != nil {
			return err
		}
		if err := q.DeleteCustomerUses(ctx, pricingdb.DeleteCustomerUsesParams{TenantID: tenant, DiscountID: id}); err != nil {
			return err
		}
		return addEvent(ctx, tx, pricingapi.SubjectDiscountChanged, s.now(), pricingapi.DiscountChanged{Change: pricingapi.ChangeDeleted, Discount: d})
	})
	if err != nil {
		return fmt.Errorf("delete discount %s: %w", id, err)
	}
	return nil
}

// Discount returns one discount.
func (s *Service) Discount(ctx context.Context, id string) (pricingapi.Discount, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Discount{}, err
	}
	row, err := kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) (pricingdb.Discount, error) {
		return q.GetDiscount(ctx, pricingdb.GetDiscountParams{TenantID: tenant, ID: id})
	})
	if err := notFound(err, "discount "+id); err != nil {
		return pricingapi.Discount{}, err
	}
	return toDiscount(row)
}

// Discounts lists the tenant's discounts by priority.
func (s *Service) Discounts(ctx context.Context) ([]pricingapi.Discount, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	return toDiscounts(kit.ReadOne(ctx, s.store, func(q *pricingdb.Queries) ([]pricingdb.Discount, error) {
		return q.ListDiscounts(ctx, tenant)
	}))
}

// Redeem takes one use of the coupon for the order. It is idempotent on the
// order ID: a repeat returns the active redemption; after a release, it
// takes a use again. Both limits are conditional updates in one transaction:
// the total (used < usage_limit) and the customer's (by lowercased email).
func (s *Service) Redeem(ctx context.Context, r pricingapi.RedeemRequest) (pricingapi.Redemption, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Redemption{}, err
	}
	code, email, orderID := NormalizeCoupon(r.Coupon), normalizeEmail(r.Email), strings.TrimSpace(r.OrderID)
	if orderID == "" {
		return pricingapi.Redemption{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "order_id", Message: "must not be blank", Value: r.OrderID})
	}
	var out pricingapi.Redemption
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		now := s.now()
		prior, err := q.GetRedemption(ctx, pricingdb.GetRedemptionParams{TenantID: tenant, OrderID: orderID})
		switch {
		case err == nil && prior.Coupon != code:
			return refused(ErrOrderRedeemed, "order_id", orderID,
				fmt.Sprintf("order %s redeemed coupon %s", orderID, prior.Coupon))
		case err == nil && prior.Status == pricingapi.RedemptionActive:
			out = toRedemption(prior)
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("load redemption: %w", err)
		case err == nil:
			// Released before: take it up again under the customer it was
			// counted for, so a later release gives back the same count.
			email = prior.Email
		}
		row, err := q.GetDiscountByCode(ctx, pricingdb.GetDiscountByCodeParams{TenantID: tenant, Code: sql.NullString{String: code, Valid: true}})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !row.Active) {
			return refused(ErrUnknownCoupon, "coupon", code, couponDetail(ErrUnknownCoupon, code))
		}
		if err != nil {
			return fmt.Errorf("load coupon %s: %w", code, err)
		}
		if (row.StartsAt.Valid && now.UnixMicro() < row.StartsAt.Int64) || (row.EndsAt.Valid && now.UnixMicro() >= row.EndsAt.Int64) {
			return refused(ErrCouponExpired, "coupon", code, couponDetail(ErrCouponExpired, code))
		}
		if row.UsageLimitPerCustomer.Valid && email == "" {
			return refused(ErrEmailRequired, "email", "",
				fmt.Sprintf("coupon %s is limited per customer: the email is required", code))
		}
		exhausted := refused(ErrCouponExhausted, "coupon", code, couponDetail(ErrCouponExhausted, code))
		n, err := q.TakeUse(ctx, pricingdb.TakeUseParams{TenantID: tenant, ID: row.ID})
		if err != nil {
			return fmt.Errorf("take a use of %s: %w", code, err)
		}
		if n == 0 {
			return exhausted
		}
		if email != "" {
			cu := pricingdb.EnsureCustomerUsesParams{TenantID: tenant, DiscountID: row.ID, Email: email}
			if err := q.EnsureCustomerUses(ctx, cu); err != nil {
				return fmt.Errorf("count uses of %s: %w", code, err)
			}
			n, err := q.TakeCustomerUse(ctx, pricingdb.TakeCustomerUseParams{TenantID: tenant, DiscountID: row.ID, Email: email, PerCustomerLimit: row.UsageLimitPerCustomer})
			if err != nil {
				return fmt.Errorf("take a customer use of %s: %w", code, err)
			}
			if n == 0 {
				return exhausted // the rollback gives the total use back
			}
		}
		if prior.OrderID != "" { // released before: take it up again
			_, err = q.SetRedemptionStatus(ctx, pricingdb.SetRedemptionStatusParams{Status: pricingapi.RedemptionActive,
				UpdatedAt: now.UnixMicro(), TenantID: tenant, OrderID: orderID, OldStatus: pricingapi.RedemptionReleased})
		} else {
			err = q.InsertRedemption(ctx, pricingdb.InsertRedemptionParams{TenantID: tenant, OrderID: orderID,
				DiscountID: row.ID, Coupon: code, Email: email, CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro()})
		}
		if err != nil {
			return err
		}
		out = pricingapi.Redemption{OrderID: orderID, DiscountID: row.ID, Coupon: code, Email: email, Status: pricingapi.RedemptionActive}
		return nil
	})
	if err != nil {
		return pricingapi.Redemption{}, fmt.Errorf("redeem %s for order %s: %w", code, orderID, err)
	}
	return out, nil
}

// ReleaseRedemption gives the order's coupon use back. Releasing twice, or
// an order that redeemed nothing, is no error; found reports whether the
// order had a redemption.
func (s *Service) ReleaseRedemption(ctx context.Context, orderID string) (found bool, err error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return false, err
	}
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *pricingdb.Queries) error {
		r, err := q.GetRedemption(ctx, pricingdb.GetRedemptionParams{TenantID: tenant, OrderID: orderID})
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("load redemption: %w", err)
		}
		found = true
		n, err := q.SetRedemptionStatus(ctx, pricingdb.SetRedemptionStatusParams{Status: pricingapi.RedemptionReleased,
			UpdatedAt: s.now().UnixMicro(), TenantID: tenant, OrderID: orderID, OldStatus: pricingapi.RedemptionActive})
		if err != nil || n == 0 { // released already
			return err
		}
		if err := q.GiveUse(ctx, pricingdb.GiveUseParams{TenantID: tenant, ID: r.DiscountID}); err != nil {
			return err
		}
		if r.Email != "" {
			return q.GiveCustomerUse(ctx, pricingdb.GiveCustomerUseParams{TenantID: tenant, DiscountID: r.DiscountID, Email: r.Email})
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("release redemption of order %s: %w", orderID, err)
	}
	return found, nil
}
