package storefront

import (
	"testing"

	"github.com/mercato/mercato/internal/review/reviewapi"
)

// TestRatingView: the average in the store's locale with one decimal,
// stars rounded to whole ones, and the histogram from five stars down.
func TestRatingView(t *testing.T) {
	r := reviewapi.Rating{ProductID: "p1", Count: 4, Average: 4.25, Histogram: [5]int64{0, 0, 1, 1, 2}}
	for _, c := range []struct{ lang, avg string }{{"en", "4.3"}, {"de", "4,3"}} {
		v := newRatingView(r, c.lang)
		if v.Average != c.avg {
			t.Errorf("%s: average %q, want %q", c.lang, v.Average, c.avg)
		}
	}
	v := newRatingView(r, "en")
	if v.Stars() != "★★★★☆" {
		t.Errorf("stars %q", v.Stars())
	}
	if len(v.Bars) != 5 || v.Bars[0].Stars != 5 || v.Bars[0].Count != 2 || v.Bars[4].Stars != 1 || v.Bars[4].Total != 4 {
		t.Errorf("bars %+v", v.Bars)
	}
	if got := newRatingView(reviewapi.Rating{Average: 4.5, Count: 2}, "en").Stars(); got != "★★★★★" {
		t.Errorf("4.5 rounds to %q", got)
	}
	if stars(0) != "☆☆☆☆☆" || stars(7) != "★★★★★" {
		t.Error("stars out of range")
	}
}
