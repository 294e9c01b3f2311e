package search

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/search/searchapi"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newService(t *testing.T, db *sqldb.DB, dir string, deps ...func(*Deps)) *Service {
	t.Helper()
	return newServiceWith(t, db, Config{IndexDir: dir}, deps...)
}

func newServiceWith(t *testing.T, db *sqldb.DB, cfg Config, deps ...func(*Deps)) *Service {
	t.Helper()
	d := Deps{Deps: kit.Deps{DB: db}}
	for _, f := range deps {
		f(&d)
	}
	s, err := New(t.Context(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// What Run does first.
	if _, err := s.indexer.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// product is a catalog product event's data.
type product struct {
	tenant, id, title, desc, status string
	skus                            []string
	price                           int64
	cat                             *catalogapi.CategoryRef
	created, updated                time.Time
	archived                        bool
}

var (
	coffeeCat = &catalogapi.CategoryRef{ID: "c-coffee", Slug: "coffee", Name: "Coffee"}
	teaCat    = &catalogapi.CategoryRef{ID: "c-tea", Slug: "tea", Name: "Tea"}
)

func event(t *testing.T, tenant, typ string, at time.Time, data any) outbox.Envelope {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Envelope{ID: kit.NewID(), Type: typ, Source: "test", Tenant: tenant, Time: at, Data: raw}
}

func (p product) event(t *testing.T) outbox.Envelope {
	if p.status == "" {
		p.status = string(catalogapi.StatusActive)
	}
	if p.created.IsZero() {
		p.created = t0
	}
	if p.updated.IsZero() {
		p.updated = p.created
	}
	cp := catalogapi.Product{ID: p.id, Slug: strings.ToLower(strings.ReplaceAll(p.title, " ", "-")), Title: p.title, Description: p.desc,
		Status: catalogapi.Status(p.status), PriceFrom: money.Money{Amount: p.price, Currency: "EUR"}, CreatedAt: p.created, UpdatedAt: p.updated}
	if p.cat != nil {
		cp.CategoryID = p.cat.ID
	}
	for _, sku := range p.skus {
		cp.Variants = append(cp.Variants, catalogapi.Variant{ID: "v-" + sku, SKU: sku, Price: cp.PriceFrom})
	}
	typ := catalogapi.SubjectProductUpdated
	if p.archived {
		typ = catalogapi.SubjectProductArchived
	}
	return event(t, p.tenant, typ, p.updated, catalogapi.ProductUpdated{Product: cp, Category: p.cat})
}

func stock(t *testing.T, tenant, sku string, available int64, at time.Time) outbox.Envelope {
	return event(t, tenant, inventoryapi.SubjectStockAdjusted, at, inventoryapi.StockAdjusted{SKU: sku, Location: "default",
		Kind: inventoryapi.KindAdjustment, Delta: 1, Reason: "test", OnHand: available, At: at, Available: &available})
}

func rating(t *testing.T, tenant, id string, avg float64, count, version int64) outbox.Envelope {
	return event(t, tenant, reviewapi.SubjectRatingChanged, t0, reviewapi.RatingChanged{ProductID: id, Count: count, Average: avg, Version: version})
}

// demoEvents is a small shop of two tenants, with out-of-order and
// repeated events.
func demoEvents(t *testing.T) []outbox.Envelope {
	day := 24 * time.Hour
	evs := []outbox.Envelope{
		product{tenant: "default", id: "p1", title: "Ethiopian Coffee Beans", desc: "Bright and floral single origin coffee, roasted light for filter brewing.",
			skus: []string{"COF-ETH-250", "COF-ETH-1000"}, price: 1450, cat: coffeeCat, created: t0}.event(t),
		product{tenant: "default", id: "p2", title: "Espresso Blend", desc: "A dark roast for espresso machines.",
			skus: []string{"COF-ESP"}, price: 1190, cat: coffeeCat, created: t0.Add(day)}.event(t),
		product{tenant: "default", id: "p3", title: "Green Tea Sencha", desc: "Japanese green tea, grassy and sweet.",
			skus: []string{"TEA-SEN"}, price: 890, cat: teaCat, created: t0.Add(2 * day)}.event(t),
		product{tenant: "default", id: "p4", title: "Ceramic Mug", desc: "Holds 300 ml of coffee or tea.",
			skus: []string{"MUG-1"}, price: 6000, created: t0.Add(3 * day)}.event(t),
		product{tenant: "default", id: "p5", title: "Coffee Grinder Draft", desc: "Not for sale yet.",
			skus: []string{"GRIND-1"}, price: 12000, cat: coffeeCat, status: "draft", created: t0.Add(4 * day)}.event(t),
		stock(t, "default", "COF-ETH-250", 0, t0),
		stock(t, "default", "COF-ETH-1000", 12, t0),
		stock(t, "default", "COF-ESP", 0, t0),
		stock(t, "default", "MUG-1", 3, t0),
		rating(t, "default", "p1", 4.5, 2, 2),
		rating(t, "default", "p1", 3.0, 1, 1), // older: ignored
		rating(t, "default", "p3", 3.5, 4, 1),
		// Another store sells a coffee too.
		product{tenant: "acme", id: "a1", title: "Acme Coffee", desc: "Coffee from the other store.", skus: []string{"ACME-1"}, price: 999}.event(t),
		// A newer snapshot of p4, then an older one that must not win.
		product{tenant: "default", id: "p4", title: "Ceramic Coffee Mug", desc: "Holds 300 ml of coffee or tea.",
			skus: []string{"MUG-1"}, price: 6000, created: t0.Add(3 * day), updated: t0.Add(10 * day)}.event(t),
		product{tenant: "default", id: "p4", title: "Old Mug Title", desc: "old",
			skus: []string{"MUG-1"}, price: 6000, created: t0.Add(3 * day), updated: t0.Add(5 * day)}.event(t),
		// p6 is archived: gone from search.
		product{tenant: "default", id: "p6", title: "Decaf Coffee", desc: "Gone.", skus: []string{"DECAF"}, price: 1000, cat: coffeeCat}.event(t),
		product{tenant: "default", id: "p6", title: "Decaf Coffee", desc: "Gone.", skus: []string{"DECAF"}, price: 1000, cat: coffeeCat,
			updated: t0.Add(day), archived: true, status: "archived"}.event(t),
		// Stock of a product the catalog has not spoken of yet, then the product.
		stock(t, "default", "TEA-EARL", 7, t0),
		product{tenant: "default", id: "p7", title: "Earl Grey Tea", desc: "Black tea with bergamot.", skus: []string{"TEA-EARL"}, price: 650, cat: teaCat,
			created: t0.Add(5 * day)}.event(t),
	}
	return evs
}

func handleAll(t *testing.T, s *Service, evs []outbox.Envelope) {
	t.Helper()
	for _, e := range evs {
		if err := s.Handle(t.Context(), e); err != nil {
			t.Fatalf("handle %s: %v", e.Type, err)
		}
	}
}

func find(t *testing.T, s *Service, tenant string, q searchapi.Query) searchapi.Results {
	t.Helper()
	res, err := s.Search(tenancy.WithID(t.Context(), tenant), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func ids(res searchapi.Results) []string {
	out := []string{}
	for _, h := range res.Items {
		out = append(out, h.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db, t.TempDir())
		handleAll(t, s, demoEvents(t))
		// Every event again: the inbox drops them.
		handleAll(t, s, demoEvents(t)[:3])

		tests := []struct {
			name string
			q    searchapi.Query
			want []string
		}{
			{"a word, best match first", searchapi.Query{Q: "coffee"}, []string{"p1", "p4", "p2"}},
			{"a typo", searchapi.Query{Q: "cofee"}, []string{"p1", "p4", "p2"}},
			{"two typos in a long word", searchapi.Query{Q: "etiopien"}, []string{"p1"}},
			{"a prefix as typed", searchapi.Query{Q: "sen"}, []string{"p3"}},
			{"every word must match", searchapi.Query{Q: "green sencha"}, []string{"p3"}},
			{"a stem", searchapi.Query{Q: "mugs"}, []string{"p4"}},
			{"a whole SKU", searchapi.Query{Q: "cof-esp"}, []string{"p2"}},
			{"the category's name", searchapi.Query{Q: "tea", Sort: searchapi.SortNewest}, []string{"p7", "p4", "p3"}},
			{"no words: newest first", searchapi.Query{}, []string{"p7", "p4", "p3", "p2", "p1"}},
			{"price ascending", searchapi.Query{Sort: searchapi.SortPrice}, []string{"p7", "p3", "p2", "p1", "p4"}},
			{"price descending", searchapi.Query{Sort: searchapi.SortPriceDesc}, []string{"p4", "p1", "p2", "p3", "p7"}},
			{"rating", searchapi.Query{Sort: searchapi.SortRating, Q: "coffee"}, []string{"p1", "p4", "p2"}},
			{"category filter", searchapi.Query{Category: "c-tea", Sort: searchapi.SortPrice}, []string{"p7", "p3"}},
			{"in stock filter", searchapi.Query{InStock: true, Sort: searchapi.SortPrice}, []string{"p7", "p1", "p4"}},
			{"price range", searchapi.Query{PriceMin: 1000, PriceMax: 2500, Sort: searchapi.SortPrice}, []string{"p2", "p1"}},
			{"rating floor", searchapi.Query{Rating: 4}, []string{"p1"}},
			{"drafts and archived are not found", searchapi.Query{Q: "grinder decaf"}, []string{}},
			{"nothing", searchapi.Query{Q: "bicycle"}, []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := ids(find(t, s, "default", tc.q)); !slices.Equal(got, tc.want) {
					t.Errorf("ids = %v, want %v", got, tc.want)
				}
			})
		}

		t.Run("facets", func(t *testing.T) {
			f := find(t, s, "default", searchapi.Query{}).Facets
			want := searchapi.Facets{
				Category: []searchapi.Bucket{{Value: "c-coffee", Label: "Coffee", Count: 2}, {Value: "c-tea", Label: "Tea", Count: 2}},
				Price: []searchapi.Bucket{{Value: "0-1000", Label: "under 10", Count: 2}, {Value: "1000-2500", Label: "10 to 25", Count: 2},
					{Value: "5000-10000", Label: "50 to 100", Count: 1}},
				InStock: []searchapi.Bucket{{Value: "true", Label: "in stock", Count: 3}},
				Rating: []searchapi.Bucket{{Value: "4", Label: "4 stars and up", Count: 1}, {Value: "3", Label: "3 stars and up", Count: 2},
					{Value: "2", Label: "2 stars and up", Count: 2}, {Value: "1", Label: "1 star and up", Count: 2}},
			}
			if !reflect.DeepEqual(f, want) {
				t.Errorf("facets = %+v\nwant %+v", f, want)
			}
		})

		t.Run("hit and highlights", func(t *testing.T) {
			res := find(t, s, "default", searchapi.Query{Q: "cofee"})
			h := res.Items[0]
			if h.Title != "Ethiopian Coffee Beans" || !h.InStock || h.Rating != 4.5 || h.RatingCount != 2 || h.Category == nil || h.Category.Name != "Coffee" {
				t.Errorf("hit = %+v", h)
			}
			want := []searchapi.Fragment{{Text: "Ethiopian "}, {Text: "Coffee", Match: true}, {Text: " Beans"}}
			if !reflect.DeepEqual(h.TitleHighlight, want) {
				t.Errorf("title highlight = %+v, want %+v", h.TitleHighlight, want)
			}
			var marked []string
			for _, f := range h.DescriptionHighlight {
				if f.Match {
					marked = append(marked, f.Text)
				}
			}
			if !slices.Equal(marked, []string{"coffee"}) {
				t.Errorf("description highlight = %+v", h.DescriptionHighlight)
			}
		})

		t.Run("markup is text", func(t *testing.T) {
			handleAll(t, s, []outbox.Envelope{product{tenant: "default", id: "px", title: "<b>Bold</b> Kettle", desc: "<script>x</script> kettle",
				skus: []string{"KET"}, price: 100}.event(t)})
			h := find(t, s, "default", searchapi.Query{Q: "kettle"}).Items[0]
			if got := h.TitleHighlight[0].Text; got != "<b>Bold</b> " {
				t.Errorf("first fragment = %q: the title's text, as it is", got)
			}
		})

		t.Run("paging", func(t *testing.T) {
			var got []string
			q := searchapi.Query{Sort: searchapi.SortPrice, Limit: 2}
			for range 10 {
				res := find(t, s, "default", q)
				got = append(got, ids(res)...)
				if res.NextCursor == "" {
					break
				}
				q.Cursor = res.NextCursor
			}
			if want := []string{"px", "p7", "p3", "p2", "p1", "p4"}; !slices.Equal(got, want) {
				t.Errorf("pages = %v, want %v", got, want)
			}
			_, err := s.Search(tenancy.WithID(t.Context(), "default"), searchapi.Query{Sort: searchapi.SortNewest, Cursor: q.Cursor})
			if err == nil {
				t.Error("a cursor of another sort was taken")
			}
		})

		t.Run("suggestions", func(t *testing.T) {
			res, err := s.Suggest(tenancy.WithID(t.Context(), "default"), "ethiopian cof", 8)
			if err != nil || len(res.Items) != 1 || res.Items[0].ID != "p1" {
				t.Errorf("suggest = %+v, %v", res, err)
			}
			res, err = s.Suggest(tenancy.WithID(t.Context(), "default"), "Ea", 8)
			if err != nil || len(res.Items) != 1 || res.Items[0].Title != "Earl Grey Tea" {
				t.Errorf("suggest = %+v, %v", res, err)
			}
		})

		t.Run("a tenant sees only its own products", func(t *testing.T) {
			if got := ids(find(t, s, "acme", searchapi.Query{Q: "coffee"})); !slices.Equal(got, []string{"a1"}) {
				t.Errorf("acme finds %v", got)
			}
			if got := ids(find(t, s, "default", searchapi.Query{Q: "acme"})); len(got) != 0 {
				t.Errorf("default finds acme's: %v", got)
			}
			if got := ids(find(t, s, "globex", searchapi.Query{Q: "coffee"})); len(got) != 0 {
				t.Errorf("a store without products finds %v", got)
			}
		})

		t.Run("stock and rating changes", func(t *testing.T) {
			handleAll(t, s, []outbox.Envelope{stock(t, "default", "COF-ESP", 5, t0.Add(time.Hour)), stock(t, "default", "MUG-1", 0, t0.Add(time.Hour)),
				stock(t, "default", "MUG-1", 9, t0.Add(-time.Hour))}) // the last is stale
			if got := ids(find(t, s, "default", searchapi.Query{InStock: true, Sort: searchapi.SortPrice})); !slices.Equal(got, []string{"p7", "p2", "p1"}) {
				t.Errorf("in stock = %v", got)
			}
			// A reservation takes the Ethiopian's last units, its release
			// brings them back.
			at := t0.Add(2 * time.Hour)
			handleAll(t, s, []outbox.Envelope{event(t, "default", inventoryapi.SubjectStockReserved, at, inventoryapi.StockReserved{OrderID: "o1",
				At: at, Levels: []inventoryapi.SKULevel{{SKU: "COF-ETH-1000", Available: 0}}})})
			if got := ids(find(t, s, "default", searchapi.Query{InStock: true, Sort: searchapi.SortPrice})); !slices.Equal(got, []string{"p7", "p2"}) {
				t.Errorf("in stock after a reservation = %v", got)
			}
			at = at.Add(time.Minute)
			handleAll(t, s, []outbox.Envelope{event(t, "default", inventoryapi.SubjectStockReleased, at, inventoryapi.StockReleased{OrderID: "o1",
				Status: "released", At: at, Levels: []inventoryapi.SKULevel{{SKU: "COF-ETH-1000", Available: 12}}})})
			if got := ids(find(t, s, "default", searchapi.Query{InStock: true, Sort: searchapi.SortPrice})); !slices.Equal(got, []string{"p7", "p2", "p1"}) {
				t.Errorf("in stock after the release = %v", got)
			}
			// A new rating moves the Sencha above 4.
			handleAll(t, s, []outbox.Envelope{rating(t, "default", "p3", 4.8, 5, 2)})
			if got := ids(find(t, s, "default", searchapi.Query{Rating: 4, Sort: searchapi.SortRating})); !slices.Equal(got, []string{"p3", "p1"}) {
				t.Errorf("rated 4 and up = %v", got)
			}
		})
	}, Migrations...)
}

// snapshotIndex is everything the index answers for a tenant, for
// comparing two indexes.
func snapshotIndex(t *testing.T, s *Service, tenant string) string {
	t.Helper()
	var b strings.Builder
	for _, sort := range []string{searchapi.SortPrice, searchapi.SortNewest, searchapi.SortRating} {
		res := find(t, s, tenant, searchapi.Query{Sort: sort, Limit: 100})
		raw, _ := json.Marshal(res)
		b.Write(raw)
	}
	return b.String()
}

// TestRestartMidStream: a replica stopped halfway through the stream (its
// index closed, some events redelivered after the restart) ends with the
// same index as one that never stopped, and a rebuilt index is the same
// again.
func TestRestartMidStream(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		evs := demoEvents(t)
		ref := newService(t, sqldbtest.Open(t, "", Migrations...), t.TempDir())
		handleAll(t, ref, evs)

		dir := t.TempDir()
		first := newService(t, db, dir)
		handleAll(t, first, evs[:9])
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		second := newService(t, db, dir)
		handleAll(t, second, evs[6:]) // 6, 7, 8 again
		for _, tenant := range []string{"default", "acme"} {
			if got, want := snapshotIndex(t, second, tenant), snapshotIndex(t, ref, tenant); got != want {
				t.Errorf("%s after a restart:\n%s\nwant\n%s", tenant, got, want)
			}
		}

		// A replica whose index was lost builds it on start.
		if err := second.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, "default.bleve")); err != nil {
			t.Fatal(err)
		}
		// A damaged index is made again on start.
		if err := os.WriteFile(filepath.Join(dir, "acme.bleve", "index_meta.json"), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}

		third := newService(t, db, dir)
		for _, tenant := range []string{"default", "acme"} {
			if got, want := snapshotIndex(t, third, tenant), snapshotIndex(t, ref, tenant); got != want {
				t.Errorf("%s built on start:\n%s\nwant\n%s", tenant, got, want)
			}
		}
		// So is one of another mapping.
		if err := third.Close(); err != nil {
			t.Fatal(err)
		}
		x, err := newIndexes(dir)
		if err != nil {
			t.Fatal(err)
		}
		prev, err := x.get("default", false)
		if err != nil || prev == nil {
			t.Fatalf("open the index: %v", err)
		}
		// A product missing too: an index that was kept would show it.
		if err := prev.Delete("p1"); err != nil {
			t.Fatal(err)
		}
		if err := x.persist(mappingKey, []byte("0"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		// (Reading back no further than its cursor, the start would not
		// mend a kept index.)
		third = newServiceWith(t, db, Config{IndexDir: dir, Lookback: time.Microsecond})
		if got, want := snapshotIndex(t, third, "default"), snapshotIndex(t, ref, "default"); got != want {
			t.Errorf("an index of another mapping made again:\n%s\nwant\n%s", got, want)
		}
		n, err := third.Rebuild(t.Context())
		if err != nil || n == 0 {
			t.Fatalf("rebuild = %d, %v", n, err)
		}
		for _, tenant := range []string{"default", "acme"} {
			if got, want := snapshotIndex(t, third, tenant), snapshotIndex(t, ref, tenant); got != want {
				t.Errorf("%s after a rebuild:\n%s\nwant\n%s", tenant, got, want)
			}
		}
	}, Migrations...)
}

// TestOtherReplica: a replica indexes what another replica's consumer
// applied to the shared projection, by tailing it.
func TestOtherReplica(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	a := newService(t, db, t.TempDir())
	b := newService(t, db, t.TempDir())
	handleAll(t, a, demoEvents(t))
	if _, err := b.indexer.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshotIndex(t, b, "default"), snapshotIndex(t, a, "default"); got != want {
		t.Errorf("the other replica:\n%s\nwant\n%s", got, want)
	}
}

func TestFragments(t *testing.T) {
	long := strings.Repeat("word ", 60) + "coffee " + strings.Repeat("tail ", 60)
	start := strings.Index(long, "coffee")
	got := fragments(long, []span{{start, start + 6}}, 100)
	if len(got) != 3 || !strings.HasPrefix(got[0].Text, "…") || !got[1].Match || got[1].Text != "coffee" {
		t.Fatalf("fragments = %+v", got)
	}
	var b strings.Builder
	for _, f := range got {
		b.WriteString(f.Text)
	}
	if s := b.String(); !strings.Contains(s, "coffee") || len(s) > 140 || !strings.HasSuffix(s, "…") {
		t.Errorf("passage = %q", s)
	}
	if got := fragments("abc", nil, 0); !reflect.DeepEqual(got, []searchapi.Fragment{{Text: "abc"}}) {
		t.Errorf("no match = %+v", got)
	}
}
