package admin

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) homeRoutes(route routeFunc) {
	route("GET /admin/{$}", s.home)
}

const (
	// revenueDays is how many days the revenue chart shows, today included.
	revenueDays = 30
	// maxRevenueOrders bounds the orders the home page reads for the
	// chart: a busy store's chart says it is made of the latest ones.
	maxRevenueOrders = 2000
	// latestOrders and lowStockRows are the lengths of the home's lists.
	latestOrders = 5
	lowStockRows = 10
)

// homeData is the start page's own data.
type homeData struct {
	Revenue revenue
	Chart   template.HTML
	// Table is the chart as a table: each day and its revenue.
	Table    []dayRevenue
	Latest   []orderRow
	LowStock []inventoryapi.StockLevel
	MoreLow  bool
}

// revenue is what the last days' orders add up to: paid orders only (those
// confirmed, shipping, shipped or delivered), their totals less refunds,
// in the store's currency, by day in UTC.
type revenue struct {
	Days          []chartDay
	Total         money.Money
	Today         money.Money
	TodayOrders   int64
	PaidOrders    int64
	Read          int64 // orders read
	Cut           bool  // the walk stopped at maxRevenueOrders
	OtherCurrency int64 // paid orders in another currency, left out
}

// dayRevenue is a row of the chart's table.
type dayRevenue struct {
	Day    time.Time
	Amount money.Money
}

// orderRow is an order of a list, with a short reference to link it by.
type orderRow struct {
	orderapi.Order
	Ref string
}

// orderRef is the short reference of an order: the end of its ID (the
// start of a UUIDv7 is its time, shared by orders placed together).
func orderRef(id string) string {
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return strings.ToUpper(id)
}

// home is the back office's start page: today's orders and revenue, the
// last 30 days' revenue, the latest orders and the SKUs low on stock.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Today")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	rev, latest, err := s.revenue(ctx, v.Store.Currency, time.Now())
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	low, err := s.deps.Inventory.List(ctx, inventoryapi.ListParams{Low: true, Limit: lowStockRows})
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	table := make([]dayRevenue, len(rev.Days))
	for i, d := range rev.Days {
		table[i] = dayRevenue{Day: d.Day, Amount: money.Money{Amount: d.Amount, Currency: rev.Total.Currency}}
	}
	rows := make([]orderRow, len(latest))
	for i, o := range latest {
		rows[i] = orderRow{Order: o, Ref: orderRef(o.ID)}
	}
	v.Data = homeData{
		Revenue:  rev,
		Chart:    revenueChart(rev.Days, chartLabels{Title: "Revenue by day, last 30 days", Amount: moneyLabel(v, rev.Total.Currency), Day: dayLabel(v)}),
		Table:    table,
		Latest:   rows,
		LowStock: low.Items,
		MoreLow:  low.NextCursor != "",
	}
	s.kit.Render(w, r, http.StatusOK, "home", v)
}

// moneyLabel formats minor units of currency as the page shows money.
func moneyLabel(v *page.View, currency string) func(int64) string {
	return func(m int64) string { return v.Money(money.Money{Amount: m, Currency: currency}) }
}

// dayLabel formats a day short, in the store's language ("3 Dec").
func dayLabel(v *page.View) func(time.Time) string {
	return func(t time.Time) string {
		if v.Lang() == "en-US" {
			return t.UTC().Format("Jan 2")
		}
		return t.UTC().Format("2 Jan")
	}
}

// paid are the order statuses whose total counts as revenue.
var paid = map[orderapi.Status]bool{
	orderapi.StatusConfirmed: true, orderapi.StatusShipping: true, orderapi.StatusShipped: true, orderapi.StatusDelivered: true,
}

// revenue walks the admin order list, newest first, back to the start of
// the first chart day, and adds the paid orders up by day. It reads at
// most maxRevenueOrders orders. It also returns the latest orders.
func (s *Service) revenue(ctx context.Context, currency string, now time.Time) (revenue, []orderapi.Order, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(revenueDays - 1))
	rev := revenue{Days: make([]chartDay, revenueDays), Total: money.Money{Currency: currency}, Today: money.Money{Currency: currency}}
	for i := range rev.Days {
		rev.Days[i].Day = from.AddDate(0, 0, i)
	}
	var latest []orderapi.Order
	lp := orderapi.ListParams{CreatedFrom: from, Limit: 100}
	for {
		pg, err := s.deps.Orders.List(ctx, lp)
		if err != nil {
			return revenue{}, nil, err
		}
		if latest == nil {
			latest = pg.Items[:min(latestOrders, len(pg.Items))]
		}
		for _, o := range pg.Items {
			if rev.Read == maxRevenueOrders {
				rev.Cut = true
				break
			}
			rev.Read++
			if !paid[o.Status] {
				continue
			}
			if o.Currency != currency {
				rev.OtherCurrency++
				continue
			}
			day := int(o.CreatedAt.UTC().Truncate(24*time.Hour).Sub(from) / (24 * time.Hour))
			if day < 0 || day >= revenueDays {
				continue
			}
			amount := o.Total.Amount - o.Refunded.Amount
			rev.Days[day].Amount += amount
			rev.Total.Amount += amount
			rev.PaidOrders++
			if day == revenueDays-1 {
				rev.Today.Amount += amount
				rev.TodayOrders++
			}
		}
		if rev.Cut || pg.NextCursor == "" {
			break
		}
		lp.Cursor = pg.NextCursor
	}
	if len(latest) == 0 {
		// Nothing in the chart's days: the latest orders are older.
		pg, err := s.deps.Orders.List(ctx, orderapi.ListParams{Limit: latestOrders})
		if err != nil {
			return revenue{}, nil, err
		}
		latest = pg.Items
	}
	return rev, latest, nil
}
