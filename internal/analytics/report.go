package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/analytics/analyticsdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Query asks for a report's period: From and To (YYYY-MM-DD, both
// included) or the Days ending today (DefaultDays when neither), in the
// store's time zone; Currency, or the store's most used.
type Query struct {
	From, To string
	Days     int
	Currency string
}

// period is a resolved Query: its days, as calendar dates, and where they
// start and end in unix microseconds in the store's zone.
type period struct {
	analyticsapi.Range
	loc             *time.Location
	first, last     date  // From and To
	fromAt, untilAt int64 // [the first instant of first, the first instant of the day after last)
}

const dateLayout = "2006-01-02"

// date is a calendar date, held as its midnight in UTC, where every day
// has 24 hours: adding days to it never lands on the wrong day.
type date struct{ t time.Time }

// dateOf is the calendar date of t in loc.
func dateOf(t time.Time, loc *time.Location) date {
	y, m, d := t.In(loc).Date()
	return date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// parseDate reads a YYYY-MM-DD date.
func parseDate(s string) (date, error) {
	t, err := time.Parse(dateLayout, s)
	return date{t}, err
}

// add is the date n days after d (before, when n < 0).
func (d date) add(n int) date { return date{d.t.AddDate(0, 0, n)} }

func (d date) String() string { return d.t.Format(dateLayout) }

// start is the first instant of d in loc: its midnight, or, where the
// clocks skip midnight (daylight saving time starting at 00:00, as in
// Santiago or Havana), the instant the skip ends.
func (d date) start(loc *time.Location) time.Time {
	t := time.Date(d.t.Year(), d.t.Month(), d.t.Day(), 0, 0, 0, 0, loc)
	// A midnight that does not exist comes back as an instant of the day
	// before: the day begins where that instant's zone offset ends.
	for i := 0; i < 2 && dateOf(t, loc).t.Before(d.t); i++ {
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		t = end
	}
	return t
}

// span is the period of n days starting on first.
func span(r analyticsapi.Range, loc *time.Location, first date, n int) period {
	last := first.add(n - 1)
	r.From, r.To, r.Days = first.String(), last.String(), n
	return period{Range: r, loc: loc, first: first, last: last,
		fromAt: first.start(loc).UnixMicro(), untilAt: last.add(1).start(loc).UnixMicro()}
}

// before is the period of the same length just before p.
func (p period) before() period {
	return span(p.Range, p.loc, p.first.add(-p.Days), p.Days)
}

// resolve turns a Query into the period of the store in ctx.
func (s *Service) resolve(ctx context.Context, q *analyticsdb.Queries, tenant string, in Query) (period, error) {
	st, err := q.GetStore(ctx, tenant)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return period{}, fmt.Errorf("read store: %w", err)
	}
	loc := time.UTC
	if st.TimeZone != "" {
		if l, err := time.LoadLocation(st.TimeZone); err == nil {
			loc = l
		} else {
			s.log.WarnContext(ctx, "unknown store time zone; counting days in UTC", "tenant", tenant, "time_zone", st.TimeZone)
		}
	}
	curs, err := q.OrderCurrencies(ctx, tenant)
	if err != nil {
		return period{}, fmt.Errorf("read currencies: %w", err)
	}
	r := analyticsapi.Range{TimeZone: loc.String(), Currency: in.Currency, Currencies: make([]string, 0, len(curs))}
	for _, c := range curs {
		r.Currencies = append(r.Currencies, c.Currency)
	}
	if r.Currency == "" {
		r.Currency = st.Currency
		if len(curs) > 0 {
			r.Currency = curs[0].Currency
		}
	}
	var fields []kit.FieldError
	parse := func(field, v string) date {
		d, err := parseDate(v)
		if err != nil {
			fields = append(fields, kit.FieldError{Field: "query." + field, Message: "must be a date YYYY-MM-DD", Value: v})
		}
		return d
	}
	var first date
	n := in.Days
	switch {
	case in.From != "" || in.To != "":
		if in.From == "" || in.To == "" {
			fields = append(fields, kit.FieldError{Field: "query.from", Message: "from and to go together"})
			break
		}
		f, t := parse("from", in.From), parse("to", in.To)
		if len(fields) > 0 {
			break
		}
		first = f
		n = int(t.t.Sub(f.t).Hours()/24) + 1 // UTC days: 24 hours each
		if n < 1 {
			fields = append(fields, kit.FieldError{Field: "query.to", Message: "must not be before from", Value: in.To})
		}
	default:
		if n == 0 {
			n = DefaultDays
		}
		first = dateOf(s.now(), loc).add(1 - n)
	}
	if len(fields) == 0 && (n < 1 || n > s.cfg.MaxDays) {
		fields = append(fields, kit.FieldError{Field: "query.days", Message: fmt.Sprintf("a period is 1 to %d days", s.cfg.MaxDays), Value: n})
	}
	if len(fields) > 0 {
		return period{}, kit.Invalid(ErrInvalid, fields...)
	}
	return span(r, loc, first, n), nil
}

// report runs fn on the resolved period in one read transaction.
func (s *Service) report(ctx context.Context, in Query, fn func(q *analyticsdb.Queries, tenant string, p period) error) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return s.store.Read(ctx, func(q *analyticsdb.Queries) error {
		p, err := s.resolve(ctx, q, tenant, in)
		if err != nil {
			return err
		}
		return fn(q, tenant, p)
	})
}

// Summary returns the period's figures, the previous period's, and
// rolling revenue up to its last day.
func (s *Service) Summary(ctx context.Context, in Query) (analyticsapi.Summary, error) {
	var out analyticsapi.Summary
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		prev := p.before()
		out.Range, out.PreviousFrom, out.PreviousTo = p.Range, prev.From, prev.To
		var err error
		if out.Current, err = figures(ctx, q, tenant, p); err != nil {
			return err
		}
		if out.Previous, err = figures(ctx, q, tenant, prev); err != nil {
			return err
		}
		for _, n := range []int{7, 30, 90} {
			w := span(p.Range, p.loc, p.last.add(1-n), n)
			rows, err := countedOrders(ctx, q, tenant, w)
			if err != nil {
				return err
			}
			r := analyticsapi.Rolling{Days: n}
			for _, o := range rows {
				r.Gross += o.Total
				r.Net += o.Total - o.Refunded
				r.Tax += o.Tax
			}
			out.Rolling = append(out.Rolling, r)
		}
		return nil
	})
	return out, err
}

func countedOrders(ctx context.Context, q *analyticsdb.Queries, tenant string, p period) ([]analyticsdb.CountedOrdersRow, error) {
	rows, err := q.CountedOrders(ctx, analyticsdb.CountedOrdersParams{TenantID: tenant, Currency: p.Currency, FromAt: p.fromAt, UntilAt: p.untilAt})
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	return rows, nil
}

// figures computes one period's Figures.
func figures(ctx context.Context, q *analyticsdb.Queries, tenant string, p period) (analyticsapi.Figures, error) {
	var f analyticsapi.Figures
	rows, err := countedOrders(ctx, q, tenant, p)
	if err != nil {
		return f, err
	}
	for _, o := range rows {
		f.Orders++
		f.Gross += o.Total
		f.Refunded += o.Refunded
		f.Tax += o.Tax
		f.Units += o.Units
		f.ReturnedUnits += o.Returned
		if o.Refunded > 0 {
			f.RefundedOrders++
		}
	}
	f.Net = f.Gross - f.Refunded
	f.AverageOrderValue = divRound(f.Gross, f.Orders)
	f.RefundRate = ratio(f.RefundedOrders, f.Orders)
	f.ReturnRate = ratio(f.ReturnedUnits, f.Units)
	if f.NewCustomers, f.ReturningCustomers, err = customers(ctx, q, tenant, p); err != nil {
		return f, err
	}
	f.Turnover, err = turnover(ctx, q, tenant, p)
	return f, err
}

// customers counts the period's buyers whose first counted order is in it
// (new) or before it (returning).
func customers(ctx context.Context, q *analyticsdb.Queries, tenant string, p period) (fresh, returning int64, err error) {
	rows, err := q.CustomerFirstOrders(ctx, analyticsdb.CustomerFirstOrdersParams{TenantID: tenant, FromAt: p.fromAt, UntilAt: p.untilAt})
	if err != nil {
		return 0, 0, fmt.Errorf("read customers: %w", err)
	}
	for _, r := range rows {
		if r.FirstAt >= p.fromAt {
			fresh++
		} else {
			returning++
		}
	}
	return fresh, returning, nil
}

// turnover values the stock and the goods sold of the period at the
// variants' cost prices in the period's currency.
func turnover(ctx context.Context, q *analyticsdb.Queries, tenant string, p period) (analyticsapi.Turnover, error) {
	var t analyticsapi.Turnover
	costs, err := q.CostPrices(ctx, tenant)
	if err != nil {
		return t, fmt.Errorf("read cost prices: %w", err)
	}
	cost := make(map[string]int64, len(costs))
	for _, c := range costs {
		if c.Currency == p.Currency && c.CostPrice.Valid {
			cost[c.Sku] = c.CostPrice.Int64
		}
	}
	value := func(at int64) (int64, error) {
		rows, err := q.OnHandBefore(ctx, analyticsdb.OnHandBeforeParams{TenantID: tenant, BeforeAt: at})
		if err != nil {
			return 0, fmt.Errorf("read stock: %w", err)
		}
		var v int64
		for _, r := range rows {
			v += r.Units * cost[r.Sku]
		}
		return v, nil
	}
	if t.OpeningStock, err = value(p.fromAt); err != nil {
		return t, err
	}
	if t.ClosingStock, err = value(p.untilAt); err != nil {
		return t, err
	}
	sold, err := q.CommittedUnits(ctx, analyticsdb.CommittedUnitsParams{TenantID: tenant, FromAt: p.fromAt, UntilAt: p.untilAt})
	if err != nil {
		return t, fmt.Errorf("read goods sold: %w", err)
	}
	for _, r := range sold {
		t.CostOfGoodsSold += r.Units * cost[r.Sku]
	}
	t.AverageStock = divRound(t.OpeningStock+t.ClosingStock, 2)
	if t.AverageStock > 0 {
		t.Ratio = float64(t.CostOfGoodsSold) / float64(t.AverageStock)
	}
	return t, nil
}

// Series returns every day of the period with its revenue and the rolling
// sums ending on it.
func (s *Service) Series(ctx context.Context, in Query) (analyticsapi.Series, error) {
	var out analyticsapi.Series
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		out.Range = p.Range
		// 89 days before the first: the 90-day sums of the first days.
		const back = 89
		wide := span(p.Range, p.loc, p.first.add(-back), p.Days+back)
		rows, err := countedOrders(ctx, q, tenant, wide)
		if err != nil {
			return err
		}
		days := make([]analyticsapi.Day, wide.Days)
		index := make(map[string]int, wide.Days)
		for i := range days {
			days[i].Date = wide.first.add(i).String()
			index[days[i].Date] = i
		}
		for _, o := range rows {
			i, ok := index[time.UnixMicro(o.PlacedAt).In(p.loc).Format(dateLayout)]
			if !ok {
				continue // cannot happen: the rows are inside wide
			}
			d := &days[i]
			d.Orders++
			d.Gross += o.Total
			d.Net += o.Total - o.Refunded
			d.Tax += o.Tax
			d.Units += o.Units
		}
		out.Items = make([]analyticsapi.Day, 0, p.Days)
		for i := back; i < len(days); i++ {
			d := days[i]
			for j := i; j > i-90; j-- {
				if j > i-7 {
					d.Gross7 += days[j].Gross
					d.Net7 += days[j].Net
				}
				if j > i-30 {
					d.Gross30 += days[j].Gross
					d.Net30 += days[j].Net
				}
				d.Gross90 += days[j].Gross
				d.Net90 += days[j].Net
			}
			out.Items = append(out.Items, d)
		}
		return nil
	})
	return out, err
}

// Products returns the period's best-selling products, at most limit.
func (s *Service) Products(ctx context.Context, in Query, limit int) (analyticsapi.TopList, error) {
	var out analyticsapi.TopList
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		out.Range = p.Range
		rows, err := q.TopProducts(ctx, analyticsdb.TopProductsParams{TenantID: tenant, Currency: p.Currency, FromAt: p.fromAt,
			UntilAt: p.untilAt, Lim: int32(limit)})
		if err != nil {
			return fmt.Errorf("read top products: %w", err)
		}
		out.Items = make([]analyticsapi.Top, len(rows))
		for i, r := range rows {
			out.Items[i] = analyticsapi.Top{ID: r.ProductID, Name: r.Title, Units: r.Units, Revenue: r.Revenue}
		}
		return nil
	})
	return out, err
}

// Categories returns the period's best-selling categories, at most limit.
func (s *Service) Categories(ctx context.Context, in Query, limit int) (analyticsapi.TopList, error) {
	var out analyticsapi.TopList
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		out.Range = p.Range
		rows, err := q.TopCategories(ctx, analyticsdb.TopCategoriesParams{TenantID: tenant, Currency: p.Currency, FromAt: p.fromAt,
			UntilAt: p.untilAt, Lim: int32(limit)})
		if err != nil {
			return fmt.Errorf("read top categories: %w", err)
		}
		out.Items = make([]analyticsapi.Top, len(rows))
		for i, r := range rows {
			out.Items[i] = analyticsapi.Top{ID: r.CategoryID, Name: r.Name, Units: r.Units, Revenue: r.Revenue}
		}
		return nil
	})
	return out, err
}

// Funnel returns the period's carts, checkouts and confirmed orders.
func (s *Service) Funnel(ctx context.Context, in Query) (analyticsapi.Funnel, error) {
	var out analyticsapi.Funnel
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		out.Range = p.Range
		r, err := q.Funnel(ctx, analyticsdb.FunnelParams{TenantID: tenant, FromAt: p.fromAt, UntilAt: p.untilAt})
		if err != nil {
			return fmt.Errorf("read funnel: %w", err)
		}
		out.CartsCreated, out.CheckoutsStarted, out.OrdersConfirmed = r.Created, r.Started, r.Confirmed
		out.CheckoutRate, out.ConversionRate = ratio(r.Started, r.Created), ratio(r.Confirmed, r.Created)
		return nil
	})
	return out, err
}

// Customers returns the period's new and returning customers, and the
// previous period's.
func (s *Service) Customers(ctx context.Context, in Query) (analyticsapi.Customers, error) {
	var out analyticsapi.Customers
	err := s.report(ctx, in, func(q *analyticsdb.Queries, tenant string, p period) error {
		out.Range = p.Range
		var err error
		if out.New, out.Returning, err = customers(ctx, q, tenant, p); err != nil {
			return err
		}
		out.Previous.New, out.Previous.Returning, err = customers(ctx, q, tenant, p.before())
		return err
	})
	return out, err
}

// divRound is a / b rounded half up (a, b >= 0); 0 when b is 0.
func divRound(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return (2*a + b) / (2 * b)
}

// ratio is a / b; 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
