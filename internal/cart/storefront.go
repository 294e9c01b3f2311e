package cart

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Create creates an open cart for the tenant in ctx, with the lines and
// fields of in (all optional). A coupon is checked with the pricing service
// when there are lines to quote; on an empty cart it is kept unchecked and
// shows in the totals once lines are added.
func (s *Service) Create(ctx context.Context, in cartapi.CartCreate) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	items, err := mergeItems(in.Items)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkEmail("email", in.Email); err != nil {
		return cartapi.Cart{}, err
	}
	if err := checkQuoteFields(&in.Coupon, &in.Country, &in.Region, &in.ShippingMethod); err != nil {
		return cartapi.Cart{}, err
	}
	now := s.now()
	c := cartdb.Cart{
		TenantID: tenant, ID: newCartID(), Status: cartapi.StatusOpen, Email: in.Email,
		Coupon: normalCoupon(in.Coupon), Country: in.Country, Region: in.Region, ShippingMethod: in.ShippingMethod,
		CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro(),
	}
	cur, err := s.storeCurrency(ctx)
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("create cart: %w", err)
	}
	var lines []cartdb.ListLinesRow
	if len(items) > 0 && (c.Coupon != "" || c.Country != "" || c.ShippingMethod != "") {
		// Refuse bad SKUs with the cart's own codes before asking pricing.
		err = s.store.Read(ctx, func(q *cartdb.Queries) error {
			var err error
			c.Currency, lines, err = resolveItems(ctx, q, tenant, items, cur)
			return err
		})
		if err != nil {
			return cartapi.Cart{}, err
		}
		if err := s.checkQuote(ctx, c, lines); err != nil {
			return cartapi.Cart{}, err
		}
	}
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *cartdb.Queries) error {
		// Again in the transaction: the projection may have moved on.
		var err error
		if c.Currency, lines, err = resolveItems(ctx, q, tenant, items, cur); err != nil {
			return err
		}
		if err := q.InsertCart(ctx, cartdb.InsertCartParams{
			TenantID: tenant, ID: c.ID, Email: c.Email, CustomerID: c.CustomerID, Currency: c.Currency,
			Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		}); err != nil {
			return fmt.Errorf("insert cart: %w", err)
		}
		for i, l := range lines {
			lines[i].ID = kit.NewID()
			if err := q.InsertLine(ctx, cartdb.InsertLineParams{TenantID: tenant, CartID: c.ID, ID: lines[i].ID, Sku: l.Sku,
				Quantity: l.Quantity, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}); err != nil {
				return fmt.Errorf("insert line %s: %w", l.Sku, err)
			}
		}
		return addEvent(ctx, tx, cartapi.SubjectCreated, now, cartapi.Created{
			CartID: c.ID, Currency: c.Currency, Email: c.Email, CustomerID: c.CustomerID, At: now.UTC(),
		})
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("create cart: %w", err)
	}
	s.log.DebugContext(ctx, "cart created", "tenant", tenant, "lines", len(lines))
	// The answer is what the transaction wrote: no second read of it.
	byID(lines)
	return s.withTotals(ctx, view(c, lines))
}

// Cart returns a cart of the tenant in ctx with its current prices and,
// when pricing can quote it, its totals. A failing pricing service never
// fails the read: the cart then carries TotalsError instead of Totals.
func (s *Service) Cart(ctx context.Context, id string) (cartapi.Cart, error) {
	c, err := s.Lines(ctx, id)
	if err != nil {
		return cartapi.Cart{}, err
	}
	return s.withTotals(ctx, c)
}

// Lines returns a cart as Cart does but without its totals: pricing is not
// asked. For a caller that quotes the lines itself (the checkout).
func (s *Service) Lines(ctx context.Context, id string) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	row, lines, err := s.readCart(ctx, tenant, id)
	if err != nil {
		return cartapi.Cart{}, err
	}
	return view(row, lines), nil
}

// withTotals adds to c, a cart as view builds it, the totals of pricing's
// quote, or when pricing cannot quote it why not (TotalsError).
func (s *Service) withTotals(ctx context.Context, c cartapi.Cart) (cartapi.Cart, error) {
	req, ok := quoteRequest(c)
	if !ok || c.Status != cartapi.StatusOpen {
		// A checked-out cart's figures are the order's now; its lines
		// remain for reference.
		return c, nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QuoteTimeout)
	defer cancel()
	q, err := s.pricing.Quote(qctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return cartapi.Cart{}, ctx.Err()
		}
		if _, refused := apiclient.Refused(err); !refused {
			s.log.WarnContext(ctx, "quote cart", "err", err)
		}
		c.TotalsError = totalsProblem(err)
		return c, nil
	}
	c.Totals = totals(q)
	return c, nil
}

// Update changes a cart's email, coupon and destination. Changes that
// affect the quote are checked with pricing first (see checkQuote).
func (s *Service) Update(ctx context.Context, id string, in cartapi.CartUpdate) (cartapi.Cart, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return cartapi.Cart{}, err
	}
	old, lines, err := s.readCart(ctx, tenant, id)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if old.Status != cartapi.StatusOpen {
		return cartapi.Cart{}, ErrCheckedOut
	}
	next, priced, err := patch(old, in)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if priced {
		if err := s.checkQuote(ctx, next, lines); err != nil {
			return cartapi.Cart{}, err
		}
	}
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *cartdb.Queries) error {
		c, err := lockCart(ctx, q, tenant, id, s.now())
		if err != nil {
			return err
		}
		// The patch applies to the row as it is now (its currency may have
		// changed since it was read).
		c, _, err = patch(c, in)
		if err != nil {
			return err
		}
		return q.UpdateCart(ctx, cartdb.UpdateCartParams{TenantID: tenant, ID: id, Email: c.Email,
			Currency: c.Currency, Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod})
	})
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("update cart: %w", err)
	}
	return s.Cart(ctx, id)
}
