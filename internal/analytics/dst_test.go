package analytics

import (
	"testing"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestDayStart: a day's first instant where the clocks skip midnight
// (2026-09-06 in Santiago, 2026-03-08 in Havana: 00:00 becomes 01:00) is
// its 01:00, not 23:00 of the day before; elsewhere its midnight.
func TestDayStart(t *testing.T) {
	for _, c := range []struct {
		zone, day, want string
	}{
		{"America/Santiago", "2026-09-06", "2026-09-06T01:00:00-03:00"},
		{"America/Santiago", "2026-09-05", "2026-09-05T00:00:00-04:00"},
		{"America/Santiago", "2026-09-07", "2026-09-07T00:00:00-03:00"},
		{"America/Santiago", "2026-04-05", "2026-04-05T00:00:00-04:00"}, // 00:00 happens twice: the first
		{"America/Havana", "2026-03-08", "2026-03-08T01:00:00-04:00"},
		{"America/Havana", "2026-11-01", "2026-11-01T00:00:00-04:00"},
		{"Europe/Paris", "2026-03-29", "2026-03-29T00:00:00+01:00"},
		{"UTC", "2026-03-29", "2026-03-29T00:00:00Z"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		d, err := parseDate(c.day)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.start(loc).In(loc).Format(time.RFC3339); got != c.want {
			t.Errorf("%s in %s starts at %s, want %s", c.day, c.zone, got, c.want)
		}
	}
}

// TestSkippedMidnight: in Santiago on the day its clocks skip midnight,
// "the last 7 days" end today, a series lists every day once, and that
// day's orders count on it.
func TestSkippedMidnight(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		loc, err := time.LoadLocation("America/Santiago")
		if err != nil {
			t.Fatal(err)
		}
		at := func(d, h, m int) time.Time { return time.Date(2026, 9, d, h, m, 0, 0, loc) }
		s := newTestService(t, db, at(6, 15, 0))
		evs := []outbox.Envelope{event(t, "acme", tenantapi.SubjectTenantUpdated, at(1, 0, 0), map[string]any{"tenant_id": "acme",
			"settings": map[string]any{"currency": "EUR", "time_zone": "America/Santiago"}, "updated_at": at(1, 0, 0)})}
		for i, placed := range []time.Time{at(5, 23, 30), at(6, 1, 30), at(6, 14, 0), at(7, 0, 30)} {
			o := order("o"+string(rune('1'+i)), "ann@example.com", "", placed, orderapi.StatusConfirmed, 1, int64(1000*(i+1)), 0, 0)
			evs = append(evs, event(t, "acme", orderapi.SubjectConfirmed, placed, orderapi.OrderEvent{Order: o}))
		}
		for _, e := range evs {
			if _, err := s.Handle(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		ctx := tenancy.WithID(t.Context(), "acme")

		sum, err := s.Summary(ctx, Query{Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		if sum.From != "2026-08-31" || sum.To != "2026-09-06" || sum.Current.Orders != 3 || sum.Current.Gross != 6000 {
			t.Errorf("last 7 days = %+v %+v", sum.Range, sum.Current)
		}
		if sum.PreviousFrom != "2026-08-24" || sum.PreviousTo != "2026-08-30" {
			t.Errorf("previous = %s to %s", sum.PreviousFrom, sum.PreviousTo)
		}
		// The 6th alone: its two orders, not the 5th's.
		if sum, err := s.Summary(ctx, Query{From: "2026-09-06", To: "2026-09-06"}); err != nil || sum.Days != 1 ||
			sum.Current.Orders != 2 || sum.Current.Gross != 5000 || sum.PreviousFrom != "2026-09-05" || sum.Previous.Gross != 1000 {
			t.Errorf("the 6th = %+v %+v %+v, %v", sum.Range, sum.Current, sum.Previous, err)
		}
		ser, err := s.Series(ctx, Query{From: "2026-09-04", To: "2026-09-08"})
		if err != nil {
			t.Fatal(err)
		}
		want := []analyticsapi.Day{{Date: "2026-09-04"}, {Date: "2026-09-05", Orders: 1, Gross: 1000}, {Date: "2026-09-06", Orders: 2, Gross: 5000},
			{Date: "2026-09-07", Orders: 1, Gross: 4000}, {Date: "2026-09-08"}}
		if len(ser.Items) != len(want) {
			t.Fatalf("series = %+v", ser.Items)
		}
		for i, d := range ser.Items {
			if d.Date != want[i].Date || d.Orders != want[i].Orders || d.Gross != want[i].Gross {
				t.Errorf("day %d = %+v, want %+v", i, d, want[i])
			}
		}
		if last := ser.Items[len(ser.Items)-1]; last.Gross7 != 10000 {
			t.Errorf("7 days to the 8th = %d", last.Gross7)
		}
	}, Migrations...)
}
