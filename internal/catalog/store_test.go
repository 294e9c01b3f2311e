package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// newTestService returns a service on db whose clock moves one millisecond
// per call, so created_at values are distinct and ordered.
func newTestService(t *testing.T, db *sqldb.DB) *Service {
	t.Helper()
	// The page cache is on, as in production, so every test would catch a stale page.
	return newTestServiceConfig(t, db, Config{CacheTTL: time.Minute, CacheBytes: 1 << 20})
}

// newTestServiceConfig is newTestService with cfg.
func newTestServiceConfig(t *testing.T, db *sqldb.DB, cfg Config) *Service {
	t.Helper()
	s, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // some tests write concurrently
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}
	return s
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

type outboxRow struct {
	tenant, subject string
	env             outbox.Envelope
}

// readOutbox returns every tenant's outbox rows, in order.
func readOutbox(t *testing.T, db *sqldb.DB) []outboxRow {
	t.Helper()
	var out []outboxRow
	ctx := sqldb.AllTenants(t.Context())
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT tenant_id, subject, envelope FROM outbox ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r outboxRow
			var raw string
			if err := rows.Scan(&r.tenant, &r.subject, &raw); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &r.env); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rowCounts counts every catalog row and outbox event, all tenants.
func rowCounts(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	ctx := sqldb.AllTenants(t.Context())
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"products", "variants", "categories", "outbox"} {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				return err
			}
			out[table] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStoreProductLifecycle(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "acme")

		p, err := s.CreateProduct(ctx, minimal())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.PublicProduct(ctx, "mug")
		if err != nil || got.ID != p.ID || got.Variants[0].SKU != "MUG-1" || got.PriceFrom != eur(1200) {
			t.Fatalf("get by slug = %+v, %v", got, err)
		}
		if byID, err := s.PublicProduct(ctx, p.ID); err != nil || byID.Slug != "mug" {
			t.Fatalf("get by id = %+v, %v", byID, err)
		}
		if !got.CreatedAt.Equal(p.CreatedAt) || !got.UpdatedAt.Equal(p.UpdatedAt) {
			t.Errorf("times changed in the round trip: %v/%v vs %v/%v", got.CreatedAt, got.UpdatedAt, p.CreatedAt, p.UpdatedAt)
		}

		// Slugs clash: -2, -3.
		for i, want := range []string{"mug-2", "mug-3"} {
			in := minimal()
			in.Variants[0].SKU = fmt.Sprintf("MUG-X%d", i)
			q, err := s.CreateProduct(ctx, in)
			if err != nil || q.Slug != want {
				t.Fatalf("slug = %q, %v; want %s", q.Slug, err, want)
			}
		}
		// A chosen slug that is taken is an error, not renamed.
		in := minimal()
		in.Slug, in.Variants[0].SKU = "mug-2", "MUG-Y"
		if _, err := s.CreateProduct(ctx, in); !errors.Is(err, ErrSlugTaken) {
			t.Errorf("taken chosen slug: err = %v, want ErrSlugTaken", err)
		}

		// Variants replaced by SKU, keeping IDs.
		title := "Big mug"
		up, err := s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Title: &title, Variants: []catalogapi.VariantInput{
			{SKU: "MUG-2", Price: eur(1500)}, {SKU: "MUG-1", Price: eur(1000)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		reread, err := s.Product(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if reread.Title != "Big mug" || reread.Slug != "mug" || len(reread.Variants) != 2 ||
			reread.Variants[1].ID != p.Variants[0].ID || reread.Variants[0].SKU != "MUG-2" || reread.PriceFrom.Amount != 1000 {
			t.Errorf("after patch: %+v", reread)
		}
		if !reread.UpdatedAt.Equal(up.UpdatedAt) {
			t.Errorf("updated_at %v, stored %v", up.UpdatedAt, reread.UpdatedAt)
		}

		// Archive: gone from the public API, still there for admins.
		if _, err := s.ArchiveProduct(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublicProduct(ctx, "mug"); !errors.Is(err, ErrNotFound) {
			t.Errorf("archived product public: err = %v", err)
		}
		if a, err := s.Product(ctx, p.ID); err != nil || a.Status != catalogapi.StatusArchived {
			t.Errorf("admin get archived = %v, %v", a.Status, err)
		}
		// Archiving again is a no-op without a second event.
		if _, err := s.ArchiveProduct(ctx, p.ID); err != nil {
			t.Fatal(err)
		}

		var subjects []string
		for _, r := range readOutbox(t, db) {
			if r.tenant != "acme" || r.env.Tenant != "acme" || r.env.Source != "catalog" || r.env.Type != r.subject {
				t.Errorf("event %+v: wrong tenant, source or type", r)
			}
			subjects = append(subjects, r.subject)
		}
		want := []string{catalogapi.SubjectProductCreated, catalogapi.SubjectProductCreated, catalogapi.SubjectProductCreated,
			catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived}
		if !slices.Equal(subjects, want) {
			t.Errorf("events = %v, want %v", subjects, want)
		}
		last := readOutbox(t, db)[4]
		var data catalogapi.ProductArchived
		if err := json.Unmarshal(last.env.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Product.ID != p.ID || data.Product.Status != catalogapi.StatusArchived || len(data.Product.Variants) != 2 {
			t.Errorf("archived event data = %+v", data.Product)
		}
	}, Migrations...)
}

func TestStoreSKUUniqueness(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
		if _, err := s.CreateProduct(acme, minimal()); err != nil {
			t.Fatal(err)
		}
		// Same SKU in another tenant is fine.
		if _, err := s.CreateProduct(globex, minimal()); err != nil {
			t.Fatalf("same SKU in another tenant: %v", err)
		}
		before := rowCounts(t, db)
		in := minimal()
		in.Title = "Cup"
		in.Variants = append([]catalogapi.VariantInput{{SKU: "CUP-1", Price: eur(1)}}, in.Variants...)
		_, err := s.CreateProduct(acme, in)
		var ve *kit.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrSKUTaken) || ve.Fields[0].Field != "variants[1].sku" {
			t.Fatalf("err = %v, want ErrSKUTaken on variants[1].sku", err)
		}
		if after := rowCounts(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("rows written on a rejected create: %v -> %v", before, after)
		}
		// A patch taking another product's SKU is refused too.
		cup, err := s.CreateProduct(acme, catalogapi.ProductCreate{Title: "Cup", Variants: []catalogapi.VariantInput{{SKU: "CUP-1", Price: eur(1)}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateProduct(acme, cup.ID, catalogapi.ProductUpdate{Variants: []catalogapi.VariantInput{{SKU: "MUG-1", Price: eur(1)}}})
		if !errors.Is(err, ErrSKUTaken) {
			t.Errorf("patch to a taken SKU: err = %v", err)
		}
	}, Migrations...)
}

func TestStoreTenantIsolation(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
		p, err := s.CreateProduct(acme, minimal())
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateCategory(acme, catalogapi.CategoryCreate{Name: "Mugs"})
		if err != nil {
			t.Fatal(err)
		}
		title := "Stolen"
		if _, err := s.PublicProduct(globex, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex reads acme's product: %v", err)
		}
		if _, err := s.UpdateProduct(globex, p.ID, catalogapi.ProductUpdate{Title: &title}); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex patches acme's product: %v", err)
		}
		if _, err := s.ArchiveProduct(globex, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex archives acme's product: %v", err)
		}
		if err := s.DeleteCategory(globex, c.ID); !errors.Is(err, ErrCategoryNotFound) {
			t.Errorf("globex deletes acme's category: %v", err)
		}
		// Nor can globex point its product at acme's category.
		in := minimal()
		in.CategoryID = c.ID
		if _, err := s.CreateProduct(globex, in); !errors.Is(err, ErrInvalid) {
			t.Errorf("globex uses acme's category: %v", err)
		}
		if l, err := s.ListProducts(globex, ListQuery{}); err != nil || len(l.Items) != 0 {
			t.Errorf("globex lists %d products, %v", len(l.Items), err)
		}
		if got, _ := s.Product(acme, p.ID); got.Title != "Mug" {
			t.Errorf("acme's product changed: %q", got.Title)
		}
	}, Migrations...)
}

// seedList creates products with known prices and titles in a small tree:
// coffee > espresso, and tea.
func seedList(t *testing.T, s *Service, ctx context.Context) (coffee, espresso, tea catalogapi.Category, all []catalogapi.Product) {
	t.Helper()
	var err error
	if coffee, err = s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Coffee"}); err != nil {
		t.Fatal(err)
	}
	if espresso, err = s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Espresso", ParentID: coffee.ID}); err != nil {
		t.Fatal(err)
	}
	if tea, err = s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Tea"}); err != nil {
		t.Fatal(err)
	}
	cats := []string{coffee.ID, espresso.ID, tea.ID, ""}
	for i := range 13 {
		status := catalogapi.StatusActive
		if i == 5 {
			status = catalogapi.StatusDraft // never listed publicly
		}
		p, err := s.CreateProduct(ctx, catalogapi.ProductCreate{
			Title:      fmt.Sprintf("Product %c", 'A'+(i*7)%13), // titles not in creation order
			Status:     status,
			CategoryID: cats[i%4],
			Variants: []catalogapi.VariantInput{
				{SKU: fmt.Sprintf("P%d-A", i), Price: eur(int64(1000 + (i%5)*100)), Options: map[string]string{"Size": "S"}},
				{SKU: fmt.Sprintf("P%d-B", i), Price: eur(5000), Options: map[string]string{"Size": "L"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if status == catalogapi.StatusActive {
			all = append(all, p)
		}
	}
	return coffee, espresso, tea, all
}

func listAll(t *testing.T, s *Service, ctx context.Context, lq ListQuery) []catalogapi.Product {
	t.Helper()
	var out []catalogapi.Product
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("pagination does not end")
		}
		l, err := s.ListProducts(ctx, lq)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > max(lq.Limit, 0) && lq.Limit > 0 {
			t.Fatalf("page of %d items, limit %d", len(l.Items), lq.Limit)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out
		}
		lq.Cursor = l.NextCursor
	}
}

func TestStoreListing(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		coffee, espresso, tea, all := seedList(t, s, ctx)
		// Another tenant's products never show up.
		if _, err := s.CreateProduct(tenantCtx(t, "acme"), minimal()); err != nil {
			t.Fatal(err)
		}

		ids := func(ps []catalogapi.Product) []string {
			out := make([]string, len(ps))
			for i, p := range ps {
				out[i] = p.ID
			}
			return out
		}
		sorted := func(less func(a, b catalogapi.Product) bool, keep func(catalogapi.Product) bool) []string {
			var ps []catalogapi.Product
			for _, p := range all {
				if keep == nil || keep(p) {
					ps = append(ps, p)
				}
			}
			sort.SliceStable(ps, func(i, j int) bool { return less(ps[i], ps[j]) })
			return ids(ps)
		}
		newest := func(a, b catalogapi.Product) bool { return a.CreatedAt.After(b.CreatedAt) }
		byPrice := func(a, b catalogapi.Product) bool {
			if a.PriceFrom.Amount != b.PriceFrom.Amount {
				return a.PriceFrom.Amount < b.PriceFrom.Amount
			}
			return a.ID < b.ID
		}
		byPriceDesc := func(a, b catalogapi.Product) bool {
			if a.PriceFrom.Amount != b.PriceFrom.Amount {
				return a.PriceFrom.Amount > b.PriceFrom.Amount
			}
			return a.ID > b.ID
		}
		byTitle := func(a, b catalogapi.Product) bool { return a.Title < b.Title }
		i64 := func(n int64) *int64 { return &n }
		inCoffee := func(p catalogapi.Product) bool { return p.CategoryID == coffee.ID || p.CategoryID == espresso.ID }

		tests := []struct {
			name string
			lq   ListQuery
			want []string
		}{
			{"newest default", ListQuery{Limit: 5}, sorted(newest, nil)},
			{"price asc", ListQuery{Limit: 4, Sort: SortPriceAsc}, sorted(byPrice, nil)},
			{"price desc", ListQuery{Limit: 3, Sort: SortPriceDesc}, sorted(byPriceDesc, nil)},
			{"title", ListQuery{Limit: 2, Sort: SortTitle}, sorted(byTitle, nil)},
			{"one page", ListQuery{Limit: 100}, sorted(newest, nil)},
			{"category with descendants, by slug", ListQuery{Limit: 2, Category: "coffee"}, sorted(newest, inCoffee)},
			{"leaf category by id", ListQuery{Limit: 2, Category: tea.ID}, sorted(newest, func(p catalogapi.Product) bool { return p.CategoryID == tea.ID })},
			{"unknown category", ListQuery{Category: "nope"}, nil},
			{"price range on lowest price", ListQuery{Limit: 2, MinPrice: i64(1100), MaxPrice: i64(1300), Sort: SortPriceAsc},
				sorted(byPrice, func(p catalogapi.Product) bool { return p.PriceFrom.Amount >= 1100 && p.PriceFrom.Amount <= 1300 })},
			{"min only", ListQuery{MinPrice: i64(1400)}, sorted(newest, func(p catalogapi.Product) bool { return p.PriceFrom.Amount >= 1400 })},
			{"no match", ListQuery{MaxPrice: i64(999)}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := ids(listAll(t, s, ctx, tt.lq))
				if !slices.Equal(got, tt.want) {
					t.Errorf("got  %v\nwant %v", got, tt.want)
				}
			})
		}

		t.Run("variants complete and ordered", func(t *testing.T) {
			l, err := s.ListProducts(ctx, ListQuery{Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range l.Items {
				if len(p.Variants) != 2 || p.Variants[0].Options["Size"] != "S" || p.Variants[1].Price.Amount != 5000 {
					t.Errorf("variants of %s = %+v", p.Title, p.Variants)
				}
			}
		})
		t.Run("bad cursor", func(t *testing.T) {
			l, err := s.ListProducts(ctx, ListQuery{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, lq := range []ListQuery{{Cursor: "garbage"}, {Cursor: l.NextCursor, Sort: SortTitle}} {
				if _, err := s.ListProducts(ctx, lq); !errors.Is(err, kit.ErrInvalidCursor) {
					t.Errorf("ListProducts(%+v) err = %v", lq, err)
				}
			}
		})
		t.Run("admin list sees drafts", func(t *testing.T) {
			var n, drafts int
			aq := AdminListQuery{Limit: 4}
			for {
				l, err := s.AdminProducts(ctx, aq)
				if err != nil {
					t.Fatal(err)
				}
				n += len(l.Items)
				if l.NextCursor == "" {
					break
				}
				aq.Cursor = l.NextCursor
			}
			l, err := s.AdminProducts(ctx, AdminListQuery{Status: catalogapi.StatusDraft})
			if err != nil {
				t.Fatal(err)
			}
			drafts = len(l.Items)
			if n != len(all)+1 || drafts != 1 {
				t.Errorf("admin list: %d products, %d drafts; want %d and 1", n, drafts, len(all)+1)
			}
		})
	}, Migrations...)
}

func TestStoreCategories(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		coffee, espresso, tea, _ := seedList(t, s, ctx)

		tree, err := s.CategoryTree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tree) != 2 || tree[0].Slug != "coffee" || len(tree[0].Children) != 1 || tree[0].Children[0].ID != espresso.ID {
			t.Errorf("tree = %+v", tree)
		}
		if c, err := s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Coffee"}); err != nil || c.Slug != "coffee-2" {
			t.Errorf("second Coffee: slug %q, %v", c.Slug, err)
		}
		if _, err := s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "X", ParentID: "nope"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown parent: %v", err)
		}
		if _, err := s.UpdateCategory(ctx, coffee.ID, catalogapi.CategoryUpdate{ParentID: &espresso.ID}); !errors.Is(err, ErrCategoryCycle) {
			t.Errorf("cycle: %v", err)
		}
		if err := s.DeleteCategory(ctx, coffee.ID); !errors.Is(err, ErrCategoryHasChildren) {
			t.Errorf("delete with children: %v", err)
		}
		if err := s.DeleteCategory(ctx, tea.ID); !errors.Is(err, ErrCategoryInUse) {
			t.Errorf("delete with products: %v", err)
		}
		root := ""
		moved, err := s.UpdateCategory(ctx, espresso.ID, catalogapi.CategoryUpdate{ParentID: &root})
		if err != nil || moved.ParentID != "" {
			t.Fatalf("move to root: %+v, %v", moved, err)
		}
		empty, err := s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Empty"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCategory(ctx, empty.ID); err != nil {
			t.Errorf("delete empty category: %v", err)
		}
		if _, err := s.Category(ctx, empty.ID); !errors.Is(err, ErrCategoryNotFound) {
			t.Errorf("deleted category still there: %v", err)
		}
	}, Migrations...)
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		n, err := s.SeedDemo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n < 40 {
			t.Errorf("seeded %d products, want 40+", n)
		}
		if again, err := s.SeedDemo(ctx); err != nil || again != 0 {
			t.Errorf("second seed created %d, %v", again, err)
		}
		all := listAll(t, s, ctx, ListQuery{Limit: 100})
		if len(all) != n {
			t.Errorf("%d active products listed, seeded %d", len(all), n)
		}
		for _, p := range all {
			if len(p.Variants) < 1 || len(p.Variants) > 4 || p.PriceFrom.Currency != "EUR" || p.Status != catalogapi.StatusActive || p.CategoryID == "" {
				t.Errorf("demo product %s: %d variants, %v, %s, category %q", p.Title, len(p.Variants), p.PriceFrom, p.Status, p.CategoryID)
			}
		}
		tree, err := s.CategoryTree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		children := 0
		for _, c := range tree {
			children += len(c.Children)
		}
		if len(tree) < 3 || children == 0 {
			t.Errorf("tree has %d roots and %d children", len(tree), children)
		}
		if espresso := listAll(t, s, ctx, ListQuery{Category: "coffee"}); len(espresso) < 10 {
			t.Errorf("coffee (with children) lists %d products", len(espresso))
		}
		// Another tenant gets its own shop.
		if n2, err := s.SeedDemo(tenantCtx(t, "acme")); err != nil || n2 != n {
			t.Errorf("acme seed: %d, %v", n2, err)
		}
	}, Migrations...)
}

// TestStoreConcurrentMovesNoCycle moves categories into each other at the
// same time: one move must fail with ErrCategoryCycle, and the tree must be
// left without a cycle. The second case makes the cycle through categories
// neither move names (a under c, below b; b under d, below a).
func TestStoreConcurrentMovesNoCycle(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		create := func(name, parent string) string {
			t.Helper()
			c, err := s.CreateCategory(ctx, catalogapi.CategoryCreate{Name: name, ParentID: parent})
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		for i := range 12 {
			a, b := create(fmt.Sprintf("A %d", i), ""), create(fmt.Sprintf("B %d", i), "")
			c, d := create(fmt.Sprintf("C %d", i), b), create(fmt.Sprintf("D %d", i), a)
			moves := [2][2]string{{a, b}, {b, a}} // {category, new parent}
			if i%2 == 1 {
				moves = [2][2]string{{a, c}, {b, d}}
			}
			var wg sync.WaitGroup
			var errs [2]error
			start := make(chan struct{})
			for j, m := range moves {
				wg.Go(func() {
					<-start
					_, errs[j] = s.UpdateCategory(ctx, m[0], catalogapi.CategoryUpdate{ParentID: &m[1]})
				})
			}
			close(start)
			wg.Wait()
			cycles := 0
			for _, err := range errs {
				switch {
				case errors.Is(err, ErrCategoryCycle):
					cycles++
				case err != nil:
					t.Fatalf("round %d: %v", i, err)
				}
			}
			if cycles != 1 {
				t.Errorf("round %d: %d moves refused as cycles, want 1 (errors %v)", i, cycles, errs)
			}
			all, err := s.Categories(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, cat := range all {
				if cat.ParentID != "" && wouldCycle(all, cat.ID, cat.ParentID) {
					t.Fatalf("round %d: category %s is below itself", i, cat.Name)
				}
			}
		}
	}, Migrations...)
}

// TestStoreListVariantsComplete checks that every public sort, with and
// without filters, lists each product with all its variants: each page is
// two queries (List<Sort> and List<Sort>Variants) that must select the same
// products, and a difference shows here as a product missing variants.
func TestStoreListVariantsComplete(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		ctx := tenantCtx(t, "default")
		if _, err := s.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		// Price ties across pages, and a draft the lists must skip.
		for i := range 5 {
			status := catalogapi.StatusActive
			if i == 2 {
				status = catalogapi.StatusDraft
			}
			_, err := s.CreateProduct(ctx, catalogapi.ProductCreate{Title: fmt.Sprintf("Tie %d", i), Status: status,
				Variants: []catalogapi.VariantInput{{SKU: fmt.Sprintf("TIE-%d-A", i), Price: eur(1900)}, {SKU: fmt.Sprintf("TIE-%d-B", i), Price: eur(2900)}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		i64 := func(n int64) *int64 { return &n }
		filters := []struct {
			name string
			lq   ListQuery
		}{
			{"all", ListQuery{}},
			{"category with descendants", ListQuery{Category: "coffee"}},
			{"price range", ListQuery{MinPrice: i64(1000), MaxPrice: i64(5000)}},
			{"category and price", ListQuery{Category: "tea", MinPrice: i64(600)}},
		}
		for _, sort := range []Sort{SortNewest, SortPriceAsc, SortPriceDesc, SortTitle} {
			for _, f := range filters {
				t.Run(string(sort)+"/"+f.name, func(t *testing.T) {
					lq := f.lq
					lq.Sort, lq.Limit = sort, 3
					got := listAll(t, s, ctx, lq)
					if len(got) <= lq.Limit {
						t.Fatalf("%d products: too few for more than one page", len(got))
					}
					for _, p := range got {
						want, err := s.Product(ctx, p.ID)
						if err != nil {
							t.Fatal(err)
						}
						if g, w := mustEncode(t, p), mustEncode(t, want); !bytes.Equal(g, w) {
							t.Errorf("listed %s differs from its admin get:\n got %s\nwant %s", p.Title, g, w)
						}
					}
				})
			}
		}
	}, Migrations...)
}

// TestStoreKeysetTies pages through products that share every sort key
// (created_at, price, title): the ID tie-break must lose and repeat none.
func TestStoreKeysetTies(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db)
		at := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return at }
		ctx := tenantCtx(t, "default")
		var active, every []string
		for i := range 9 {
			status := catalogapi.StatusActive
			if i%4 == 3 {
				status = catalogapi.StatusDraft
			}
			p, err := s.CreateProduct(ctx, catalogapi.ProductCreate{Title: "Same", Status: status,
				Variants: []catalogapi.VariantInput{{SKU: fmt.Sprintf("SAME-%d", i), Price: eur(500)}}})
			if err != nil {
				t.Fatal(err)
			}
			if !p.CreatedAt.Equal(at) {
				t.Fatalf("created_at %v, want %v", p.CreatedAt, at)
			}
			every = append(every, p.ID)
			if status == catalogapi.StatusActive {
				active = append(active, p.ID)
			}
		}
		asc := slices.Sorted(slices.Values(active))
		desc := slices.Clone(asc)
		slices.Reverse(desc)
		ids := func(ps []catalogapi.Product) []string {
			out := make([]string, len(ps))
			for i, p := range ps {
				out[i] = p.ID
			}
			return out
		}
		for _, tt := range []struct {
			sort Sort
			want []string
		}{
			{SortNewest, desc},
			{SortPriceAsc, asc},
			{SortPriceDesc, desc},
			{SortTitle, asc},
		} {
			if got := ids(listAll(t, s, ctx, ListQuery{Sort: tt.sort, Limit: 2})); !slices.Equal(got, tt.want) {
				t.Errorf("%s:\n got %v\nwant %v", tt.sort, got, tt.want)
			}
		}

		var got []string
		aq := AdminListQuery{Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("admin pagination does not end")
			}
			l, err := s.AdminProducts(ctx, aq)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(l.Items)...)
			if aq.Cursor = l.NextCursor; aq.Cursor == "" {
				break
			}
		}
		want := slices.Sorted(slices.Values(every))
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("admin:\n got %v\nwant %v", got, want)
		}
	}, Migrations...)
}
