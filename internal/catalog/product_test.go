package catalog

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/text"
)

func seqIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("id-%d", n) }
}

func eur(c int64) money.Money { return money.Money{Amount: c, Currency: "EUR"} }

func TestSlugify(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Mug", "mug"},
		{"  Café Crème — 250 g ", "cafe-creme-250-g"},
		{"Straße & Söhne", "strasse-sohne"},
		{"Honduras Santa Bárbara", "honduras-santa-barbara"},
		{"!!!", "product"},
		{"日本茶", "product"},
		{"a--b__c", "a-b-c"},
	}
	for _, tt := range tests {
		if got := Slugify(tt.in, "product"); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := Slugify(string(slices.Repeat([]byte("ab "), 60)), "x")
	if len(long) > 80 || text.Slug(long) != nil {
		t.Errorf("long slug %q: len %d, valid %v", long, len(long), text.Slug(long))
	}
}

func TestNextSlug(t *testing.T) {
	t.Parallel()
	tests := []struct {
		taken []string
		want  string
	}{
		{nil, "mug"},
		{[]string{"mug"}, "mug-2"},
		{[]string{"mug", "mug-2", "mug-3"}, "mug-4"},
		{[]string{"mug", "mug-3"}, "mug-2"},
		{[]string{"mug-2"}, "mug"},
		{[]string{"mug", "mug-large"}, "mug-2"},
	}
	for _, tt := range tests {
		if got := nextSlug("mug", tt.taken); got != tt.want {
			t.Errorf("nextSlug(mug, %v) = %q, want %q", tt.taken, got, tt.want)
		}
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	const d, a, x = catalogapi.StatusDraft, catalogapi.StatusActive, catalogapi.StatusArchived
	tests := []struct {
		from, to catalogapi.Status
		want     bool
	}{
		{d, a, true}, {a, d, true}, {d, x, true}, {a, x, true},
		{x, d, true}, {x, a, false}, {x, x, true}, {a, a, true},
		{d, "deleted", false}, {"bogus", a, false},
	}
	for _, tt := range tests {
		if got := CanTransition(tt.from, tt.to); got != tt.want {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func minimal() catalogapi.ProductCreate {
	return catalogapi.ProductCreate{Title: "Mug", Status: catalogapi.StatusActive,
		Variants: []catalogapi.VariantInput{{SKU: "MUG-1", Price: eur(1200)}}}
}

func TestNewProductDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	p, err := newProduct(catalogapi.ProductCreate{Title: " Mug ", Variants: []catalogapi.VariantInput{
		{SKU: "M-S", Price: eur(1500), Options: map[string]string{"Size": "S", "Color": "Red"}},
		{SKU: "M-L", Price: eur(1200), Options: map[string]string{"Size": "L", "Color": "Red"}},
	}}, seqIDs(), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Mug" || p.Slug != "mug" || p.Status != catalogapi.StatusDraft {
		t.Errorf("title, slug, status = %q, %q, %q", p.Title, p.Slug, p.Status)
	}
	if p.PriceFrom != eur(1200) {
		t.Errorf("price_from = %v, want EUR 12.00", p.PriceFrom)
	}
	wantOpts := []catalogapi.Option{{Name: "Color", Values: []string{"Red"}}, {Name: "Size", Values: []string{"S", "L"}}}
	if fmt.Sprint(p.Options) != fmt.Sprint(wantOpts) {
		t.Errorf("options = %v, want %v", p.Options, wantOpts)
	}
	if p.Variants[0].Title != "Red / S" {
		t.Errorf("variant title = %q", p.Variants[0].Title)
	}
	if !p.CreatedAt.Equal(now.Truncate(time.Microsecond)) || p.Attributes == nil || p.Images == nil {
		t.Errorf("created_at %v, attributes %v, images %v", p.CreatedAt, p.Attributes, p.Images)
	}
}

func TestValidateProduct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*catalogapi.ProductCreate)
		field string // "" means valid
	}{
		{"minimal", func(*catalogapi.ProductCreate) {}, ""},
		{"negative price", func(c *catalogapi.ProductCreate) { c.Variants[0].Price.Amount = -1 }, "variants[0].price.amount"},
		{"huge price", func(c *catalogapi.ProductCreate) { c.Variants[0].Price.Amount = MaxPrice + 1 }, "variants[0].price.amount"},
		{"unknown currency", func(c *catalogapi.ProductCreate) { c.Variants[0].Price.Currency = "EUX" }, "variants[0].price.currency"},
		{"empty sku", func(c *catalogapi.ProductCreate) { c.Variants[0].SKU = "" }, "variants[0].sku"},
		{"sku with space", func(c *catalogapi.ProductCreate) { c.Variants[0].SKU = "MUG 1" }, "variants[0].sku"},
		{"duplicate sku", func(c *catalogapi.ProductCreate) {
			c.Variants = append(c.Variants, catalogapi.VariantInput{SKU: "MUG-1", Price: eur(1)})
		}, "variants[1].sku"},
		{"mixed currencies", func(c *catalogapi.ProductCreate) {
			c.Variants = append(c.Variants, catalogapi.VariantInput{SKU: "MUG-2", Price: money.Money{Amount: 1, Currency: "USD"}})
		}, "variants[1].price.currency"},
		{"no variants", func(c *catalogapi.ProductCreate) { c.Variants = nil }, "variants"},
		{"blank title", func(c *catalogapi.ProductCreate) { c.Title = "   " }, "title"},
		{"bad slug", func(c *catalogapi.ProductCreate) { c.Slug = "Bad Slug" }, "slug"},
		{"archived on create", func(c *catalogapi.ProductCreate) { c.Status = catalogapi.StatusArchived }, "status"},
		{"undeclared option", func(c *catalogapi.ProductCreate) {
			c.Options = []catalogapi.Option{{Name: "Size", Values: []string{"S"}}}
			c.Variants[0].Options = map[string]string{"Size": "XL"}
		}, "variants[0].options"},
		{"same options twice", func(c *catalogapi.ProductCreate) {
			c.Variants = []catalogapi.VariantInput{
				{SKU: "A", Price: eur(1), Options: map[string]string{"Size": "S"}},
				{SKU: "B", Price: eur(1), Options: map[string]string{"Size": "S"}},
			}
		}, "variants[1].options"},
		{"bad image", func(c *catalogapi.ProductCreate) {
			c.Images = []catalogapi.Image{{URL: "javascript:alert(1)"}}
		}, "images[0].url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := minimal()
			tt.edit(&in)
			_, err := newProduct(in, seqIDs(), time.Now())
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *kit.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if !slices.ContainsFunc(ve.Fields, func(f kit.FieldError) bool { return f.Field == tt.field }) {
				t.Errorf("fields = %+v, want one named %s", ve.Fields, tt.field)
			}
		})
	}
}

func TestPatchProduct(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ids := seqIDs()
	in := minimal()
	in.Variants = append(in.Variants, catalogapi.VariantInput{SKU: "MUG-2", Price: eur(900)})
	p, err := newProduct(in, ids, t0)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no-op", func(t *testing.T) {
		title := "Mug"
		got, changed, err := patchProduct(p, catalogapi.ProductUpdate{Title: &title}, ids, t0.Add(time.Hour))
		if err != nil || changed || !got.UpdatedAt.Equal(t0) {
			t.Errorf("changed %v, updated_at %v, err %v; want unchanged", changed, got.UpdatedAt, err)
		}
	})
	t.Run("variants keep ids by sku", func(t *testing.T) {
		got, changed, err := patchProduct(p, catalogapi.ProductUpdate{Variants: []catalogapi.VariantInput{
			{SKU: "MUG-2", Price: eur(800)}, {SKU: "MUG-3", Price: eur(1000)},
		}}, ids, t0.Add(time.Hour))
		if err != nil || !changed {
			t.Fatalf("changed %v, err %v", changed, err)
		}
		if got.Variants[0].ID != p.Variants[1].ID {
			t.Errorf("MUG-2 id = %s, want kept %s", got.Variants[0].ID, p.Variants[1].ID)
		}
		if got.Variants[1].ID == p.Variants[0].ID || got.Variants[1].ID == p.Variants[1].ID {
			t.Errorf("MUG-3 reused an id: %s", got.Variants[1].ID)
		}
		if got.PriceFrom.Amount != 800 || !got.UpdatedAt.After(t0) {
			t.Errorf("price_from %v, updated_at %v", got.PriceFrom, got.UpdatedAt)
		}
		if p.Variants[1].Price.Amount != 900 {
			t.Error("patch changed the original product")
		}
	})
	t.Run("archived to active refused", func(t *testing.T) {
		archived, active := catalogapi.StatusArchived, catalogapi.StatusActive
		a, _, err := patchProduct(p, catalogapi.ProductUpdate{Status: &archived}, ids, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := patchProduct(a, catalogapi.ProductUpdate{Status: &active}, ids, t0.Add(2*time.Hour)); !errors.Is(err, ErrTransition) {
			t.Errorf("err = %v, want ErrTransition", err)
		}
	})
	t.Run("clock behind still moves the version", func(t *testing.T) {
		title := "Big mug"
		got, _, err := patchProduct(p, catalogapi.ProductUpdate{Title: &title}, ids, t0.Add(-time.Hour))
		if err != nil || !got.UpdatedAt.After(p.UpdatedAt) {
			t.Errorf("updated_at %v not after %v (err %v)", got.UpdatedAt, p.UpdatedAt, err)
		}
	})
}

func TestCursor(t *testing.T) {
	t.Parallel()
	c := keyset{Sort: SortTitle, T: "Mug", ID: "abc"}
	got, err := parseKeyset(c.encode(), SortTitle)
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{"!!", "bm90IGpzb24", keyset{Sort: SortTitle}.encode(), c.encode() + "x"} {
		if _, err := parseKeyset(bad, SortTitle); !errors.Is(err, kit.ErrInvalidCursor) {
			t.Errorf("parseKeyset(%q) err = %v, want ErrInvalidCursor", bad, err)
		}
	}
	if _, err := parseKeyset(c.encode(), SortNewest); !errors.Is(err, kit.ErrInvalidCursor) {
		t.Errorf("cursor of another sort accepted: %v", err)
	}
}

func TestCategoryTree(t *testing.T) {
	t.Parallel()
	flat := []catalogapi.Category{
		{ID: "coffee"}, {ID: "espresso", ParentID: "coffee"}, {ID: "tea"},
		{ID: "filter", ParentID: "coffee"}, {ID: "ristretto", ParentID: "espresso"},
	}
	tree := buildTree(flat)
	if len(tree) != 2 || tree[0].ID != "coffee" || len(tree[0].Children) != 2 || tree[0].Children[0].Children[0].ID != "ristretto" {
		t.Errorf("tree = %+v", tree)
	}
	tests := []struct {
		id, parent string
		want       bool
	}{
		{"tea", "coffee", false},
		{"coffee", "ristretto", true},
		{"coffee", "coffee", true},
		{"espresso", "filter", false},
		{"espresso", "", false},
	}
	for _, tt := range tests {
		if got := wouldCycle(flat, tt.id, tt.parent); got != tt.want {
			t.Errorf("wouldCycle(%s under %s) = %v, want %v", tt.id, tt.parent, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{Paging: kit.Paging{PageSize: 20, MaxPageSize: 100}}, true},
		{Config{Paging: kit.Paging{PageSize: 0, MaxPageSize: 100}}, false},
		{Config{Paging: kit.Paging{PageSize: 200, MaxPageSize: 100}}, false},
		{Config{Paging: kit.Paging{PageSize: 20, MaxPageSize: 5000}}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tt.cfg, err, tt.ok)
		}
	}
}

// TestCostPrice: a variant's cost price is kept, changed and removed by
// staff, and carried in product events; public answers never show it.
func TestCostPrice(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		cost := int64(450)
		p, err := s.CreateProduct(ctx, catalogapi.ProductCreate{Title: "Mug", Status: catalogapi.StatusActive,
			Variants: []catalogapi.VariantInput{{SKU: "MUG-C", Price: eur(1200), CostPrice: &cost}, {SKU: "MUG-D", Price: eur(1300)}}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Product(ctx, p.ID); err != nil || got.Variants[0].CostPrice == nil || *got.Variants[0].CostPrice != 450 || got.Variants[1].CostPrice != nil {
			t.Fatalf("staff read: %+v, %v", got.Variants, err)
		}
		if pub, err := s.PublicProduct(ctx, p.Slug); err != nil || pub.Variants[0].CostPrice != nil {
			t.Fatalf("public read: %+v, %v", pub.Variants, err)
		}
		// The staff list carries it too (an export reads it), the public
		// list never.
		if l, err := s.AdminProducts(ctx, AdminListQuery{}); err != nil || len(l.Items) != 1 ||
			l.Items[0].Variants[0].CostPrice == nil || *l.Items[0].Variants[0].CostPrice != 450 || l.Items[0].Variants[1].CostPrice != nil {
			t.Fatalf("staff list: %+v, %v", l.Items, err)
		}
		if l, err := s.ListProducts(ctx, ListQuery{}); err != nil || len(l.Items) != 1 || l.Items[0].Variants[0].CostPrice != nil {
			t.Fatalf("public list: %+v, %v", l.Items, err)
		}
		other := int64(500)
		vs := []catalogapi.VariantInput{{SKU: "MUG-C", Price: eur(1200)}, {SKU: "MUG-D", Price: eur(1300), CostPrice: &other}}
		up, err := s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Variants: vs})
		if err != nil || up.Variants[0].CostPrice != nil || up.Variants[1].CostPrice == nil || *up.Variants[1].CostPrice != 500 {
			t.Fatalf("update: %+v, %v", up.Variants, err)
		}
		if got, _ := s.Product(ctx, p.ID); got.Variants[0].CostPrice != nil || *got.Variants[1].CostPrice != 500 {
			t.Fatalf("after the update: %+v", got.Variants)
		}
		var seen []int64
		all := sqldb.AllTenants(t.Context())
		err = db.ReadTx(all, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(all, `SELECT envelope FROM outbox ORDER BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var raw string
				var env outbox.Envelope
				var data catalogapi.ProductUpdated
				if err := rows.Scan(&raw); err != nil {
					return err
				}
				if err := json.Unmarshal([]byte(raw), &env); err != nil {
					return err
				}
				if err := json.Unmarshal(env.Data, &data); err != nil {
					return err
				}
				for _, v := range data.Product.Variants {
					if v.CostPrice != nil {
						seen = append(seen, *v.CostPrice)
					}
				}
			}
			return rows.Err()
		})
		if err != nil || !slices.Equal(seen, []int64{450, 500}) {
			t.Fatalf("cost prices in events: %v, %v", seen, err)
		}
	}, Migrations...)
}
