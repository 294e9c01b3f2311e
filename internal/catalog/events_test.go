package catalog

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// uploaded is a media.uploaded.v1 event of tenant.
func uploaded(t *testing.T, tenant string, m mediaapi.Media) outbox.Envelope {
	t.Helper()
	e, err := outbox.NewEvent(tenancy.WithID(t.Context(), tenant), mediaapi.Source, mediaapi.SubjectUploaded, time.Now(),
		mediaapi.Uploaded{Media: m, UploadedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMediaUploadAddsImage: a product image uploaded to the media service
// is added to its product once, however often it is delivered or uploaded,
// announced as product.updated.v1, and the public product page (cached)
// shows it at once.
func TestMediaUploadAddsImage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc := newTestService(t, db)
		srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
		f := &httpFixture{t: t, url: srv.URL, db: db, svc: svc}
		var cat catalogapi.Category
		f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Cups"}`, admin: true}, http.StatusCreated, &cat)
		var p catalogapi.Product
		f.json(req{method: "POST", path: "/api/v1/admin/products", admin: true,
			body: strings.Replace(mugBody, `"status"`, `"category_id": "`+cat.ID+`", "status"`, 1)}, http.StatusCreated, &p)
		var page catalogapi.Product
		f.json(req{method: "GET", path: "/api/v1/products/mug"}, http.StatusOK, &page) // cached now
		hash := strings.Repeat("ab", 32)
		m := mediaapi.Media{ID: "m-1", Hash: hash, URL: mediaapi.URL(hash), Width: 800, Height: 600,
			Kind: mediaapi.KindProductImage, ProductID: p.ID, Alt: "The mug"}
		e := uploaded(t, "default", m)
		for range 2 { // redelivered
			if err := svc.HandleMediaEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		// The same bytes uploaded again: another event, the same image.
		if err := svc.HandleMediaEvent(t.Context(), uploaded(t, "default", m)); err != nil {
			t.Fatal(err)
		}
		f.json(req{method: "GET", path: "/api/v1/products/mug"}, http.StatusOK, &page)
		want := catalogapi.Image{URL: mediaapi.URL(hash), Alt: "The mug", Width: 800, Height: 600}
		if len(page.Images) != 1 || page.Images[0] != want {
			t.Fatalf("the product page shows images %+v, want [%+v] (a stale cached page?)", page.Images, want)
		}
		var list catalogapi.ProductList
		f.json(req{method: "GET", path: "/api/v1/products"}, http.StatusOK, &list)
		if len(list.Items) != 1 || len(list.Items[0].Images) != 1 {
			t.Fatalf("the list shows %+v", list.Items)
		}
		updates := 0
		for _, r := range readOutbox(t, db) {
			if r.subject == catalogapi.SubjectProductUpdated {
				var pu catalogapi.ProductUpdated
				// It names the product's category, as every product event does.
				if err := json.Unmarshal(r.env.Data, &pu); err != nil || len(pu.Product.Images) != 1 || pu.Category == nil || pu.Category.ID != cat.ID {
					t.Errorf("product.updated.v1 = %+v (%v)", pu, err)
				}
				updates++
			}
		}
		if updates != 1 {
			t.Errorf("%d product.updated.v1 events, want 1", updates)
		}

		// Not the catalog's, or nothing to add to: acknowledged, no change.
		logo := m
		logo.Kind, logo.ProductID, logo.URL = mediaapi.KindLogo, "", mediaapi.URL(strings.Repeat("cd", 32))
		other := m
		other.ProductID, other.URL = "no-such-product", mediaapi.URL(strings.Repeat("ef", 32))
		elsewhere := m
		elsewhere.URL = mediaapi.URL(strings.Repeat("12", 32))
		for _, e := range []outbox.Envelope{uploaded(t, "default", logo), uploaded(t, "default", other), uploaded(t, "acme", elsewhere)} {
			if err := svc.HandleMediaEvent(t.Context(), e); err != nil {
				t.Fatalf("%+v: %v", e, err)
			}
		}
		f.json(req{method: "GET", path: "/api/v1/products/mug"}, http.StatusOK, &page)
		if len(page.Images) != 1 {
			t.Errorf("after a logo, an unknown product's image and another store's event the mug has %d images", len(page.Images))
		}
	}, Migrations...)
}
