package cart

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// AddItem adds an SKU to a cart: a new line, or more of the line that
// already holds the SKU.
func (s *Service) AddItem(ctx context.Context, id string, in cartapi.Item) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkSKU("sku", in.SKU); err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuantity("quantity", in.Quantity); err != nil {
		return cartapi.Cart{}, err
	}
	cur, err := s.storeCurrency(ctx)
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("add %s to cart: %w", in.SKU, err)
	}
	// The answer is built from what the transaction read and wrote: the
	// cart row as the lock stamped it, and its lines with the change.
	var (
		c     cartdb.Cart
		lines []cartdb.ListLinesRow
	)
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *cartdb.Queries) error {
		now := s.now()
		var err error
		c, err = lockCart(ctx, q, tenant, id, now)
		if err != nil {
			return err
		}
		row, err := sku(ctx, q, tenant, "sku", in.SKU)
		if err != nil {
			return err
		}
		lines, err = q.ListLines(ctx, cartdb.ListLinesParams{TenantID: tenant, CartID: id})
		if err != nil {
			return fmt.Errorf("load cart lines: %w", err)
		}
		for i, l := range lines {
			if l.Sku != in.SKU {
				continue
			}
			if l.Quantity+in.Quantity > cartapi.MaxQuantity {
				return kit.Invalid(ErrInvalidQuantity, kit.FieldError{Field: "quantity",
					Message: fmt.Sprintf("the line already has %d; a line holds at most %d", l.Quantity, cartapi.MaxQuantity), Value: in.Quantity})
			}
			lines[i].Quantity += in.Quantity
			_, err := q.SetLineQuantity(ctx, cartdb.SetLineQuantityParams{TenantID: tenant, CartID: id, ID: l.ID,
				Quantity: lines[i].Quantity, UpdatedAt: now.UnixMicro()})
			return err
		}
		if len(lines) >= cartapi.MaxLines {
			return kit.Invalid(ErrTooManyLines, kit.FieldError{Field: "sku",
				Message: fmt.Sprintf("a cart holds at most %d lines", cartapi.MaxLines), Value: in.SKU})
		}
		// The cart's currency; for a cart without one yet (made without
		// the store's currency at hand), the store's, else the first line's.
		want := c.Currency
		if want == "" {
			want = cur
		}
		if want == "" {
			want = row.Currency
		}
		if row.Currency != want {
			return kit.Invalid(ErrCurrencyMismatch, kit.FieldError{Field: "sku",
				Message: fmt.Sprintf("priced in %s, the cart in %s", row.Currency, want), Value: in.SKU})
		}
		if c.Currency != want {
			c.Currency = want
			if err := q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email, Currency: c.Currency,
				Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod}); err != nil {
				return fmt.Errorf("set cart currency: %w", err)
			}
		}
		l := joined(row, in.Quantity)
		l.ID = kit.NewID()
		lines = append(lines, l)
		return q.InsertLine(ctx, cartdb.InsertLineParams{TenantID: tenant, CartID: id, ID: l.ID, Sku: in.SKU,
			Quantity: in.Quantity, CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro()})
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("add %s to cart: %w", in.SKU, err)
	}
	byID(lines)
	return s.withTotals(ctx, view(c, lines))
}

// UpdateItem sets the quantity of a line.
func (s *Service) UpdateItem(ctx context.Context, id, line string, quantity int64) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuantity("quantity", quantity); err != nil {
		return cartapi.Cart{}, err
	}
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *cartdb.Queries) error {
		now := s.now()
		if _, err := lockCart(ctx, q, tenant, id, now); err != nil {
			return err
		}
		n, err := q.SetLineQuantity(ctx, cartdb.SetLineQuantityParams{TenantID: tenant, CartID: id, ID: line,
			Quantity: quantity, UpdatedAt: now.UnixMicro()})
		if err != nil {
			return fmt.Errorf("set quantity: %w", err)
		}
		if n == 0 {
			return ErrLineNotFound
		}
		return nil
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("update line %s: %w", line, err)
	}
	return s.Cart(ctx, id)
}

// RemoveItem deletes a line. Without the store's currency (Deps.Stores) the
// cart's currency goes with its last line, so an emptied cart takes any
// currency again; with it, the cart keeps the store's.
func (s *Service) RemoveItem(ctx context.Context, id, line string) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *cartdb.Queries) error {
		c, err := lockCart(ctx, q, tenant, id, s.now())
		if err != nil {
			return err
		}
		n, err := q.DeleteLine(ctx, cartdb.DeleteLineParams{TenantID: tenant, CartID: id, ID: line})
		if err != nil {
			return fmt.Errorf("delete line: %w", err)
		}
		if n == 0 {
			return ErrLineNotFound
		}
		left, err := q.ListLines(ctx, cartdb.ListLinesParams{TenantID: tenant, CartID: id})
		if err != nil {
			return fmt.Errorf("load cart lines: %w", err)
		}
		if len(left) == 0 && c.Currency != "" && s.stores == nil {
			return q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email, Currency: "",
				Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod})
		}
		return nil
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("remove line %s: %w", line, err)
	}
	return s.Cart(ctx, id)
}
