package catalog

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
)

// Sort orders a public product list.
type Sort string

// The public list orders. Each is a keyset over (key, id) with an index.
const (
	SortNewest    Sort = "newest"     // created_at descending
	SortPriceAsc  Sort = "price_asc"  // lowest variant price ascending
	SortPriceDesc Sort = "price_desc" // lowest variant price descending
	SortTitle     Sort = "title"      // title ascending, in the database's collation
)

// ListQuery selects a page of active products. Zero values mean no filter.
type ListQuery struct {
	// Limit is the page size; zero means Config.PageSize, and it is capped
	// at Config.MaxPageSize.
	Limit int
	// Cursor is next_cursor from the previous page.
	Cursor string
	// Category is a category ID or slug; its descendants are included.
	Category string
	// MinPrice and MaxPrice bound the product's lowest variant price, in
	// minor units, inclusive.
	MinPrice *int64
	MaxPrice *int64
	Sort     Sort
}

// AdminListQuery selects a page of products of any status, newest first.
type AdminListQuery struct {
	Limit  int
	Cursor string
	// Status, when set, keeps only products with that status.
	Status catalogapi.Status
}

// cursor is where a page ends: the sort it belongs to and the last row's
// sort key and ID. It travels as base64url JSON, opaque to clients.
type cursor struct {
	Sort Sort   `json:"s"`
	N    int64  `json:"n,omitempty"` // created_at (µs) or min_price
	T    string `json:"t,omitempty"` // title
	ID   string `json:"id"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // cannot fail: strings and ints only
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made for sort; anything else, including a
// cursor from a list in another order, is ErrInvalidCursor.
func decodeCursor(s string, sort Sort) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Sort != sort || c.ID == "" {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// firstCursor is a position before every row in the order of sort, so the
// first page is the same query as any other: every key is strictly after
// it (prices are never negative, titles never empty, and no key reaches
// MaxInt64), so the ID tie-break never matters there.
func firstCursor(sort Sort) cursor {
	switch sort {
	case SortPriceAsc:
		return cursor{Sort: sort, N: -1}
	case SortTitle:
		return cursor{Sort: sort}
	default: // newest, price_desc
		return cursor{Sort: sort, N: math.MaxInt64}
	}
}

// cursorAfter is the cursor of the page ending with p.
func cursorAfter(sort Sort, p catalogapi.Product) cursor {
	c := cursor{Sort: sort, ID: p.ID}
	switch sort {
	case SortPriceAsc, SortPriceDesc:
		c.N = p.PriceFrom.Amount
	case SortTitle:
		c.T = p.Title
	default:
		c.N = p.CreatedAt.UnixMicro()
	}
	return c
}

func validSort(s Sort) bool {
	switch s {
	case SortNewest, SortPriceAsc, SortPriceDesc, SortTitle:
		return true
	}
	return false
}

// micros converts a time to the unix microseconds the tables store.
func micros(t time.Time) int64 { return t.UnixMicro() }
