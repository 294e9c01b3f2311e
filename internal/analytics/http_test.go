package analytics

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

func TestAccessTableIsDocumented(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	s := newTestService(t, db, time.Now())
	webtest.CheckDocumentedRoles(t, webtest.New(t, s.Routes).URL, access)
}

// TestReportsOverHTTP: the reports as JSON and CSV for a manager, refused
// to the staff role, and a period refused with its field named.
func TestReportsOverHTTP(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	s := newTestService(t, db, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	for _, e := range workload(t, "default") {
		if _, err := s.Handle(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	base := webtest.New(t, s.Routes).URL
	get := func(role auth.Role, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", webtest.Staff(t, role))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	q := "?from=2026-03-11&to=2026-03-12"
	if res, body := get(auth.RoleManager, "/api/v1/admin/analytics/summary"+q); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"gross":3000`) || !strings.Contains(body, `"time_zone":"Europe/Paris"`) {
		t.Errorf("summary: %d %s", res.StatusCode, body)
	}
	res, body := get(auth.RoleOwner, "/api/v1/admin/analytics/products.csv"+q)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		body != "product_id,name,currency,units,revenue\np1,Mug,EUR,3,3000\n" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="analytics-products-2026-03-11-2026-03-12.csv"` ||
		res.Header.Get("Cache-Control") != "private, no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("products.csv: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	if res, body := get(auth.RoleManager, "/api/v1/admin/analytics/series.csv"+q); res.StatusCode != http.StatusOK || strings.Count(body, "\n") != 3 ||
		!strings.Contains(body, "\n2026-03-11,EUR,1,2000,1500,300,2,") {
		t.Errorf("series.csv: %d\n%s", res.StatusCode, body)
	}
	if res, _ := get(auth.RoleStaff, "/api/v1/admin/analytics/summary"+q); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff: %d", res.StatusCode)
	}
	if res, body := get(auth.RoleOwner, "/api/v1/admin/analytics/funnel?from=2026-03-12&to=2026-03-11"); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `"code":"invalid_period"`) || !strings.Contains(body, `"location":"query.to"`) {
		t.Errorf("a period ending before it starts: %d %s", res.StatusCode, body)
	}
}
