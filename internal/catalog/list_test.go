package catalog

import (
	"bytes"
	"database/sql"
	"reflect"
	"slices"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// TestListedProductJSON checks that the public list, which copies stored
// JSON columns into the response, answers the very bytes that encoding the
// decoded catalogapi.ProductList gives, null columns and awkward text included.
func TestListedProductJSON(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[productPage](), reflect.TypeFor[catalogapi.ProductList]()},
		{reflect.TypeFor[listedProduct](), reflect.TypeFor[catalogapi.Product]()},
		{reflect.TypeFor[listedVariant](), reflect.TypeFor[catalogapi.Variant]()},
	} {
		if got, want := jsonFields(pair[0]), jsonFields(pair[1]); !slices.Equal(got, want) {
			t.Errorf("%v encodes fields %q, %v %q", pair[0], got, pair[1], want)
		}
	}

	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		if _, err := s.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		odd, err := s.CreateProduct(ctx, catalogapi.ProductCreate{
			Title:       `Odd <b> & "quoted"`,
			Status:      catalogapi.StatusActive,
			Description: "line\nbreak\t\u2028 é \\ </script>",
			Attributes:  map[string]string{"a&b": `<x> & "y"`, "snow": "☃ 😀", "z": "last", "A": "first"},
			Images:      []catalogapi.Image{{URL: "/media/a.jpg"}, {URL: "https://example.com/b.png?x=1&y=2", Alt: "B & <c>"}},
			Variants: []catalogapi.VariantInput{
				{SKU: "ODD-1", Price: eur(0), Options: map[string]string{"Size": "S&M"}},
				{SKU: "ODD-2", Title: "Big <one>", Price: eur(5), Options: map[string]string{"Size": "L"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		// A JSON column holding null (the service never writes one, but
		// reads tolerate it) shows as [] or {}.
		nulls, err := s.CreateProduct(ctx, catalogapi.ProductCreate{Title: "Nulls", Status: catalogapi.StatusActive,
			Variants: []catalogapi.VariantInput{{SKU: "NULL-1", Price: eur(700)}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`UPDATE products SET options = 'null', attributes = 'null', images = 'null' WHERE id = $1`,
			`UPDATE variants SET options = 'null' WHERE product_id = $1`,
		} {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q, nulls.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}

		seen := map[string]bool{}
		for _, sort := range []Sort{SortNewest, SortPriceAsc, SortPriceDesc, SortTitle} {
			lq := ListQuery{Sort: sort, Limit: 7}
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatalf("%s: too many pages", sort)
				}
				pg, err := s.listProducts(ctx, lq)
				if err != nil {
					t.Fatal(err)
				}
				l, err := pg.productList()
				if err != nil {
					t.Fatal(err)
				}
				got, want := mustEncode(t, pg), mustEncode(t, l)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s page %d:\n got %s\nwant %s", sort, pages, got, want)
				}
				for _, p := range l.Items {
					seen[p.ID] = true
				}
				if lq.Cursor = pg.NextCursor; lq.Cursor == "" {
					break
				}
			}
		}
		if !seen[odd.ID] || !seen[nulls.ID] {
			t.Fatalf("the lists missed the odd or the null product")
		}
		l, err := s.ListProducts(ctx, ListQuery{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p := l.Items[0]; p.ID != nulls.ID || p.Options == nil || p.Attributes == nil || p.Images == nil || p.Variants[0].Options == nil {
			t.Errorf("newest product = %+v, want %s with empty, non-nil collections", p, nulls.ID)
		}
	}, Migrations...)
}

// jsonFields lists the JSON names (with their options) of t's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		out = append(out, t.Field(i).Tag.Get("json"))
	}
	slices.Sort(out)
	return out
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := encodeJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAdminProductsBySKU: the sku filter finds the one product owning the
// SKU, whatever its status, in this store only.
func TestAdminProductsBySKU(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		in := minimal()
		in.Status = catalogapi.StatusDraft
		in.Variants = append(in.Variants, catalogapi.VariantInput{SKU: "MUG-2", Price: eur(1300)})
		p, err := s.CreateProduct(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for sku, want := range map[string]int{"MUG-1": 1, "MUG-2": 1, "MUG-3": 0} {
			l, err := s.AdminProducts(ctx, AdminListQuery{SKU: sku})
			if err != nil || len(l.Items) != want || (want == 1 && l.Items[0].ID != p.ID) {
				t.Errorf("sku %s: %+v, %v", sku, l.Items, err)
			}
		}
		if l, err := s.AdminProducts(ctx, AdminListQuery{SKU: "MUG-1", Status: catalogapi.StatusActive}); err != nil || len(l.Items) != 0 {
			t.Errorf("sku and another status: %+v, %v", l.Items, err)
		}
		if l, err := s.AdminProducts(tenantCtx(t, "other"), AdminListQuery{SKU: "MUG-1"}); err != nil || len(l.Items) != 0 {
			t.Errorf("another store: %+v, %v", l.Items, err)
		}
	}, Migrations...)
}
