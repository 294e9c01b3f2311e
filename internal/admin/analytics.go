package admin

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) analyticsRoutes(route routeFunc) {
	route("GET /admin/analytics", s.analytics)
	route("GET /admin/analytics/{report}", s.analyticsCSV)
}

// analyticsPeriods are the dashboard's periods: the last days, or custom.
var analyticsPeriods = []page.Option{
	{Value: "7", Label: "Last 7 days"}, {Value: "30", Label: "Last 30 days"}, {Value: "90", Label: "Last 90 days"},
	{Value: "custom", Label: "From … to …"},
}

// analyticsTop is how many products and categories the dashboard shows.
const analyticsTop = 10

// analyticsData is the dashboard's data.
type analyticsData struct {
	Summary    analyticsapi.Summary
	Series     analyticsapi.Series
	Products   analyticsapi.TopList
	Categories analyticsapi.TopList
	Funnel     analyticsapi.Funnel
	Customers  analyticsapi.Customers
	KPIs       []kpi
	Revenue    template.HTML
	TopChart   template.HTML
	FunnelBars template.HTML
	Currencies []page.Option
	// Query is the form's query (period, from, to, currency), encoded, for
	// the CSV links; "" when no report was read.
	Query   string
	Periods []page.Option
}

// CSV is the link to a report of the shown period as CSV, as the CSV
// handler reads it (analyticsQuery).
func (d analyticsData) CSV(report string) template.URL {
	return template.URL("/admin/analytics/" + url.PathEscape(report) + ".csv?" + d.Query)
}

// csvQuery is the encoded query of the shown period's CSV links: the
// form's period (and from and to with a custom one) and the currency the
// reports settled on.
func csvQuery(f *page.Form, currency string) string {
	v := url.Values{"period": {f.Get("period")}}
	if f.Get("period") == "custom" {
		v.Set("from", f.Get("from"))
		v.Set("to", f.Get("to"))
	}
	if currency != "" {
		v.Set("currency", currency)
	}
	return v.Encode()
}

// M is minor units of the reports' currency as money.
func (d analyticsData) M(minor int64) money.Money {
	return money.Money{Amount: minor, Currency: d.Summary.Currency}
}

// kpi is a figure of the period beside the previous period's.
type kpi struct {
	ID, Label, Value, Change string
	// Up, Down: the change's direction, for its colour (the text says it
	// too).
	Up, Down bool
}

// analyticsQuery reads the dashboard's form: a period of days (default
// 30) or from and to, and a currency.
func analyticsQuery(f *page.Form) analyticsapi.Query {
	q := analyticsapi.Query{Currency: f.Get("currency")}
	switch p := f.Get("period"); p {
	case "custom":
		q.From, q.To = f.Get("from"), f.Get("to")
		if q.From == "" {
			f.Fail("from", "Enter the first day.")
		}
		if q.To == "" {
			f.Fail("to", "Enter the last day.")
		}
	case "7", "90":
		q.Days, _ = strconv.Atoi(p)
	default:
		q.Days = 30
	}
	return q
}

// analytics is the dashboard: the period's figures against the previous
// period's, revenue per day, the best sellers, the funnel and customers.
// It follows the layout's live stream: a new order refreshes its figures
// (site.js, data-live-refresh).
func (s *Service) analytics(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Analytics")
	if !ok {
		return
	}
	if s.deps.Analytics == nil {
		s.kit.NotFound(w, r)
		return
	}
	v := pf.view
	form := page.EmptyForm(r.URL.Query())
	if !form.Has("period") {
		form.Values.Set("period", "30")
	}
	q := analyticsQuery(form)
	v.Form = form
	d := analyticsData{Periods: analyticsPeriods}
	if !form.Invalid() {
		err := s.readAnalytics(pf.ctx, q, &d)
		if err != nil && !form.Refused(err, map[string]string{"query.from": "from", "query.to": "to", "query.days": "period", "query.currency": "currency"}) {
			s.kit.Fail(w, r, err)
			return
		}
	}
	if !form.Invalid() {
		d.Query = csvQuery(form, d.Summary.Currency)
		d.dashboard(v)
	}
	v.Data = d
	status := http.StatusOK
	if form.Invalid() {
		status = http.StatusUnprocessableEntity
	}
	s.kit.Render(w, r, status, "analytics", v)
}

// readAnalytics reads every report of the period into d.
func (s *Service) readAnalytics(ctx context.Context, q analyticsapi.Query, d *analyticsData) error {
	var err error
	a := s.deps.Analytics
	if d.Summary, err = a.Summary(ctx, q); err != nil {
		return err
	}
	// The other reports in the currency the summary settled on.
	q.Currency = d.Summary.Currency
	if d.Series, err = a.Series(ctx, q); err != nil {
		return err
	}
	top := q
	top.Limit = analyticsTop
	if d.Products, err = a.Products(ctx, top); err != nil {
		return err
	}
	if d.Categories, err = a.Categories(ctx, top); err != nil {
		return err
	}
	if d.Funnel, err = a.Funnel(ctx, q); err != nil {
		return err
	}
	d.Customers, err = a.Customers(ctx, q)
	return err
}

// dashboard draws the charts and the KPIs of d's reports.
func (d *analyticsData) dashboard(v *page.View) {
	cur := d.Summary.Currency
	amount := moneyLabel(v, cur)
	days := make([]chartDay, len(d.Series.Items))
	for i, it := range d.Series.Items {
		t, _ := time.Parse("2006-01-02", it.Date)
		days[i] = chartDay{Day: t, Amount: it.Gross}
	}
	d.Revenue = revenueLine(days, chartLabels{ID: "revenue-chart", Title: "Gross revenue by day, " + d.Summary.From + " to " + d.Summary.To,
		Amount: amount, Day: dayLabel(v)})
	bars := make([]chartBar, len(d.Products.Items))
	for i, p := range d.Products.Items {
		bars[i] = chartBar{Name: p.Name, Value: p.Revenue}
	}
	desc := "No product sold in the period."
	if len(bars) > 0 {
		desc = fmt.Sprintf("The %d best-selling products by revenue; first %s with %s.", len(bars), bars[0].Name, amount(bars[0].Value))
	}
	d.TopChart = barChart(bars, chartLabels{ID: "products-chart", Title: "Top products by revenue"}, amount, desc)
	f := d.Funnel
	d.FunnelBars = barChart([]chartBar{{"Carts opened", f.CartsCreated}, {"Checkouts started", f.CheckoutsStarted}, {"Orders confirmed", f.OrdersConfirmed}},
		chartLabels{ID: "funnel-chart", Title: "From cart to order"}, v.Number,
		fmt.Sprintf("%d carts opened, %d went to checkout, %d became a confirmed order.", f.CartsCreated, f.CheckoutsStarted, f.OrdersConfirmed))
	for _, c := range d.Summary.Currencies {
		d.Currencies = append(d.Currencies, page.Option{Value: c, Label: c})
	}
	if !slices.ContainsFunc(d.Currencies, func(o page.Option) bool { return o.Value == cur }) && cur != "" {
		d.Currencies = append(d.Currencies, page.Option{Value: cur, Label: cur})
	}
	c, p := d.Summary.Current, d.Summary.Previous
	m := func(minor int64) string { return v.Money(money.Money{Amount: minor, Currency: cur}) }
	pct := func(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + " %" }
	d.KPIs = []kpi{
		change("kpi-gross", "Gross revenue", m(c.Gross), float64(c.Gross), float64(p.Gross)),
		change("kpi-net", "Net revenue", m(c.Net), float64(c.Net), float64(p.Net)),
		change("kpi-orders", "Orders", v.Number(c.Orders), float64(c.Orders), float64(p.Orders)),
		change("kpi-aov", "Average order value", m(c.AverageOrderValue), float64(c.AverageOrderValue), float64(p.AverageOrderValue)),
		change("kpi-tax", "Tax", m(c.Tax), float64(c.Tax), float64(p.Tax)),
		change("kpi-refund-rate", "Refund rate", pct(c.RefundRate), c.RefundRate, p.RefundRate),
		change("kpi-return-rate", "Return rate", pct(c.ReturnRate), c.ReturnRate, p.ReturnRate),
		change("kpi-new", "New customers", v.Number(c.NewCustomers), float64(c.NewCustomers), float64(p.NewCustomers)),
		change("kpi-turnover", "Inventory turnover", strconv.FormatFloat(c.Turnover.Ratio, 'f', 2, 64), c.Turnover.Ratio, p.Turnover.Ratio),
	}
}

// change is a KPI with its change against the previous period in words.
func change(id, label, value string, now, before float64) kpi {
	k := kpi{ID: id, Label: label, Value: value}
	switch {
	case now == before:
		k.Change = "no change from the previous period"
	case before == 0:
		k.Change, k.Up = "up from none in the previous period", true
	default:
		r := (now - before) / math.Abs(before) * 100
		k.Up, k.Down = r > 0, r < 0
		dir := "up"
		if r < 0 {
			dir = "down"
		}
		k.Change = fmt.Sprintf("%s %s %% from the previous period", dir, strconv.FormatFloat(math.Abs(r), 'f', 1, 64))
	}
	return k
}

// analyticsCSV serves a report of the period as a CSV download, as the
// API's …/<report>.csv does, for the signed-in member.
func (s *Service) analyticsCSV(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	report, ok := strings.CutSuffix(r.PathValue("report"), ".csv")
	if s.deps.Analytics == nil || !ok {
		s.kit.NotFound(w, r)
		return
	}
	form := page.EmptyForm(r.URL.Query())
	q := analyticsQuery(form)
	if form.Invalid() {
		s.kit.NotFound(w, r)
		return
	}
	a := s.deps.Analytics
	var rows [][]string
	var rg analyticsapi.Range
	switch report {
	case "summary":
		var v analyticsapi.Summary
		v, err = a.Summary(ctx, q)
		rows, rg = analyticsapi.SummaryCSV(v), v.Range
	case "series":
		var v analyticsapi.Series
		v, err = a.Series(ctx, q)
		rows, rg = analyticsapi.SeriesCSV(v), v.Range
	case "products", "categories":
		var v analyticsapi.TopList
		q.Limit = 1000
		if report == "products" {
			v, err = a.Products(ctx, q)
			rows = analyticsapi.TopCSV("product", v)
		} else {
			v, err = a.Categories(ctx, q)
			rows = analyticsapi.TopCSV("category", v)
		}
		rg = v.Range
	case "funnel":
		var v analyticsapi.Funnel
		v, err = a.Funnel(ctx, q)
		rows, rg = analyticsapi.FunnelCSV(v), v.Range
	case "customers":
		var v analyticsapi.Customers
		v, err = a.Customers(ctx, q)
		rows, rg = analyticsapi.CustomersCSV(v), v.Range
	default:
		s.kit.NotFound(w, r)
		return
	}
	if _, refused := apiclient.Refused(err); refused {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	b, err := analyticsapi.EncodeCSV(rows)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.Download(w, "analytics-"+report+"-"+rg.From+"-"+rg.To+".csv", "text/csv; charset=utf-8")
	_, _ = w.Write(b)
}
