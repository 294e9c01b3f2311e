package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
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
	// Limit is the page size; zero means Config.Paging.PageSize, and it is
	// capped at Config.Paging.MaxPageSize.
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

// cacheKey names the page lq asks for, given its page size (see
// Service.pageSize): requests that differ only in how they spell the same
// page (no limit or the default, limits beyond the maximum) share one key,
// so varying the limit cannot fill the page cache. It runs on every cached
// read, hence no fmt. The category is length-prefixed so that no two
// queries share a key through a "|" inside it.
func (lq ListQuery) cacheKey(pageSize int) string {
	sort := lq.Sort
	if sort == "" {
		sort = SortNewest
	}
	var b strings.Builder
	b.Grow(64 + len(lq.Category) + len(lq.Cursor))
	b.WriteString("list|")
	b.WriteString(strconv.Itoa(pageSize))
	b.WriteByte('|')
	b.WriteString(string(sort))
	b.WriteByte('|')
	writeBound(&b, lq.MinPrice)
	b.WriteByte('|')
	writeBound(&b, lq.MaxPrice)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(len(lq.Category)))
	b.WriteByte(':')
	b.WriteString(lq.Category)
	b.WriteByte('|')
	b.WriteString(lq.Cursor)
	return b.String()
}

func writeBound(b *strings.Builder, p *int64) {
	if p == nil {
		b.WriteByte('-')
		return
	}
	b.WriteString(strconv.FormatInt(*p, 10))
}

// AdminListQuery selects a page of products of any status, newest first.
type AdminListQuery struct {
	Limit  int
	Cursor string
	// Status, when set, keeps only products with that status.
	Status catalogapi.Status
	// SKU, when set, keeps only the product owning that SKU: one page of
	// none or one product.
	SKU string
}

// keyset is where a page ends: the sort it belongs to and the last row's
// sort key and ID. It travels as kit.EncodeCursor makes it (base64url
// JSON), opaque to clients.
type keyset struct {
	Sort Sort   `json:"s"`
	N    int64  `json:"n,omitempty"` // created_at (µs) or min_price
	T    string `json:"t,omitempty"` // title
	ID   string `json:"id"`
}

func (c keyset) encode() string { return kit.EncodeCursor(c) }

// parseKeyset parses a cursor made for sort; anything else, including a
// cursor from a list in another order, is kit.ErrInvalidCursor.
func parseKeyset(s string, sort Sort) (keyset, error) {
	var c keyset
	if err := kit.DecodeCursor(s, &c); err != nil || c.Sort != sort || c.ID == "" {
		return keyset{}, kit.ErrInvalidCursor
	}
	return c, nil
}

// firstKeyset is a position before every row in the order of sort, so the
// first page is the same query as any other: every key is strictly after
// it (prices are never negative, titles never empty, and no key reaches
// MaxInt64), so the ID tie-break never matters there.
func firstKeyset(sort Sort) keyset {
	switch sort {
	case SortPriceAsc:
		return keyset{Sort: sort, N: -1}
	case SortTitle:
		return keyset{Sort: sort}
	default: // newest, price_desc
		return keyset{Sort: sort, N: math.MaxInt64}
	}
}

// keysetAfter is the cursor of the page ending with p.
func keysetAfter(sort Sort, p listedProduct) keyset {
	c := keyset{Sort: sort, ID: p.ID}
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

// productPage is a page of a product list as the store reads it, and its
// JSON is that of catalogapi.ProductList: the public list encodes it as it
// is, and ListProducts decodes it into a catalogapi.ProductList.
type productPage struct {
	Items      []listedProduct `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// listedProduct is a catalogapi.Product whose JSON columns (options,
// attributes, images, variant options) are still as stored: the public list
// copies them into the response rather than decode them into maps and
// slices only to encode them again, which was about a sixth of the cost of
// a page. Its JSON must stay that of catalogapi.Product, byte for byte
// (TestListedProductJSON checks).
type listedProduct struct {
	ID          string            `json:"id"`
	Slug        string            `json:"slug"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Status      catalogapi.Status `json:"status"`
	CategoryID  string            `json:"category_id,omitempty"`
	Options     json.RawMessage   `json:"options"`
	Variants    []listedVariant   `json:"variants"`
	Attributes  json.RawMessage   `json:"attributes"`
	Images      json.RawMessage   `json:"images"`
	PriceFrom   money.Money       `json:"price_from"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// listedVariant is catalogapi.Variant with its options as stored.
type listedVariant struct {
	ID      string          `json:"id"`
	SKU     string          `json:"sku"`
	Title   string          `json:"title"`
	Price   money.Money     `json:"price"`
	Options json.RawMessage `json:"options"`
}

// product decodes the JSON columns.
func (l listedProduct) product() (catalogapi.Product, error) {
	p := catalogapi.Product{
		ID:          l.ID,
		Slug:        l.Slug,
		Title:       l.Title,
		Description: l.Description,
		Status:      l.Status,
		CategoryID:  l.CategoryID,
		Variants:    make([]catalogapi.Variant, len(l.Variants)),
		PriceFrom:   l.PriceFrom,
		CreatedAt:   l.CreatedAt,
		UpdatedAt:   l.UpdatedAt,
	}
	if err := json.Unmarshal(l.Options, &p.Options); err != nil {
		return p, fmt.Errorf("decode options of product %s: %w", l.ID, err)
	}
	if err := json.Unmarshal(l.Attributes, &p.Attributes); err != nil {
		return p, fmt.Errorf("decode attributes of product %s: %w", l.ID, err)
	}
	if err := json.Unmarshal(l.Images, &p.Images); err != nil {
		return p, fmt.Errorf("decode images of product %s: %w", l.ID, err)
	}
	for i, v := range l.Variants {
		p.Variants[i] = catalogapi.Variant{ID: v.ID, SKU: v.SKU, Title: v.Title, Price: v.Price}
		if err := json.Unmarshal(v.Options, &p.Variants[i].Options); err != nil {
			return p, fmt.Errorf("decode options of variant %s: %w", v.SKU, err)
		}
	}
	return p, nil
}

// productList decodes a page.
func (pg productPage) productList() (catalogapi.ProductList, error) {
	l := catalogapi.ProductList{Items: make([]catalogapi.Product, len(pg.Items)), NextCursor: pg.NextCursor}
	for i, lp := range pg.Items {
		var err error
		if l.Items[i], err = lp.product(); err != nil {
			return catalogapi.ProductList{}, err
		}
	}
	return l, nil
}

// pageSize turns a requested limit into the page size.
func (s *Service) pageSize(limit int) int {
	return s.cfg.Paging.Size(limit)
}

// ListProducts returns a page of active products.
func (s *Service) ListProducts(ctx context.Context, lq ListQuery) (catalogapi.ProductList, error) {
	pg, err := s.listProducts(ctx, lq)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	return pg.productList()
}

// listProducts is ListProducts with the products' JSON columns left
// encoded, for the public list to pass on.
func (s *Service) listProducts(ctx context.Context, lq ListQuery) (productPage, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return productPage{}, err
	}
	if lq.Sort == "" {
		lq.Sort = SortNewest
	}
	if !validSort(lq.Sort) {
		return productPage{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "sort", Message: "unknown sort", Value: lq.Sort})
	}
	after := firstKeyset(lq.Sort)
	if lq.Cursor != "" {
		if after, err = parseKeyset(lq.Cursor, lq.Sort); err != nil {
			return productPage{}, err
		}
	}
	n := s.pageSize(lq.Limit)
	// One more than a page tells whether there is a next page.
	items, err := s.store.list(ctx, tenant, lq, after, n+1)
	if err != nil {
		return productPage{}, err
	}
	return page(items, n, func(p listedProduct) keyset { return keysetAfter(lq.Sort, p) }), nil
}

// AdminProducts returns a page of products of any status, newest first.
func (s *Service) AdminProducts(ctx context.Context, aq AdminListQuery) (catalogapi.ProductList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	if aq.SKU != "" {
		l := catalogapi.ProductList{Items: []catalogapi.Product{}}
		p, err := s.store.productBySKU(ctx, tenant, aq.SKU)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return catalogapi.ProductList{}, err
		case aq.Status == "" || p.Status == aq.Status:
			l.Items = append(l.Items, p)
		}
		return l, nil
	}
	after := firstKeyset(SortNewest)
	if aq.Cursor != "" {
		if after, err = parseKeyset(aq.Cursor, SortNewest); err != nil {
			return catalogapi.ProductList{}, err
		}
	}
	n := s.pageSize(aq.Limit)
	items, err := s.store.listAdmin(ctx, tenant, aq.Status, after, n+1)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	return page(items, n, func(p listedProduct) keyset { return keysetAfter(SortNewest, p) }).productList()
}

func page(items []listedProduct, n int, next func(listedProduct) keyset) productPage {
	pg := productPage{Items: items}
	if len(items) > n {
		pg.Items = items[:n]
		pg.NextCursor = next(items[n-1]).encode()
	}
	return pg
}
