package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into catalogdb
// (`go tool sqlc generate -f internal/catalog/sqlc.yaml`). The queries use
// sqlc.arg() rather than $1 so they also parse with sqlc's sqlite engine
// (`go tool sqlc vet` checks both); sqlc emits $1… which both drivers take.

// errStale means a product changed between read and write in a concurrent
// transaction (PostgreSQL only): the whole operation is retried.
var errStale = errors.New("catalog: product changed concurrently")

// store runs the catalog's queries (kit.Store: reads on the read pool,
// writes in write transactions), and names its reads of more than one
// query: a product with its variants, a page of products with theirs, the
// category tree.
type store struct {
	*kit.Store[*catalogdb.Queries]
}

// addEvent writes one product event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, catalogapi.Source, subject, at, data)
}

// product loads one product of any status with its variants, through q: a
// write transaction's, or a read transaction's (see readProduct), so that the row and its
// variants come from one snapshot.
func (s *store) product(ctx context.Context, q *catalogdb.Queries, tenant, id string) (catalogapi.Product, error) {
	row, err := q.GetProduct(ctx, catalogdb.GetProductParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return catalogapi.Product{}, ErrNotFound
	}
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("load product %s: %w", id, err)
	}
	return s.withVariants(ctx, q, row)
}

// readProduct is product on the read pool, in one read transaction.
func (s *store) readProduct(ctx context.Context, tenant, id string) (catalogapi.Product, error) {
	var p catalogapi.Product
	err := s.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		p, err = s.product(ctx, q, tenant, id)
		return err
	})
	return p, err
}

// productBySKU loads the product owning sku, of any status, in one read
// transaction; ErrNotFound when no variant has it.
func (s *store) productBySKU(ctx context.Context, tenant, sku string) (catalogapi.Product, error) {
	var p catalogapi.Product
	err := s.Read(ctx, func(q *catalogdb.Queries) error {
		id, err := q.SKUOwner(ctx, catalogdb.SKUOwnerParams{TenantID: tenant, Sku: sku})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("find SKU %s: %w", sku, err)
		}
		p, err = s.product(ctx, q, tenant, id)
		return err
	})
	return p, err
}

// activeProduct loads an active product by ID or slug, the row and its
// variants in one read transaction.
func (s *store) activeProduct(ctx context.Context, tenant, key string) (catalogapi.Product, error) {
	var p catalogapi.Product
	err := s.Read(ctx, func(q *catalogdb.Queries) error {
		row, err := q.GetActiveProduct(ctx, catalogdb.GetActiveProductParams{TenantID: tenant, Key: key})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load product %s: %w", key, err)
		}
		p, err = s.withVariants(ctx, q, row)
		return err
	})
	return p, err
}

func (s *store) withVariants(ctx context.Context, q *catalogdb.Queries, row catalogdb.Product) (catalogapi.Product, error) {
	vs, err := q.ListVariants(ctx, catalogdb.ListVariantsParams{TenantID: row.TenantID, ProductID: row.ID})
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("load variants of %s: %w", row.ID, err)
	}
	return toProduct(row, vs)
}

// productRow and variantRow are the columns every list query reads (see
// queries/list.sql); the row types sqlc generates for them have these shapes.
type productRow = struct {
	ID          string
	Slug        string
	Title       string
	Description string
	Status      string
	CategoryID  sql.NullString
	Options     string
	Attributes  string
	Images      string
	MinPrice    int64
	Currency    string
	CreatedAt   int64
	UpdatedAt   int64
}

type variantRow = struct {
	ProductID string
	ID        string
	Sku       string
	Title     string
	Price     int64
	Currency  string
	Options   string
}

// list loads up to limit active products after the cursor, in the cursor's
// order, with their variants: two queries whatever the page size.
func (s *store) list(ctx context.Context, tenant string, lq ListQuery, after keyset, limit int) ([]listedProduct, error) {
	minP, maxP := int64(0), int64(math.MaxInt64)
	if lq.MinPrice != nil {
		minP = *lq.MinPrice
	}
	if lq.MaxPrice != nil {
		maxP = *lq.MaxPrice
	}
	lim := int64(limit)
	var ps []productRow
	var vs []variantRow
	err := s.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		switch after.Sort {
		case SortPriceAsc:
			arg := catalogdb.ListPriceAscParams{TenantID: tenant, Category: lq.Category, MinPrice: minP,
				MaxPrice: maxP, AfterKey: after.N, AfterID: after.ID, PageLimit: lim}
			if ps, err = productRows(q.ListPriceAsc(ctx, arg)); err == nil {
				vs, err = variantRows(q.ListPriceAscVariants(ctx, catalogdb.ListPriceAscVariantsParams(arg)))
			}
		case SortPriceDesc:
			arg := catalogdb.ListPriceDescParams{TenantID: tenant, Category: lq.Category, MinPrice: minP,
				MaxPrice: maxP, AfterKey: after.N, AfterID: after.ID, PageLimit: lim}
			if ps, err = productRows(q.ListPriceDesc(ctx, arg)); err == nil {
				vs, err = variantRows(q.ListPriceDescVariants(ctx, catalogdb.ListPriceDescVariantsParams(arg)))
			}
		case SortTitle:
			arg := catalogdb.ListTitleParams{TenantID: tenant, Category: lq.Category, MinPrice: minP,
				MaxPrice: maxP, AfterKey: after.T, AfterID: after.ID, PageLimit: lim}
			if ps, err = productRows(q.ListTitle(ctx, arg)); err == nil {
				vs, err = variantRows(q.ListTitleVariants(ctx, catalogdb.ListTitleVariantsParams(arg)))
			}
		default:
			arg := catalogdb.ListNewestParams{TenantID: tenant, Category: lq.Category, MinPrice: minP,
				MaxPrice: maxP, AfterKey: after.N, AfterID: after.ID, PageLimit: lim}
			if ps, err = productRows(q.ListNewest(ctx, arg)); err == nil {
				vs, err = variantRows(q.ListNewestVariants(ctx, catalogdb.ListNewestVariantsParams(arg)))
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list products by %s: %w", after.Sort, err)
	}
	return listed(ps, vs), nil
}

// listAdmin loads up to limit products of any status (or of one), newest first.
func (s *store) listAdmin(ctx context.Context, tenant string, status catalogapi.Status, after keyset, limit int) ([]listedProduct, error) {
	arg := catalogdb.ListAdminParams{TenantID: tenant, Status: string(status), AfterKey: after.N,
		AfterID: after.ID, PageLimit: int64(limit)}
	var ps []productRow
	var avs []catalogdb.ListAdminVariantsRow
	err := s.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		if ps, err = productRows(q.ListAdmin(ctx, arg)); err == nil {
			avs, err = q.ListAdminVariants(ctx, catalogdb.ListAdminVariantsParams(arg))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list products for admin: %w", err)
	}
	vs := make([]variantRow, len(avs))
	costs := make(map[string]*int64, len(avs))
	for i, v := range avs {
		vs[i] = variantRow{ProductID: v.ProductID, ID: v.ID, Sku: v.Sku, Title: v.Title, Price: v.Price, Currency: v.Currency, Options: v.Options}
		if v.CostPrice.Valid {
			costs[v.ID] = &v.CostPrice.Int64
		}
	}
	out := listed(ps, vs)
	for i := range out {
		for j := range out[i].Variants {
			out[i].Variants[j].CostPrice = costs[out[i].Variants[j].ID]
		}
	}
	return out, nil
}

// productRows and variantRows convert the rows of one generated query to
// their common shape.
func productRows[R ~productRow](rs []R, err error) ([]productRow, error) {
	out := make([]productRow, len(rs))
	for i, r := range rs {
		out[i] = productRow(r)
	}
	return out, err
}

func variantRows[R ~variantRow](rs []R, err error) ([]variantRow, error) {
	out := make([]variantRow, len(rs))
	for i, r := range rs {
		out[i] = variantRow(r)
	}
	return out, err
}

// listed puts a page together: the products in their order, each with its
// variants. The variants come grouped by product, in position order, so
// each product's are one stretch of a single slice.
func listed(ps []productRow, vs []variantRow) []listedProduct {
	out := make([]listedProduct, len(ps))
	at := make(map[string]int, len(ps))
	for i, p := range ps {
		out[i] = listedOf(p)
		at[p.ID] = i
	}
	all := make([]listedVariant, len(vs))
	for j := 0; j < len(vs); {
		k := j
		for ; k < len(vs) && vs[k].ProductID == vs[j].ProductID; k++ {
			all[k] = listedVariantOf(vs[k])
		}
		if i, ok := at[vs[j].ProductID]; ok {
			out[i].Variants = all[j:k:k]
		}
		j = k
	}
	return out
}

func listedOf(r productRow) listedProduct {
	return listedProduct{
		ID:          r.ID,
		Slug:        r.Slug,
		Title:       r.Title,
		Description: r.Description,
		Status:      catalogapi.Status(r.Status),
		CategoryID:  r.CategoryID.String,
		Options:     storedJSON(r.Options, "[]"),
		Variants:    []listedVariant{}, // every product has variants, but never null
		Attributes:  storedJSON(r.Attributes, "{}"),
		Images:      storedJSON(r.Images, "[]"),
		PriceFrom:   money.Money{Amount: r.MinPrice, Currency: r.Currency},
		CreatedAt:   sqldb.FromMicros(r.CreatedAt),
		UpdatedAt:   sqldb.FromMicros(r.UpdatedAt),
	}
}

func listedVariantOf(v variantRow) listedVariant {
	return listedVariant{ID: v.ID, SKU: v.Sku, Title: v.Title, Price: money.Money{Amount: v.Price, Currency: v.Currency},
		Options: storedJSON(v.Options, "{}")}
}

// storedJSON is a JSON column as stored, with null (which the service does
// not write, but reads have always tolerated) turned into empty, [] or {}, so
// that a response never shows null for a collection.
func storedJSON(s, empty string) json.RawMessage {
	if strings.TrimSpace(s) == "null" {
		s = empty
	}
	return json.RawMessage(s)
}

// toProduct decodes a product read whole, with its variants in order.
func toProduct(r catalogdb.Product, vs []catalogdb.Variant) (catalogapi.Product, error) {
	p := listedOf(productRow{ID: r.ID, Slug: r.Slug, Title: r.Title, Description: r.Description,
		Status: r.Status, CategoryID: r.CategoryID, Options: r.Options, Attributes: r.Attributes,
		Images: r.Images, MinPrice: r.MinPrice, Currency: r.Currency, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	p.Variants = make([]listedVariant, len(vs))
	for i, v := range vs {
		p.Variants[i] = listedVariantOf(variantRow{ProductID: v.ProductID, ID: v.ID, Sku: v.Sku, Title: v.Title,
			Price: v.Price, Currency: v.Currency, Options: v.Options})
		if v.CostPrice.Valid {
			p.Variants[i].CostPrice = &v.CostPrice.Int64
		}
	}
	return p.product()
}

// encodeJSON encodes v as huma encodes a response body: <, > and & left
// unescaped, and a final newline. Cached pages are encoded with it, and so
// are the JSON columns (see jsonColumn), since the public list copies the
// columns into responses.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonColumn is the stored text of a JSON column: encodeJSON without the
// newline.
func jsonColumn(v any) string {
	b, _ := encodeJSON(v) // cannot fail: strings, slices and maps of strings
	return string(bytes.TrimSuffix(b, []byte("\n")))
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// insertProduct writes a new product and its variants.
func insertProduct(ctx context.Context, q *catalogdb.Queries, tenant string, p catalogapi.Product) error {
	err := q.InsertProduct(ctx, catalogdb.InsertProductParams{
		TenantID: tenant, ID: p.ID, Slug: p.Slug, Title: p.Title, Description: p.Description,
		Status: string(p.Status), CategoryID: nullString(p.CategoryID), Options: jsonColumn(p.Options),
		Attributes: jsonColumn(p.Attributes), Images: jsonColumn(p.Images),
		MinPrice: p.PriceFrom.Amount, Currency: p.PriceFrom.Currency,
		CreatedAt: sqldb.Micros(p.CreatedAt), UpdatedAt: sqldb.Micros(p.UpdatedAt),
	})
	if err != nil {
		return fmt.Errorf("insert product %s: %w", p.Slug, err)
	}
	for i, v := range p.Variants {
		if err := insertVariant(ctx, q, tenant, p, i, v); err != nil {
			return err
		}
	}
	return nil
}

func insertVariant(ctx context.Context, q *catalogdb.Queries, tenant string, p catalogapi.Product, i int, v catalogapi.Variant) error {
	err := q.InsertVariant(ctx, catalogdb.InsertVariantParams{
		TenantID: tenant, ID: v.ID, ProductID: p.ID, Sku: v.SKU, Title: v.Title,
		Price: v.Price.Amount, Currency: v.Price.Currency, Options: jsonColumn(v.Options),
		Position: int64(i), CreatedAt: sqldb.Micros(p.UpdatedAt), UpdatedAt: sqldb.Micros(p.UpdatedAt),
		CostPrice: nullInt64(v.CostPrice),
	})
	if err != nil {
		return fmt.Errorf("insert variant %s: %w", v.SKU, err)
	}
	return nil
}

// updateProduct writes p over old, which it was read as in this
// transaction: the product row if nobody changed it since (else errStale),
// then the variants, matched by ID (buildVariants kept IDs by SKU).
func updateProduct(ctx context.Context, q *catalogdb.Queries, tenant string, old, p catalogapi.Product) error {
	n, err := q.UpdateProduct(ctx, catalogdb.UpdateProductParams{
		TenantID: tenant, ID: p.ID, Slug: p.Slug, Title: p.Title, Description: p.Description,
		Status: string(p.Status), CategoryID: nullString(p.CategoryID), Options: jsonColumn(p.Options),
		Attributes: jsonColumn(p.Attributes), Images: jsonColumn(p.Images),
		MinPrice: p.PriceFrom.Amount, Currency: p.PriceFrom.Currency,
		UpdatedAt: sqldb.Micros(p.UpdatedAt), ReadAt: sqldb.Micros(old.UpdatedAt),
	})
	if err != nil {
		return fmt.Errorf("update product %s: %w", p.ID, err)
	}
	if n == 0 {
		return errStale
	}
	keep := make(map[string]bool, len(p.Variants))
	for _, v := range p.Variants {
		keep[v.ID] = true
	}
	had := make(map[string]bool, len(old.Variants))
	// Delete first: a removed variant's SKU may not be reused by a new one
	// before it is gone, or the unique index would object.
	for _, v := range old.Variants {
		had[v.ID] = true
		if keep[v.ID] {
			continue
		}
		if err := q.DeleteVariant(ctx, catalogdb.DeleteVariantParams{TenantID: tenant, ID: v.ID, ProductID: p.ID}); err != nil {
			return fmt.Errorf("delete variant %s: %w", v.SKU, err)
		}
	}
	for i, v := range p.Variants {
		if !had[v.ID] {
			if err := insertVariant(ctx, q, tenant, p, i, v); err != nil {
				return err
			}
			continue
		}
		err := q.UpdateVariant(ctx, catalogdb.UpdateVariantParams{
			TenantID: tenant, ID: v.ID, ProductID: p.ID, Title: v.Title, Price: v.Price.Amount,
			Currency: v.Price.Currency, Options: jsonColumn(v.Options), Position: int64(i),
			UpdatedAt: sqldb.Micros(p.UpdatedAt), CostPrice: nullInt64(v.CostPrice),
		})
		if err != nil {
			return fmt.Errorf("update variant %s: %w", v.SKU, err)
		}
	}
	return nil
}

// checkSKUs fails with ErrSKUTaken, naming each field, if another product
// of the tenant already uses one of p's SKUs.
func checkSKUs(ctx context.Context, q *catalogdb.Queries, tenant string, p catalogapi.Product) error {
	var errs []kit.FieldError
	for i, v := range p.Variants {
		owner, err := q.SKUOwner(ctx, catalogdb.SKUOwnerParams{TenantID: tenant, Sku: v.SKU})
		if errors.Is(err, sql.ErrNoRows) || owner == p.ID {
			continue
		}
		if err != nil {
			return fmt.Errorf("check SKU %s: %w", v.SKU, err)
		}
		errs = append(errs, kit.FieldError{Field: fmt.Sprintf("variants[%d].sku", i), Message: "SKU is used by another product", Value: v.SKU})
	}
	return kit.Invalid(ErrSKUTaken, errs...)
}

// slugLookups are the two queries settleSlug makes, on products or on
// categories of one tenant.
type slugLookups struct {
	// owner is the ID of the item with slug, or sql.ErrNoRows.
	owner func(ctx context.Context, slug string) (string, error)
	// used lists slug and its numbered forms (slug-2, slug-3…) in use.
	used func(ctx context.Context, slug string) ([]string, error)
}

func productSlugs(q *catalogdb.Queries, tenant string) slugLookups {
	return slugLookups{
		owner: func(ctx context.Context, slug string) (string, error) {
			return q.ProductIDBySlug(ctx, catalogdb.ProductIDBySlugParams{TenantID: tenant, Slug: slug})
		},
		used: func(ctx context.Context, slug string) ([]string, error) {
			return q.ProductSlugs(ctx, catalogdb.ProductSlugsParams{TenantID: tenant, Slug: slug, Prefix: slug + "-%"})
		},
	}
}

func categorySlugs(q *catalogdb.Queries, tenant string) slugLookups {
	return slugLookups{
		owner: func(ctx context.Context, slug string) (string, error) {
			return q.CategoryIDBySlug(ctx, catalogdb.CategoryIDBySlugParams{TenantID: tenant, Slug: slug})
		},
		used: func(ctx context.Context, slug string) ([]string, error) {
			return q.CategorySlugs(ctx, catalogdb.CategorySlugsParams{TenantID: tenant, Slug: slug, Prefix: slug + "-%"})
		},
	}
}

// settleSlug settles the slug of item id: a chosen slug must be free (else
// ErrSlugTaken); a derived one becomes base, base-2, base-3… whichever is.
func settleSlug(ctx context.Context, look slugLookups, id, slug string, chosen bool) (string, error) {
	if chosen {
		owner, err := look.owner(ctx, slug)
		if errors.Is(err, sql.ErrNoRows) || owner == id {
			return slug, nil
		}
		if err != nil {
			return "", fmt.Errorf("check slug %s: %w", slug, err)
		}
		return "", slugTaken(slug)
	}
	taken, err := look.used(ctx, slug)
	if err != nil {
		return "", fmt.Errorf("find free slug for %s: %w", slug, err)
	}
	return nextSlug(slug, taken), nil
}

func slugTaken(slug string) error {
	return &kit.ValidationError{Err: ErrSlugTaken, Fields: []kit.FieldError{{Field: "slug", Message: "slug is used by another item", Value: slug}}}
}

// categoryExists checks a category ID given in a request, failing with a
// validation error on field when the tenant has no such category.
func categoryExists(ctx context.Context, q *catalogdb.Queries, tenant, id, field string) error {
	_, err := q.GetCategory(ctx, catalogdb.GetCategoryParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return kit.Invalid(ErrInvalid, kit.FieldError{Field: field, Message: "no such category", Value: id})
	}
	if err != nil {
		return fmt.Errorf("load category %s: %w", id, err)
	}
	return nil
}

// checkMove checks, in the write transaction of q, that id may move under
// parent: that parent exists and is neither id nor below it (else a
// validation error).
//
// Checking the tree is not enough on PostgreSQL: under read committed two
// moves that together make a cycle (A under B and B under A at once) each
// see the tree without the other and would both commit. So checkMove locks
// (by writing them unchanged) the moved row, parent and every ancestor of
// parent, and checks the tree as read after taking those locks, reading
// again until every category on the path is locked. Any move that could put
// id above parent changes a row on that path, or id's own, so such moves
// meet on a lock: one waits for the other to commit and then reads its
// move. Locking only parent and id would miss a cycle through other
// categories (A under C, below B, and B under D, below A). The rows are
// locked in ID order, so crossing moves queue rather than deadlock; should a
// path change under a move and a deadlock follow, PostgreSQL fails one and
// sqldb.Tx retries it. On SQLite writers are serialised: the locks cost a
// write each and change nothing.
func (s *store) checkMove(ctx context.Context, q *catalogdb.Queries, tenant, id, parent string) error {
	locked := map[string]bool{}
	for {
		all, err := s.categories(ctx, q, tenant)
		if err != nil {
			return err
		}
		var missing []string
		for _, cid := range append(ancestry(all, parent), id) {
			if !locked[cid] {
				missing = append(missing, cid)
			}
		}
		if len(missing) == 0 {
			// all was read with the whole path locked.
			if !slices.ContainsFunc(all, func(c catalogapi.Category) bool { return c.ID == parent }) {
				return kit.Invalid(ErrInvalid, kit.FieldError{Field: "parent_id", Message: "no such category", Value: parent})
			}
			if wouldCycle(all, id, parent) {
				return errCycle(parent)
			}
			return nil
		}
		slices.Sort(missing)
		for _, cid := range missing {
			if _, err := q.LockCategory(ctx, catalogdb.LockCategoryParams{TenantID: tenant, ID: cid}); err != nil {
				return fmt.Errorf("lock category %s: %w", cid, err)
			}
			locked[cid] = true
		}
	}
}

func (s *store) categories(ctx context.Context, q *catalogdb.Queries, tenant string) ([]catalogapi.Category, error) {
	rows, err := q.ListCategories(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	out := make([]catalogapi.Category, len(rows))
	for i, r := range rows {
		out[i] = toCategory(r)
	}
	return out, nil
}

func (s *store) category(ctx context.Context, q *catalogdb.Queries, tenant, id string) (catalogapi.Category, error) {
	r, err := q.GetCategory(ctx, catalogdb.GetCategoryParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return catalogapi.Category{}, ErrCategoryNotFound
	}
	if err != nil {
		return catalogapi.Category{}, fmt.Errorf("load category %s: %w", id, err)
	}
	return toCategory(r), nil
}

func toCategory(r catalogdb.Category) catalogapi.Category {
	return catalogapi.Category{
		ID: r.ID, ParentID: r.ParentID.String, Slug: r.Slug, Name: r.Name, Description: r.Description,
		Position: r.Position, CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt),
	}
}

func insertCategory(ctx context.Context, q *catalogdb.Queries, tenant string, c catalogapi.Category) error {
	err := q.InsertCategory(ctx, catalogdb.InsertCategoryParams{
		TenantID: tenant, ID: c.ID, ParentID: nullString(c.ParentID), Slug: c.Slug, Name: c.Name,
		Description: c.Description, Position: c.Position, CreatedAt: sqldb.Micros(c.CreatedAt), UpdatedAt: sqldb.Micros(c.UpdatedAt),
	})
	if err != nil {
		return fmt.Errorf("insert category %s: %w", c.Slug, err)
	}
	return nil
}

func updateCategory(ctx context.Context, q *catalogdb.Queries, tenant string, c catalogapi.Category) error {
	n, err := q.UpdateCategory(ctx, catalogdb.UpdateCategoryParams{
		TenantID: tenant, ID: c.ID, ParentID: nullString(c.ParentID), Slug: c.Slug, Name: c.Name,
		Description: c.Description, Position: c.Position, UpdatedAt: sqldb.Micros(c.UpdatedAt),
	})
	if err != nil {
		return fmt.Errorf("update category %s: %w", c.ID, err)
	}
	if n == 0 {
		return ErrCategoryNotFound
	}
	return nil
}

// write is the store's Write, retrying the whole operation (reads
// included) when a concurrent writer got there first: a changed product row
// or a unique index hit by a SKU or slug that was free when checked. On
// SQLite writers are serialised and neither happens. After commit the relay
// is woken for the events fn added.
//
// The tenant's cached pages are invalidated after the transaction, also when
// fn succeeded but the commit then failed: a commit that fails (a connection
// lost on the way) may still have gone through, and a needless invalidation
// only costs a rebuilt page. Before the transaction would be too early: a
// reader could cache the old data again before the commit.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q *catalogdb.Queries) error) error {
	const attempts = 3
	var err error
	for range attempts {
		var committing bool // fn succeeded in the last attempt sqldb made
		err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *catalogdb.Queries) error {
			committing = false
			if err := fn(ctx, tx, q); err != nil {
				return err
			}
			committing = true
			return nil
		})
		if err == nil || committing {
			if tenant, terr := tenancy.ID(ctx); terr == nil {
				s.pages.Invalidate(tenant)
			}
		}
		if err == nil || (!errors.Is(err, errStale) && !sqldb.IsUniqueViolation(err)) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

// nullInt64 is an optional integer as a nullable column.
func nullInt64(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}
