package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAdminAnalytics: the owner's dashboard shows an order's revenue (the
// KPIs, the line chart with its text, the tables), a custom period, a
// refused period marked on its field, and each report as CSV; a staff
// member has no Analytics section and is refused the page.
func TestAdminAnalytics(t *testing.T) {
	t.Parallel()
	s := openAdminOrdersShop(t)
	s.order()
	owner := s.signIn("owner@orders.test")
	var pg page
	s.waitFor("the order's revenue on the dashboard", func() (bool, string) {
		pg = owner.get("/admin/analytics?period=7")
		return pg.Status == http.StatusOK && strings.Contains(pg.Body, "up from none"), pg.Body
	})
	for _, want := range []string{`<h1>Analytics</h1>`, `id="revenue-chart-title"`, `id="revenue-chart-desc"`, `id="products-chart-title"`,
		`id="funnel-chart-title"`, `<caption>Revenue over the last days of the period</caption>`, `id="top-products"`,
		`data-live-refresh="analytics-live"`, `href="/admin/analytics/series.csv?`, `aria-current`} {
		if !strings.Contains(pg.Body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
	if !strings.Contains(pg.Body, `href="/admin/analytics"`) {
		t.Error("no Analytics in the owner's navigation")
	}
	// The dashboard's CSV links download the period it shows: the 7 days
	// of the series, not the default 30.
	link := regexp.MustCompile(`href="(/admin/analytics/series\.csv\?[^"]*)"`).FindStringSubmatch(pg.Body)
	if link == nil {
		t.Fatal("no series CSV link on the dashboard")
	}
	ser := owner.get(html.UnescapeString(link[1]))
	if rows := strings.Split(strings.TrimSuffix(ser.Body, "\n"), "\n"); ser.Status != http.StatusOK || len(rows) != 1+7 ||
		!strings.HasPrefix(rows[0], "date,") || !strings.Contains(pg.Body, ">"+strings.Split(rows[1], ",")[0]+" to ") {
		t.Errorf("the 7-day view's series.csv (%s): %d\n%s", link[1], ser.Status, ser.Body)
	}
	csv := owner.get("/admin/analytics/products.csv?period=7")
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csv.Body, "product_id,name,currency,units,revenue\n") || strings.Count(csv.Body, "\n") < 2 {
		t.Errorf("products.csv: %d %s\n%s", csv.Status, csv.Header.Get("Content-Type"), csv.Body)
	}
	if r := owner.get("/admin/analytics/nothing.csv"); r.Status != http.StatusNotFound {
		t.Errorf("an unknown report: %d", r.Status)
	}
	custom := owner.get("/admin/analytics?" + url.Values{"period": {"custom"}, "from": {"2026-01-01"}, "to": {"2026-01-31"}}.Encode())
	if custom.Status != http.StatusOK || !strings.Contains(custom.Body, "2026-01-01 to 2026-01-31 (31 days") {
		t.Errorf("a custom period: %d %.300s", custom.Status, custom.Body)
	}
	bad := owner.get("/admin/analytics?" + url.Values{"period": {"custom"}, "from": {"2026-02-01"}, "to": {"2026-01-01"}}.Encode())
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="e-to"`) {
		t.Errorf("a period ending before it starts: %d %.2000s", bad.Status, bad.Body)
	}

	staff := s.signIn(s.invite("staff"))
	if pg := staff.get("/admin/"); strings.Contains(pg.Body, `href="/admin/analytics"`) {
		t.Error("a staff member sees the Analytics section")
	}
	if pg := staff.get("/admin/analytics"); pg.Status != http.StatusForbidden {
		t.Errorf("a staff member on the dashboard: %d", pg.Status)
	}
}
