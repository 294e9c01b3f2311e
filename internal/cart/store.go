package cart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/web"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into cartdb (run
// `go tool sqlc generate -f internal/cart/sqlc.yaml`). The queries use
// sqlc.arg() rather than $1 so they also parse with sqlc's sqlite engine.

// loadCart loads a cart and its lines through q.
func loadCart(ctx context.Context, q *cartdb.Queries, tenant, id string) (cartdb.Cart, []cartdb.ListLinesRow, error) {
	c, err := q.GetCart(ctx, cartdb.GetCartParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil, ErrNotFound
	}
	if err != nil {
		return c, nil, fmt.Errorf("load cart: %w", err)
	}
	lines, err := q.ListLines(ctx, cartdb.ListLinesParams{TenantID: tenant, CartID: id})
	if err != nil {
		return c, nil, fmt.Errorf("load cart lines: %w", err)
	}
	return c, lines, nil
}

// readCart loads a cart and its lines from one snapshot of the read pool.
func (s *Service) readCart(ctx context.Context, tenant, id string) (c cartdb.Cart, lines []cartdb.ListLinesRow, err error) {
	err = s.store.Read(ctx, func(q *cartdb.Queries) error {
		c, lines, err = loadCart(ctx, q, tenant, id)
		return err
	})
	return c, lines, err
}

// lockCart starts a change to an open cart: it stamps updated_at (which
// also locks the row until commit on PostgreSQL, see TouchCart) and returns
// the cart as it is under the lock.
func lockCart(ctx context.Context, q *cartdb.Queries, tenant, id string, now time.Time) (cartdb.Cart, error) {
	c, err := q.TouchCart(ctx, cartdb.TouchCartParams{TenantID: tenant, ID: id, UpdatedAt: now.UnixMicro()})
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("lock cart: %w", err)
	}
	if c.Status != cartapi.StatusOpen {
		return c, ErrCheckedOut
	}
	return c, nil
}

// sku returns the projected catalog row of an SKU that may be added to a
// cart: known and active, else a *kit.ValidationError on field.
func sku(ctx context.Context, q *cartdb.Queries, tenant, field, code string) (cartdb.CatalogSku, error) {
	row, err := q.GetSKU(ctx, cartdb.GetSKUParams{TenantID: tenant, Sku: code})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !row.Active) {
		return row, kit.Invalid(ErrUnknownSKU, kit.FieldError{Field: field, Message: web.Plain(ErrUnknownSKU), Value: code})
	}
	if err != nil {
		return row, fmt.Errorf("load SKU %s: %w", code, err)
	}
	return row, nil
}

// resolveItems checks that every item is an addable SKU and that all are
// priced in currency (the store's), which it returns with the items'
// lines joined to their projected products (IDs not yet given); with
// currency "", in the currency of the first item ("" for no items).
func resolveItems(ctx context.Context, q *cartdb.Queries, tenant string, items []cartapi.Item, currency string) (string, []cartdb.ListLinesRow, error) {
	lines := make([]cartdb.ListLinesRow, len(items))
	for i, it := range items {
		row, err := sku(ctx, q, tenant, fmt.Sprintf("items[%d].sku", i), it.SKU)
		if err != nil {
			return "", nil, err
		}
		if currency == "" {
			currency = row.Currency
		} else if row.Currency != currency {
			return "", nil, kit.Invalid(ErrCurrencyMismatch, kit.FieldError{Field: fmt.Sprintf("items[%d].sku", i),
				Message: fmt.Sprintf("priced in %s, the cart in %s", row.Currency, currency), Value: it.SKU})
		}
		lines[i] = joined(row, it.Quantity)
	}
	return currency, lines, nil
}

// joined is a line of quantity units of the projected SKU row, as
// ListLines reads it back (its ID not yet given). A change builds its
// answer from the rows it read and wrote in its transaction, rather than
// reading the cart again after the commit.
func joined(row cartdb.CatalogSku, quantity int64) cartdb.ListLinesRow {
	return cartdb.ListLinesRow{Sku: row.Sku, Quantity: quantity, ProductID: row.ProductID, VariantID: row.VariantID,
		Title: row.Title, ImageUrl: row.ImageUrl, Price: row.Price, Currency: row.Currency, Active: row.Active}
}

// byID orders lines as ListLines does: by ID, which is the order they
// were added in (line IDs are UUIDv7).
func byID(lines []cartdb.ListLinesRow) {
	slices.SortFunc(lines, func(a, b cartdb.ListLinesRow) int { return strings.Compare(a.ID, b.ID) })
}

// addEvent writes one cart event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, cartapi.Source, subject, at, data)
}
