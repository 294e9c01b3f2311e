package admin

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/page"
)

func TestWeekOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-03-02T00:00:00Z", "2026-03-02"}, // a Monday
		{"2026-03-08T23:59:59Z", "2026-03-02"}, // its Sunday
		{"2026-03-09T00:00:00Z", "2026-03-09"},
		{"2026-01-01T12:00:00Z", "2025-12-29"},      // across a year
		{"2026-03-02T00:30:00+02:00", "2026-02-23"}, // Sunday evening in UTC
	} {
		in, err := time.Parse(time.RFC3339, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := weekOf(in).Format(dayLayout); got != tc.want {
			t.Errorf("weekOf(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestShiftSpan(t *testing.T) {
	for _, tc := range []struct {
		day, start, end string
		want            [2]string // RFC 3339, or the fields marked
		bad             []string
	}{
		{day: "2026-03-02", start: "09:00", end: "17:30", want: [2]string{"2026-03-02T09:00:00Z", "2026-03-02T17:30:00Z"}},
		{day: "2026-03-02", start: "22:00", end: "06:00", want: [2]string{"2026-03-02T22:00:00Z", "2026-03-03T06:00:00Z"}},
		// The same start and end is a whole day.
		{day: "2026-03-02", start: "08:00", end: "08:00", want: [2]string{"2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"}},
		{day: "2026-02-30", start: "9am", end: "", bad: []string{"day", "end", "start"}},
		{day: "1900-01-01", start: "09:00", end: "10:00", bad: []string{"day"}},
	} {
		f := page.EmptyForm(url.Values{"day": {tc.day}, "start": {tc.start}, "end": {tc.end}})
		st, en := shiftSpan(f)
		var bad []string
		for k := range f.Errors {
			bad = append(bad, k)
		}
		slices.Sort(bad)
		if !slices.Equal(bad, tc.bad) {
			t.Errorf("%s %s-%s: fields marked %v, want %v", tc.day, tc.start, tc.end, bad, tc.bad)
			continue
		}
		if tc.bad == nil {
			if got := [2]string{st.Format(time.RFC3339), en.Format(time.RFC3339)}; got != tc.want {
				t.Errorf("%s %s-%s = %v, want %v", tc.day, tc.start, tc.end, got, tc.want)
			}
		}
	}
}

func TestReportPeriod(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC) // a Wednesday
	f := page.EmptyForm(nil)
	from, to := reportPeriod(f, now)
	if f.Invalid() || from != time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) || to != time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC) {
		t.Errorf("default period %v to %v (%v), want this week", from, to, f.Errors)
	}
	if f.Get("from") != "2026-03-02" || f.Get("to") != "2026-03-08" {
		t.Errorf("the form shows %s to %s", f.Get("from"), f.Get("to"))
	}
	for _, tc := range []struct{ from, to, bad string }{
		{"2026-03-05", "2026-03-04", "to"},
		{"2025-01-01", "2026-03-04", "to"},
		{"2026-13-01", "2026-03-04", "from"},
		{"2026-03-01", "2026-03-01", ""},
	} {
		f := page.EmptyForm(url.Values{"from": {tc.from}, "to": {tc.to}})
		reportPeriod(f, now)
		if tc.bad == "" && f.Invalid() || tc.bad != "" && f.Error(tc.bad) == "" {
			t.Errorf("%s to %s: marked %v, want %q", tc.from, tc.to, f.Errors, tc.bad)
		}
	}
}

func TestHours(t *testing.T) {
	for secs, want := range map[int64]string{0: "0 h", 3600: "1 h", 5400: "1.5 h", 27000: "7.5 h", 3660: "1.02 h", 60: "0.02 h"} {
		if got := hours(secs); got != want {
			t.Errorf("hours(%d) = %q, want %q", secs, got, want)
		}
	}
}

func TestPickColor(t *testing.T) {
	for _, tc := range []struct{ text, picker, was, want string }{
		{"#1f5f4a", "#1f5f4a", "#1f5f4a", "#1f5f4a"}, // nothing changed
		{"#123456", "#1f5f4a", "#1f5f4a", "#123456"}, // typed
		{"#1F5F4A", "#abcdef", "#1f5f4a", "#abcdef"}, // picked (the text only changed case)
		{"red", "#abcdef", "#1f5f4a", "red"},         // typed wins, and is refused later
		{"#1f5f4a", "", "#1f5f4a", "#1f5f4a"},        // no picker
	} {
		if got := pickColor(tc.text, tc.picker, tc.was); got != tc.want {
			t.Errorf("pickColor(%q, %q, %q) = %q, want %q", tc.text, tc.picker, tc.was, got, tc.want)
		}
	}
	for c, want := range map[string]bool{"#1f5f4a": true, "#ABCDEF": true, "red": false, "#fff": false, "#12345g": false, "1f5f4a0": false, `#"><x>`: false} {
		if hexColor(c) != want {
			t.Errorf("hexColor(%q) = %v", c, !want)
		}
	}
}

func TestOrigins(t *testing.T) {
	got := origins(" https://a.example \r\n\r\nhttps://b.example:8443\n  \n")
	if want := []string{"https://a.example", "https://b.example:8443"}; !slices.Equal(got, want) {
		t.Errorf("origins = %q, want %q", got, want)
	}
	if got := origins(""); got == nil || len(got) != 0 {
		t.Errorf("no origins = %#v, want an empty list (it clears them)", got)
	}
}
