package analytics

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// oracleOrder is an order of the oracle's workload, as its events tell it.
type oracleOrder struct {
	id, email, currency      string
	placed                   time.Time
	total, tax, units        int64
	refunded, returned       int64
	confirmed, cancelledLate bool // cancelledLate: confirmed, then cancelled
}

// oracleWorkload is six months of orders in Santiago (where the clocks
// skip midnight on 2026-09-06 and 00:00 happens twice on 2026-04-05) by
// a few customers, some buying again (their email spelled differently),
// some in another currency, some cancelled before or after confirmation,
// refunded or partly returned; with orders on the first and last instants
// of the skipped-midnight day. The events come shuffled.
func oracleWorkload(t *testing.T, tenant string, loc *time.Location, now time.Time) ([]oracleOrder, []outbox.Envelope) {
	r := rand.New(rand.NewPCG(15, 2026))
	emails := []string{"ann@example.com", " Ann@Example.com", "bob@example.com", "cy@example.com", "dee@example.com",
		"eve@example.com", "fay@example.com", "gus@example.com", "hal@example.com", "ida@example.com"}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	var orders []oracleOrder
	add := func(placed time.Time) {
		o := oracleOrder{id: fmt.Sprintf("o%03d", len(orders)), email: emails[r.IntN(len(emails))], currency: "EUR", placed: placed,
			units: 1 + r.Int64N(4), confirmed: r.IntN(10) != 0}
		o.total = o.units * (500 + r.Int64N(5000))
		o.tax = o.total / 6
		if r.IntN(8) == 0 {
			o.currency = "USD"
		}
		if o.confirmed && r.IntN(10) == 0 {
			o.cancelledLate = true
		}
		if o.confirmed && !o.cancelledLate && r.IntN(4) == 0 {
			o.refunded = 1 + r.Int64N(o.total)
		}
		if o.confirmed && !o.cancelledLate && r.IntN(5) == 0 {
			o.returned = 1 + r.Int64N(o.units)
		}
		orders = append(orders, o)
	}
	for range 400 {
		add(start.Add(time.Duration(r.Int64N(int64(now.Sub(start))))))
	}
	// Around the skipped midnight, and the repeated one.
	for _, at := range []time.Time{time.Date(2026, 9, 6, 1, 0, 0, 0, loc), time.Date(2026, 9, 6, 1, 0, 0, 0, loc).Add(-time.Second),
		time.Date(2026, 9, 6, 1, 30, 0, 0, loc), time.Date(2026, 9, 7, 0, 0, 0, 0, loc).Add(-time.Second), time.Date(2026, 9, 7, 0, 0, 0, 0, loc),
		time.Date(2026, 4, 4, 23, 30, 0, 0, loc), time.Date(2026, 4, 4, 23, 30, 0, 0, loc).Add(time.Hour), time.Date(2026, 4, 5, 0, 30, 0, 0, loc)} {
		add(at)
	}

	var evs []outbox.Envelope
	evs = append(evs, event(t, tenant, tenantapi.SubjectTenantUpdated, start, map[string]any{"tenant_id": tenant,
		"settings": map[string]any{"currency": "EUR", "time_zone": loc.String()}, "updated_at": start}))
	for i, o := range orders {
		m := func(v int64) money.Money { return money.Money{Amount: v, Currency: o.currency} }
		ord := orderapi.Order{ID: o.id, Status: orderapi.StatusConfirmed, Email: o.email, Currency: o.currency, CreatedAt: o.placed,
			Lines: []orderapi.Line{{SKU: "MUG-1", ProductID: "p1", Title: "Mug", Quantity: o.units, Total: m(o.total - o.tax)}},
			Total: m(o.total), Tax: m(o.tax)}
		later := o.placed.Add(time.Hour)
		if o.confirmed {
			evs = append(evs, event(t, tenant, orderapi.SubjectConfirmed, o.placed, orderapi.OrderEvent{Order: ord}))
		}
		if !o.confirmed || o.cancelledLate {
			c := ord
			c.Status = orderapi.StatusCancelled
			evs = append(evs, event(t, tenant, orderapi.SubjectCancelled, later, orderapi.OrderEvent{Order: c}))
		}
		if o.refunded > 0 {
			ref := ord
			ref.Refunded = m(o.refunded)
			evs = append(evs, event(t, tenant, orderapi.SubjectRefunded, later, orderapi.Refunded{Order: ref, Amount: m(o.refunded)}))
		}
		if o.returned > 0 {
			// Received in two parcels when it can be, days later.
			parts := []int64{o.returned}
			if o.returned > 1 {
				parts = []int64{1, o.returned - 1}
			}
			for j, n := range parts {
				ret := orderapi.Return{ID: fmt.Sprintf("r%03d-%d", i, j), Status: orderapi.ReturnReceived,
					Lines: []orderapi.ReturnLine{{SKU: "MUG-1", Quantity: n}}, UpdatedAt: later.Add(72 * time.Hour)}
				evs = append(evs, event(t, tenant, orderapi.SubjectReturnReceived, ret.UpdatedAt, orderapi.ReturnEvent{Order: ord, Return: ret}))
			}
		}
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	return orders, evs
}

// oracle computes the reports by walking the orders one by one, with the
// definitions of docs/analytics.md: an order counts when confirmed and
// never cancelled, on the calendar day (in loc) it was placed.
type oracle struct {
	orders []oracleOrder
	loc    *time.Location
}

func (o oracle) day(x oracleOrder) string { return x.placed.In(o.loc).Format("2006-01-02") }

func (o oracle) counts(x oracleOrder) bool { return x.confirmed && !x.cancelledLate }

// shift is the date n days after the date d.
func shift(d string, n int) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		panic(err)
	}
	return t.AddDate(0, 0, n).Format("2006-01-02")
}

// figures of the days from to to (both included) in EUR.
func (o oracle) figures(from, to string) analyticsapi.Figures {
	var f analyticsapi.Figures
	for _, x := range o.orders {
		if d := o.day(x); !o.counts(x) || x.currency != "EUR" || d < from || d > to {
			continue
		}
		f.Orders++
		f.Gross += x.total
		f.Refunded += x.refunded
		f.Tax += x.tax
		f.Units += x.units
		f.ReturnedUnits += x.returned
		if x.refunded > 0 {
			f.RefundedOrders++
		}
	}
	f.Net = f.Gross - f.Refunded
	if f.Orders > 0 {
		f.AverageOrderValue = (f.Gross*10/f.Orders + 5) / 10
		f.RefundRate = float64(f.RefundedOrders) / float64(f.Orders)
	}
	if f.Units > 0 {
		f.ReturnRate = float64(f.ReturnedUnits) / float64(f.Units)
	}
	f.NewCustomers, f.ReturningCustomers = o.customers(from, to)
	return f
}

// customers of the days from to to, in every currency.
func (o oracle) customers(from, to string) (fresh, returning int64) {
	in, before := map[string]bool{}, map[string]bool{}
	for _, x := range o.orders {
		if !o.counts(x) {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(x.email))
		switch d := o.day(x); {
		case d < from:
			before[key] = true
		case d <= to:
			in[key] = true
		}
	}
	for c := range in {
		if before[c] {
			returning++
		} else {
			fresh++
		}
	}
	return fresh, returning
}

// TestReportsAgainstOracle: every figure of the summary, the series and
// the customers, for periods across daylight saving changes, equals the
// oracle's.
func TestReportsAgainstOracle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		loc, err := time.LoadLocation("America/Santiago")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 9, 20, 12, 0, 0, 0, loc)
		s := newTestService(t, db, now)
		orders, evs := oracleWorkload(t, "acme", loc, now)
		for _, e := range evs {
			if _, err := s.Handle(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		o := oracle{orders: orders, loc: loc}
		ctx := tenancy.WithID(t.Context(), "acme")
		today := now.Format("2006-01-02")
		type period struct {
			q        Query
			from, to string
		}
		periods := []period{
			{Query{Days: 7}, shift(today, -6), today},
			{Query{}, shift(today, -29), today},
			{Query{Days: 90}, shift(today, -89), today},
			{Query{From: "2026-09-06", To: "2026-09-06"}, "2026-09-06", "2026-09-06"},
			{Query{From: "2026-09-01", To: "2026-09-10"}, "2026-09-01", "2026-09-10"},
			{Query{From: "2026-04-04", To: "2026-04-05"}, "2026-04-04", "2026-04-05"},
			{Query{From: "2026-05-01", To: "2026-07-31"}, "2026-05-01", "2026-07-31"},
		}
		var returning, previous, refunds, returns int64
		for _, p := range periods {
			name := p.from + ".." + p.to
			n := int(mustDate(t, p.to).Sub(mustDate(t, p.from)).Hours()/24) + 1
			pf, pt := shift(p.from, -n), shift(p.from, -1)

			sum, err := s.Summary(ctx, p.q)
			if err != nil {
				t.Fatal(err)
			}
			if sum.From != p.from || sum.To != p.to || sum.Days != n || sum.PreviousFrom != pf || sum.PreviousTo != pt || sum.Currency != "EUR" {
				t.Errorf("%s: range %+v, previous %s..%s", name, sum.Range, sum.PreviousFrom, sum.PreviousTo)
			}
			if want := o.figures(p.from, p.to); sum.Current != want {
				t.Errorf("%s: figures\n%+v, want\n%+v", name, sum.Current, want)
			}
			if want := o.figures(pf, pt); sum.Previous != want {
				t.Errorf("%s: previous figures\n%+v, want\n%+v", name, sum.Previous, want)
			}
			for _, r := range sum.Rolling {
				w := o.figures(shift(p.to, 1-r.Days), p.to)
				if r.Gross != w.Gross || r.Net != w.Net || r.Tax != w.Tax {
					t.Errorf("%s: rolling %+v, want gross %d net %d tax %d", name, r, w.Gross, w.Net, w.Tax)
				}
			}
			cus, err := s.Customers(ctx, p.q)
			if err != nil {
				t.Fatal(err)
			}
			nw, rt := o.customers(p.from, p.to)
			pn, pr := o.customers(pf, pt)
			if cus.New != nw || cus.Returning != rt || cus.Previous.New != pn || cus.Previous.Returning != pr {
				t.Errorf("%s: customers %+v, want %d %d, previous %d %d", name, cus, nw, rt, pn, pr)
			}
			ser, err := s.Series(ctx, p.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(ser.Items) != n {
				t.Fatalf("%s: %d days in the series", name, len(ser.Items))
			}
			for i, d := range ser.Items {
				day := shift(p.from, i)
				f, f7, f30, f90 := o.figures(day, day), o.figures(shift(day, -6), day), o.figures(shift(day, -29), day), o.figures(shift(day, -89), day)
				want := analyticsapi.Day{Date: day, Orders: f.Orders, Gross: f.Gross, Net: f.Net, Tax: f.Tax, Units: f.Units,
					Gross7: f7.Gross, Net7: f7.Net, Gross30: f30.Gross, Net30: f30.Net, Gross90: f90.Gross, Net90: f90.Net}
				if d != want {
					t.Errorf("%s: day %d\n%+v, want\n%+v", name, i, d, want)
				}
			}
			returning += sum.Current.ReturningCustomers
			previous += sum.Previous.Gross
			refunds += sum.Current.RefundedOrders
			returns += sum.Current.ReturnedUnits
		}
		// The workload exercises what it is for.
		if returning == 0 || previous == 0 || refunds == 0 || returns == 0 {
			t.Errorf("a trivial workload: returning %d, previous gross %d, refunds %d, returns %d", returning, previous, refunds, returns)
		}
		if d := o.figures("2026-09-06", "2026-09-06"); d.Orders < 2 {
			t.Errorf("only %d orders on the day midnight is skipped", d.Orders)
		}
	}, Migrations...)
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
