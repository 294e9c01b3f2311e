package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/test/harness"
)

// TestAnalyticsMatchTheSources: a random workload (seeded) through the
// real services — products with and without cost prices and categories,
// stock adjustments, carts abandoned, checkouts from carts and without,
// declined payments, shipments, refunds, returns received — then every
// analytics figure is compared with the same figure computed from the
// source services' own tables (order, cart, inventory, catalog); then the
// analytics read models are damaged, rebuilt from the log with `mercato
// analytics rebuild`, and compared again.
func TestAnalyticsMatchTheSources(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			analyticsMatchTheSources(t, flags(t))
		})
	}
}

func analyticsMatchTheSources(t *testing.T, engineFlags []string) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MERCATO_TEST_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (MERCATO_TEST_SEED=%d repeats this workload)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := openShop(t, engineFlags)
	source := sources(t, s.data, engineFlags)
	adm := s.admin()
	must := func(r harness.Response, what string, ok ...int) {
		t.Helper()
		if !slices.Contains(ok, r.Status) {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	// The store counts its days in a zone far from UTC (UTC+14, or UTC−10):
	// most of the day, its date is not UTC's.
	zone := []string{"Pacific/Kiritimati", "Pacific/Honolulu"}[rng.IntN(2)]
	must(s.p.Call("PATCH", "/api/v1/admin/store", map[string]any{"time_zone": zone}, adm), "set the time zone", http.StatusOK)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}

	// Two categories; products with and without a category and a cost.
	var cats []string
	for i := range 2 {
		r := s.p.Call("POST", "/api/v1/admin/categories", map[string]any{"name": fmt.Sprintf("Cat %d %s", i, randomHex(3))}, adm)
		must(r, "create category", http.StatusCreated)
		var c struct {
			ID string `json:"id"`
		}
		r.JSON(t, &c)
		cats = append(cats, c.ID)
	}
	var skus []string
	for i := range 5 {
		sku := fmt.Sprintf("AN-%d-%s", i, randomHex(3))
		v := map[string]any{"sku": sku, "price": map[string]any{"amount": 500 + rng.Int64N(2500), "currency": "EUR"}}
		if i == 0 || rng.IntN(4) > 0 { // one cost price at least
			v["cost_price"] = 100 + rng.Int64N(400)
		}
		body := map[string]any{"title": "Analytics product " + sku, "status": "active", "variants": []any{v}}
		if c := rng.IntN(3); c < 2 {
			body["category_id"] = cats[c]
		}
		must(s.p.Call("POST", "/api/v1/admin/products", body, adm), "create product", http.StatusCreated)
		must(s.p.Call("POST", "/api/v1/admin/inventory/"+sku+"/adjustments",
			map[string]any{"delta": 40 + rng.Int64N(40), "reason": "delivery"}, adm), "stock", http.StatusOK, http.StatusCreated)
		skus = append(skus, sku)
	}
	// Carts learn of products from catalog events.
	waitFor(t, "the cart service knows the products", func() (bool, string) {
		r := s.p.Call("POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": skus[len(skus)-1], "quantity": 1}}}, nil)
		return r.Status == http.StatusCreated, string(r.Body)
	})

	emails := []string{"ann@example.com", "Bob@Example.com", "cy@example.com", "dee@example.com", "bob@example.com"}
	items := func() []map[string]any {
		n := 1 + rng.IntN(2)
		var out []map[string]any
		for _, i := range rng.Perm(len(skus))[:n] {
			out = append(out, map[string]any{"sku": skus[i], "quantity": 1 + rng.IntN(3)})
		}
		return out
	}
	type placed struct{ id, token string }
	var confirmed []placed
	for range 45 {
		switch k := rng.IntN(10); {
		case k < 2: // a cart left behind
			must(s.p.Call("POST", "/api/v1/carts", map[string]any{"items": items()}, nil), "abandoned cart", http.StatusCreated)
		case k < 3: // a stocktake
			must(s.p.Call("POST", "/api/v1/admin/inventory/"+skus[rng.IntN(len(skus))]+"/adjustments",
				map[string]any{"delta": rng.Int64N(7) - 2, "reason": "stocktake"}, adm), "adjust", http.StatusOK, http.StatusCreated, http.StatusUnprocessableEntity, http.StatusConflict)
		default: // a checkout, from a cart or not, sometimes declined
			token := "tok_visa"
			if rng.IntN(6) == 0 {
				token = "tok_declined"
			}
			body := checkoutBody(emails[rng.IntN(len(emails))], token, nil)
			if rng.IntN(3) > 0 {
				r := s.p.Call("POST", "/api/v1/carts", map[string]any{"items": items()}, nil)
				must(r, "cart", http.StatusCreated)
				var c struct {
					ID string `json:"id"`
				}
				r.JSON(t, &c)
				delete(body, "items")
				body["cart_id"] = c.ID
			} else {
				body["items"] = items()
			}
			r := s.checkout(body, "")
			var o order
			_ = json.Unmarshal(r.Body, &o)
			if r.Status == http.StatusCreated && o.Status == "confirmed" {
				confirmed = append(confirmed, placed{o.ID, o.Token})
			}
		}
	}
	if len(confirmed) < 5 {
		t.Fatalf("only %d orders confirmed", len(confirmed))
	}
	// Ship some; refund or take back some of those; cancel one.
	for i, o := range confirmed {
		if i == 0 {
			must(s.p.Call("POST", "/api/v1/admin/orders/"+o.id+"/cancel", nil, adm), "cancel", http.StatusOK)
			continue
		}
		// The second is refunded and the third taken back, whatever the seed.
		if i > 2 && rng.IntN(3) == 0 {
			continue
		}
		r := s.p.Call("POST", "/api/v1/admin/orders/"+o.id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "T" + randomHex(6)}, adm)
		must(r, "ship", http.StatusCreated, http.StatusOK)
		var shipped struct {
			order
			Lines []struct {
				SKU      string `json:"sku"`
				Quantity int64  `json:"quantity"`
			} `json:"lines"`
		}
		r.JSON(t, &shipped)
		action := rng.IntN(3)
		if i <= 2 {
			action = i - 1
		}
		switch action {
		case 0:
			amount := 1 + rng.Int64N(shipped.Captured.Amount)
			must(s.p.Call("POST", "/api/v1/admin/orders/"+o.id+"/refunds", map[string]any{
				"amount": map[string]any{"amount": amount, "currency": "EUR"}, "reason": "goodwill", "key": "r-" + o.id}, adm), "refund", http.StatusOK)
		case 1:
			l := shipped.Lines[rng.IntN(len(shipped.Lines))]
			r = s.p.Call("POST", "/api/v1/orders/"+o.id+"/returns?token="+o.token, map[string]any{
				"lines": []map[string]any{{"sku": l.SKU, "quantity": 1 + rng.Int64N(l.Quantity)}}}, nil)
			must(r, "request return", http.StatusCreated, http.StatusOK)
			var ret struct {
				Returns []struct {
					ID string `json:"id"`
				} `json:"returns"`
			}
			r.JSON(t, &ret)
			must(s.p.Call("POST", "/api/v1/admin/orders/"+o.id+"/returns/"+ret.Returns[0].ID+"/receive", map[string]any{}, adm), "receive return", http.StatusOK)
		}
	}

	q := "?days=7&limit=1000"
	compare := func(when string) {
		t.Helper()
		var want, got []any
		waitFor(t, "analytics "+when+" agree with the sources", func() (bool, string) {
			want = expectedReports(t, source, 7, loc)
			got = analyticsReports(t, s, q)
			return reflect.DeepEqual(got, want), fmt.Sprintf("\nanalytics: %+v\nsources:   %+v", got, want)
		})
		sum := got[0].(analyticsapi.Summary)
		t.Logf("%s: %d orders, gross %d, net %d, %d units, %d returned, funnel %+v, turnover %+v", when, sum.Current.Orders, sum.Current.Gross,
			sum.Current.Net, sum.Current.Units, sum.Current.ReturnedUnits, got[4].(analyticsapi.Funnel), sum.Current.Turnover)
		if sum.Current.Orders == 0 || sum.Current.Refunded == 0 || sum.Current.ReturnedUnits == 0 || sum.Current.Turnover.CostOfGoodsSold == 0 {
			t.Errorf("the workload left a figure at zero: %+v", sum.Current)
		}
	}
	compare("live")

	// Damage the read models, rebuild them from the log, compare again.
	s.p.Stop()
	db := source("analytics")
	for _, stmt := range []string{`DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders LIMIT 3)`, `UPDATE stock_moves SET delta = delta + 1`, `DELETE FROM carts`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	out, err := exec.Command(binary, append([]string{"analytics", "rebuild", "-log.level=warn"}, s.args...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rebuilt the analytics of ") {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
	s.restart()
	compare("after the rebuild")
}

// analyticsReports reads every report over HTTP.
func analyticsReports(t *testing.T, s *shop, q string) []any {
	t.Helper()
	get := func(path string, v any) {
		r := s.p.Call("GET", analyticsapi.Base+path+q, nil, s.admin())
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		r.JSON(t, v)
	}
	var sum analyticsapi.Summary
	var ser analyticsapi.Series
	var prod, cat analyticsapi.TopList
	var fun analyticsapi.Funnel
	var cus analyticsapi.Customers
	get("/summary", &sum)
	get("/series", &ser)
	get("/products", &prod)
	get("/categories", &cat)
	get("/funnel", &fun)
	get("/customers", &cus)
	return []any{sum, ser, prod, cat, fun, cus}
}

// sources opens the service databases of a shop: the SQLite files of its
// data directory, or the service's schema of its PostgreSQL database (as
// the server's own role, which row-level security does not hold back).
func sources(t *testing.T, data string, engineFlags []string) func(service string) *sql.DB {
	var pgURL string
	for _, f := range engineFlags {
		if v, ok := strings.CutPrefix(f, "-db="); ok {
			pgURL = v
		}
	}
	open := map[string]*sql.DB{}
	return func(service string) *sql.DB {
		t.Helper()
		if db := open[service]; db != nil {
			return db
		}
		var db *sql.DB
		if pgURL != "" {
			cfg, err := pgx.ParseConfig(pgURL)
			if err != nil {
				t.Fatal(err)
			}
			cfg.RuntimeParams["search_path"] = `"` + service + `"`
			db = stdlib.OpenDB(*cfg)
		} else {
			var err error
			db, err = sql.Open("sqlite", "file:"+filepath.Join(data, service+".db")+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
		}
		db.SetMaxOpenConns(2)
		t.Cleanup(func() { db.Close() })
		open[service] = db
		return db
	}
}

func rows[T any](t *testing.T, db *sql.DB, query string, scan func(r *sql.Rows) (T, error)) []T {
	t.Helper()
	rs, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rs.Close()
	var out []T
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// srcOrder is an order as the order service stores it.
type srcOrder struct {
	id, status, customer, currency, cart string
	total, tax, refunded, units, created int64
	lines                                []struct {
		ProductID string `json:"product_id"`
		Title     string `json:"title"`
		Quantity  int64  `json:"quantity"`
		Total     money  `json:"total"`
	}
}

func (o srcOrder) counts() bool {
	return slices.Contains([]string{"confirmed", "shipping", "shipped", "delivered"}, o.status)
}

// expectedReports computes every report of the last `days` days of the
// default store (in loc, its orders' currency) from the source services'
// tables, independently of the analytics service.
func expectedReports(t *testing.T, source func(string) *sql.DB, days int, loc *time.Location) []any {
	t.Helper()
	orderDB, cartDB, invDB, catDB := source("order"), source("cart"), source("inventory"), source("catalog")
	orders := rows(t, orderDB, `SELECT id, status, LOWER(TRIM(email)), currency, cart_id, total, tax, refunded, lines, created_at FROM orders WHERE tenant_id = 'default'`,
		func(r *sql.Rows) (srcOrder, error) {
			var o srcOrder
			var lines string
			err := r.Scan(&o.id, &o.status, &o.customer, &o.currency, &o.cart, &o.total, &o.tax, &o.refunded, &lines, &o.created)
			if err == nil {
				err = json.Unmarshal([]byte(lines), &o.lines)
			}
			for _, l := range o.lines {
				o.units += l.Quantity
			}
			return o, err
		})
	returned := map[string]int64{}
	for _, r := range rows(t, orderDB, `SELECT order_id, lines FROM returns WHERE tenant_id = 'default' AND status = 'received'`,
		func(r *sql.Rows) ([2]string, error) {
			var v [2]string
			return v, r.Scan(&v[0], &v[1])
		}) {
		var lines []struct {
			Quantity int64 `json:"quantity"`
		}
		if err := json.Unmarshal([]byte(r[1]), &lines); err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			returned[r[0]] += l.Quantity
		}
	}
	// The currency: the one most counted orders are in.
	perCurrency := map[string]int{}
	for _, o := range orders {
		if o.counts() {
			perCurrency[o.currency]++
		}
	}
	var currencies []string
	for c := range perCurrency {
		currencies = append(currencies, c)
	}
	sort.Slice(currencies, func(i, j int) bool {
		a, b := currencies[i], currencies[j]
		return perCurrency[a] > perCurrency[b] || perCurrency[a] == perCurrency[b] && a < b
	})
	cur := ""
	if len(currencies) > 0 {
		cur = currencies[0]
	}
	y, m, dd := time.Now().In(loc).Date()
	day := func(d int) time.Time { return time.Date(y, m, dd+d, 0, 0, 0, 0, loc) }
	rng := func(first time.Time, n int) analyticsapi.Range {
		return analyticsapi.Range{From: first.Format("2006-01-02"), To: first.AddDate(0, 0, n-1).Format("2006-01-02"), Days: n,
			TimeZone: loc.String(), Currency: cur, Currencies: currencies}
	}
	r := rng(day(1-days), days)
	in := func(at int64, first time.Time, n int) bool {
		return at >= first.UnixMicro() && at < first.AddDate(0, 0, n).UnixMicro()
	}

	// Customers: who had a counted order in the period, and their first.
	firstOrder := map[string]int64{}
	for _, o := range orders {
		if f, ok := firstOrder[o.customer]; o.counts() && (!ok || o.created < f) {
			firstOrder[o.customer] = o.created
		}
	}
	customersOf := func(first time.Time, n int) (fresh, returning int64) {
		seen := map[string]bool{}
		for _, o := range orders {
			if o.counts() && in(o.created, first, n) && !seen[o.customer] {
				seen[o.customer] = true
				if firstOrder[o.customer] >= first.UnixMicro() {
					fresh++
				} else {
					returning++
				}
			}
		}
		return fresh, returning
	}

	// Stock: every change of units on hand, valued at today's cost prices.
	cost := map[string]int64{}
	for _, c := range rows(t, catDB, `SELECT sku, cost_price FROM variants WHERE tenant_id = 'default' AND cost_price IS NOT NULL AND currency = '`+cur+`'`,
		func(r *sql.Rows) (struct {
			sku  string
			cost int64
		}, error) {
			var v struct {
				sku  string
				cost int64
			}
			return v, r.Scan(&v.sku, &v.cost)
		}) {
		cost[c.sku] = c.cost
	}
	type move struct {
		sku, kind string
		delta, at int64
	}
	moves := rows(t, invDB, `SELECT sku, kind, delta_on_hand, at FROM movements WHERE tenant_id = 'default' AND delta_on_hand <> 0`,
		func(r *sql.Rows) (move, error) {
			var m move
			return m, r.Scan(&m.sku, &m.kind, &m.delta, &m.at)
		})
	turnover := func(first time.Time, n int) analyticsapi.Turnover {
		var tv analyticsapi.Turnover
		for _, m := range moves {
			c := cost[m.sku]
			if m.at < first.UnixMicro() {
				tv.OpeningStock += m.delta * c
			}
			if m.at < first.AddDate(0, 0, n).UnixMicro() {
				tv.ClosingStock += m.delta * c
			}
			if m.kind == "commit" && in(m.at, first, n) {
				tv.CostOfGoodsSold -= m.delta * c
			}
		}
		tv.AverageStock = (tv.OpeningStock + tv.ClosingStock + 1) / 2
		if tv.AverageStock > 0 {
			tv.Ratio = float64(tv.CostOfGoodsSold) / float64(tv.AverageStock)
		}
		return tv
	}
	figures := func(first time.Time, n int) analyticsapi.Figures {
		var f analyticsapi.Figures
		for _, o := range orders {
			if !o.counts() || o.currency != cur || !in(o.created, first, n) {
				continue
			}
			f.Orders++
			f.Gross += o.total
			f.Refunded += o.refunded
			f.Tax += o.tax
			f.Units += o.units
			f.ReturnedUnits += returned[o.id]
			if o.refunded > 0 {
				f.RefundedOrders++
			}
		}
		f.Net = f.Gross - f.Refunded
		if f.Orders > 0 {
			f.AverageOrderValue = (2*f.Gross + f.Orders) / (2 * f.Orders)
			f.RefundRate = float64(f.RefundedOrders) / float64(f.Orders)
		}
		if f.Units > 0 {
			f.ReturnRate = float64(f.ReturnedUnits) / float64(f.Units)
		}
		f.NewCustomers, f.ReturningCustomers = customersOf(first, n)
		f.Turnover = turnover(first, n)
		return f
	}
	prev := rng(day(1-2*days), days)
	sum := analyticsapi.Summary{Range: r, PreviousFrom: prev.From, PreviousTo: prev.To,
		Current: figures(day(1-days), days), Previous: figures(day(1-2*days), days)}
	for _, n := range []int{7, 30, 90} {
		roll := analyticsapi.Rolling{Days: n}
		for _, o := range orders {
			if o.counts() && o.currency == cur && in(o.created, day(1-n), n) {
				roll.Gross += o.total
				roll.Net += o.total - o.refunded
				roll.Tax += o.tax
			}
		}
		sum.Rolling = append(sum.Rolling, roll)
	}

	ser := analyticsapi.Series{Range: r}
	for d := 1 - days; d <= 0; d++ {
		v := analyticsapi.Day{Date: day(d).Format("2006-01-02")}
		for _, o := range orders {
			if !o.counts() || o.currency != cur {
				continue
			}
			if in(o.created, day(d), 1) {
				v.Orders++
				v.Gross += o.total
				v.Net += o.total - o.refunded
				v.Tax += o.tax
				v.Units += o.units
			}
			for _, w := range []struct {
				n          int
				gross, net *int64
			}{{7, &v.Gross7, &v.Net7}, {30, &v.Gross30, &v.Net30}, {90, &v.Gross90, &v.Net90}} {
				if in(o.created, day(d-w.n+1), w.n) {
					*w.gross += o.total
					*w.net += o.total - o.refunded
				}
			}
		}
		ser.Items = append(ser.Items, v)
	}

	// Products and categories, from the order lines and the catalog.
	type product struct{ title, category string }
	products := map[string]product{}
	for _, p := range rows(t, catDB, `SELECT id, title, COALESCE(category_id, '') FROM products WHERE tenant_id = 'default'`,
		func(r *sql.Rows) ([3]string, error) {
			var v [3]string
			return v, r.Scan(&v[0], &v[1], &v[2])
		}) {
		products[p[0]] = product{p[1], p[2]}
	}
	categoryNames := map[string]string{"": ""}
	for _, c := range rows(t, catDB, `SELECT id, name FROM categories WHERE tenant_id = 'default'`,
		func(r *sql.Rows) ([2]string, error) {
			var v [2]string
			return v, r.Scan(&v[0], &v[1])
		}) {
		categoryNames[c[0]] = c[1]
	}
	byProduct, byCategory := map[string]*analyticsapi.Top{}, map[string]*analyticsapi.Top{}
	for _, o := range orders {
		if !o.counts() || o.currency != cur || !in(o.created, day(1-days), days) {
			continue
		}
		for _, l := range o.lines {
			p, ok := products[l.ProductID]
			if !ok {
				p.title = l.Title
			}
			for _, x := range []struct {
				m        map[string]*analyticsapi.Top
				id, name string
			}{{byProduct, l.ProductID, p.title}, {byCategory, p.category, categoryNames[p.category]}} {
				if x.m[x.id] == nil {
					x.m[x.id] = &analyticsapi.Top{ID: x.id, Name: x.name}
				}
				x.m[x.id].Units += l.Quantity
				x.m[x.id].Revenue += l.Total.Amount
			}
		}
	}
	top := func(m map[string]*analyticsapi.Top) analyticsapi.TopList {
		l := analyticsapi.TopList{Range: r, Items: []analyticsapi.Top{}}
		for _, v := range m {
			l.Items = append(l.Items, *v)
		}
		sort.Slice(l.Items, func(i, j int) bool {
			a, b := l.Items[i], l.Items[j]
			if a.Revenue != b.Revenue {
				return a.Revenue > b.Revenue
			}
			if a.Units != b.Units {
				return a.Units > b.Units
			}
			return a.ID < b.ID
		})
		return l
	}

	// The funnel: carts opened in the period, with an order, with one that counts.
	fun := analyticsapi.Funnel{Range: r}
	for _, c := range rows(t, cartDB, `SELECT id, created_at FROM carts WHERE tenant_id = 'default'`,
		func(r *sql.Rows) (struct {
			id string
			at int64
		}, error) {
			var v struct {
				id string
				at int64
			}
			return v, r.Scan(&v.id, &v.at)
		}) {
		if !in(c.at, day(1-days), days) {
			continue
		}
		fun.CartsCreated++
		started, counted := false, false
		for _, o := range orders {
			if o.cart == c.id {
				started = true
				counted = counted || o.counts()
			}
		}
		if started {
			fun.CheckoutsStarted++
		}
		if counted {
			fun.OrdersConfirmed++
		}
	}
	if fun.CartsCreated > 0 {
		fun.CheckoutRate = float64(fun.CheckoutsStarted) / float64(fun.CartsCreated)
		fun.ConversionRate = float64(fun.OrdersConfirmed) / float64(fun.CartsCreated)
	}

	cus := analyticsapi.Customers{Range: r}
	cus.New, cus.Returning = customersOf(day(1-days), days)
	cus.Previous.New, cus.Previous.Returning = customersOf(day(1-2*days), days)
	return []any{sum, ser, top(byProduct), top(byCategory), fun, cus}
}
