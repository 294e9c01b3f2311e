package search

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// TestHTTP: the public operations through the typed client, tenant by
// tenant, with their refusals; every operation is public, as the access
// table says.
func TestHTTP(t *testing.T) {
	s := newService(t, sqldbtest.Open(t, "", Migrations...), t.TempDir())
	handleAll(t, s, demoEvents(t))
	srv := webtest.New(t, func(api *web.API) { s.Routes(api) })
	c := searchapi.NewClient(srv.URL, nil)
	ctx := tenancy.WithID(t.Context(), "default")

	res, err := c.Search(ctx, searchapi.Query{Q: "cofee", InStock: true})
	if err != nil || !slices.Equal(ids(res), []string{"p1", "p4"}) || res.Total != 2 {
		t.Fatalf("search = %v (%d), %v", ids(res), res.Total, err)
	}
	page, err := c.Search(ctx, searchapi.Query{Sort: searchapi.SortPrice, Limit: 2})
	if err != nil || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	next, err := c.Search(ctx, searchapi.Query{Sort: searchapi.SortPrice, Limit: 2, Cursor: page.NextCursor})
	if err != nil || !slices.Equal(ids(next), []string{"p2", "p1"}) {
		t.Fatalf("second page = %v, %v", ids(next), err)
	}
	sug, err := c.Suggest(ctx, "esp", 0)
	if err != nil || len(sug.Items) != 1 || sug.Items[0].Slug != "espresso-blend" {
		t.Fatalf("suggest = %+v, %v", sug, err)
	}
	acme, err := c.Search(tenancy.WithID(t.Context(), "acme"), searchapi.Query{Q: "coffee"})
	if err != nil || !slices.Equal(ids(acme), []string{"a1"}) {
		t.Fatalf("acme = %v, %v", ids(acme), err)
	}

	for _, tc := range []struct {
		name string
		q    searchapi.Query
		code string
	}{
		{"a cursor of another sort", searchapi.Query{Sort: searchapi.SortNewest, Cursor: page.NextCursor}, "invalid_cursor"},
		{"a made-up cursor", searchapi.Query{Cursor: "nonsense"}, "invalid_cursor"},
		{"an unknown sort", searchapi.Query{Sort: "cheapest"}, "validation_failed"},
		{"a price range upside down", searchapi.Query{PriceMin: 500, PriceMax: 100}, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Search(ctx, tc.q)
			var ae *apiclient.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != tc.code {
				t.Errorf("err = %v, want 422 %s", err, tc.code)
			}
		})
	}
	webtest.CheckCalls(t, srv.URL, []webtest.Call{
		{Name: "anonymous searches", Method: "GET", Path: "/api/v1/search?q=tea", Want: 200},
		{Name: "anonymous gets suggestions", Method: "GET", Path: "/api/v1/search/suggestions?q=te", Want: 200},
		{Name: "a limit above the maximum is capped", Method: "GET", Path: "/api/v1/search?limit=5000", Want: 200},
	})
	webtest.CheckDocumentedRoles(t, srv.URL, access)
	webtest.CheckDocument(t, srv.URL)
}

// TestFreshness: through a real bus, a product change is searchable within
// a second of its publication, and a store never finds another's.
func TestFreshness(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	b, err := natsbus.ConnectEmbedded(t.Context(), srv, natsbus.Options{}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s := newService(t, sqldbtest.Open(t, "", Migrations...), t.TempDir(), func(d *Deps) { d.Bus = b })
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	publish := func(e outbox.Envelope) time.Time {
		t.Helper()
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if err := b.Publish(t.Context(), bus.Message{ID: e.ID, Subject: e.Type, Data: raw}); err != nil {
			t.Fatal(err)
		}
		return at
	}
	waitFor := func(tenant, q, want string) time.Duration {
		t.Helper()
		at := time.Now()
		deadline := at.Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if got := ids(find(t, s, tenant, searchapi.Query{Q: q})); slices.Contains(got, want) {
				return time.Since(at)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s never found %q for %s", want, q, tenant)
		return 0
	}
	var worst time.Duration
	for i, title := range []string{"Yirgacheffe Coffee", "Sidamo Coffee", "Kenya Coffee"} {
		id := "fresh-" + title[:3]
		at := publish(product{tenant: "default", id: id, title: title, skus: []string{"F-" + id}, price: int64(1000 + i)}.event(t))
		waitFor("default", title, id)
		worst = max(worst, time.Since(at))
	}
	if worst > time.Second {
		t.Errorf("a change took %s to be searchable, want under 1s", worst)
	}
	publish(product{tenant: "acme", id: "acme-fresh", title: "Yirgacheffe Coffee", skus: []string{"A-F"}, price: 1}.event(t))
	waitFor("acme", "yirgacheffe", "acme-fresh")
	if got := ids(find(t, s, "default", searchapi.Query{Q: "yirgacheffe"})); !slices.Equal(got, []string{"fresh-Yir"}) {
		t.Errorf("default finds %v", got)
	}
}
