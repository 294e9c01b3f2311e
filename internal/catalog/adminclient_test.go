package catalog

import (
	"errors"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAdminClient walks the admin UI's catalog calls through the typed
// client against the real handlers: a wrong path, query or body fails here.
func TestAdminClient(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	c := catalogapi.NewClient(f.url, nil)
	// The caller's token travels in the context, as the admin UI's does.
	ctx := apiclient.WithToken(tenantCtx(t, "acme"), webtest.AdminToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Creates with the same Idempotency-Key make one category.
	coffee, err := c.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Coffee"}, "cat-1")
	must(err)
	again, err := c.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Coffee"}, "cat-1")
	if err != nil || again.ID != coffee.ID {
		t.Fatalf("repeat create category = %+v, %v; want %s", again, err, coffee.ID)
	}
	beans, err := c.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Beans", ParentID: coffee.ID}, "")
	must(err)
	pos := int64(3)
	if beans, err = c.UpdateCategory(ctx, beans.ID, catalogapi.CategoryUpdate{Position: &pos}); err != nil || beans.Position != 3 {
		t.Fatalf("update category = %+v, %v", beans, err)
	}
	if got, err := c.AdminCategory(ctx, beans.ID); err != nil || got.ParentID != coffee.ID || got.Position != 3 {
		t.Fatalf("admin category = %+v, %v", got, err)
	}
	if l, err := c.AdminCategories(ctx); err != nil || len(l.Items) != 2 {
		t.Fatalf("admin categories = %+v, %v", l, err)
	}
	if tree, err := c.Categories(ctx); err != nil || len(tree.Items) != 1 || len(tree.Items[0].Children) != 1 {
		t.Fatalf("category tree = %+v, %v", tree, err)
	}

	eur := func(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }
	mugIn := catalogapi.ProductCreate{Title: "Mug", Status: catalogapi.StatusActive, CategoryID: beans.ID,
		Variants: []catalogapi.VariantInput{{SKU: "MUG-1", Price: eur(1200)}}}
	mug, err := c.CreateProduct(ctx, mugIn, "prod-1")
	must(err)
	if again, err := c.CreateProduct(ctx, mugIn, "prod-1"); err != nil || again.ID != mug.ID {
		t.Fatalf("repeat create product = %+v, %v; want %s", again, err, mug.ID)
	}
	tea, err := c.CreateProduct(ctx, catalogapi.ProductCreate{Title: "Tea", Variants: []catalogapi.VariantInput{{SKU: "TEA-1", Price: eur(500)}}}, "prod-2")
	must(err)
	if l, err := c.AdminProducts(ctx, catalogapi.AdminListParams{Status: catalogapi.StatusDraft}); err != nil || len(l.Items) != 1 || l.Items[0].ID != tea.ID {
		t.Fatalf("drafts = %+v, %v", l, err)
	}
	first, err := c.AdminProducts(ctx, catalogapi.AdminListParams{Limit: 1})
	if err != nil || len(first.Items) != 1 || first.Items[0].ID != tea.ID || first.NextCursor == "" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	if next, err := c.AdminProducts(ctx, catalogapi.AdminListParams{Limit: 1, Cursor: first.NextCursor}); err != nil || len(next.Items) != 1 || next.Items[0].ID != mug.ID {
		t.Fatalf("second page = %+v, %v", next, err)
	}
	title := "Big mug"
	if got, err := c.UpdateProduct(ctx, mug.ID, catalogapi.ProductUpdate{Title: &title}); err != nil || got.Title != title {
		t.Fatalf("update product = %+v, %v", got, err)
	}
	must(c.ArchiveProduct(ctx, tea.ID))
	if got, err := c.AdminProduct(ctx, tea.ID); err != nil || got.Status != catalogapi.StatusArchived {
		t.Fatalf("archived product = %+v, %v", got, err)
	}

	// A category with a product stays; an empty one goes.
	if err := c.DeleteCategory(ctx, beans.ID); !apiclient.IsCode(err, "category_in_use") {
		t.Errorf("delete used category: %v, want category_in_use", err)
	}
	empty, err := c.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Empty"}, "")
	must(err)
	must(c.DeleteCategory(ctx, empty.ID))

	// Unknown IDs, and another tenant's, are ErrNotFound with the answer
	// in the chain.
	for name, err := range map[string]error{
		"product": func() error { _, err := c.AdminProduct(ctx, "nope"); return err }(),
		"other's product": func() error {
			_, err := c.AdminProduct(apiclient.WithToken(tenantCtx(t, "globex"), webtest.AdminToken), mug.ID)
			return err
		}(),
		"deleted category": func() error { _, err := c.AdminCategory(ctx, empty.ID); return err }(),
	} {
		var ce *catalogapi.Error
		if !errors.Is(err, catalogapi.ErrNotFound) || !errors.As(err, &ce) || !apiclient.IsStatus(err, http.StatusNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}
