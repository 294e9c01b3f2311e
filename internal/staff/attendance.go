package staff

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/staff/staffapi"
)

// interval is one check-in as the report sees it: [in, out). An open one
// (the employee is still in) has out = the report's time.
type interval struct {
	in, out time.Time
	open    bool
}

// span is one planned shift: [start, end).
type span struct {
	start, end time.Time
}

// worked is what summarize finds for one employee.
type worked struct {
	seconds                 int64
	checkIns                int
	checkedIn               bool
	planned, attended, late int
	lateSeconds             int64
}

// summarize is the attendance math of one employee over the period
// [from, to). ivs are the employee's check-ins that may overlap the period
// or the shifts (open ones end at the report's time); shifts are the
// employee's shifts starting in the period.
//
//   - Worked time is the sum of the intervals clipped to the period. The
//     intervals of one employee never overlap (one open check-in at a time),
//     so they are summed without merging.
//   - A shift is attended when an interval overlaps it; it was a late
//     check-in when the first such interval began more than grace after
//     the shift's start (late seconds count from the start).
func summarize(from, to time.Time, ivs []interval, shifts []span, grace time.Duration) worked {
	var w worked
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(a, b interval) int { return a.in.Compare(b.in) })
	for _, iv := range ivs {
		if iv.open {
			w.checkedIn = true
		}
		in, out := later(iv.in, from), earlier(iv.out, to)
		if out.After(in) {
			w.seconds += int64(out.Sub(in) / time.Second)
		}
		// An interval touching the period counts as a check-in of it,
		// even one of zero length (in and out at once).
		if iv.in.Before(to) && (iv.out.After(from) || !iv.in.Before(from)) {
			w.checkIns++
		}
	}
	for _, sh := range shifts {
		w.planned++
		for _, iv := range ivs {
			if iv.in.Before(sh.end) && iv.out.After(sh.start) {
				w.attended++
				if late := iv.in.Sub(sh.start); late > grace {
					w.late++
					w.lateSeconds += int64(late / time.Second)
				}
				break // ivs are sorted: the first that overlaps decides
			}
		}
	}
	return w
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// hours formats seconds as hours with two decimals, rounded half up:
// integer arithmetic, so 27000 s is exactly "7.50".
func hours(seconds int64) string {
	sign := ""
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	cents := (seconds*100 + 1800) / 3600
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// csvHeader is the header row of the CSV report.
var csvHeader = []string{
	"employee_id", "name", "email", "role", "active", "seconds_worked", "hours_worked", "check_ins",
	"checked_in", "shifts_planned", "shifts_attended", "late_check_ins", "late_seconds",
}

// writeCSV writes the report as CSV (RFC 4180: CRLF line ends, fields
// quoted as needed by encoding/csv) with a header row.
func writeCSV(w io.Writer, r staffapi.AttendanceReport) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for _, l := range r.Items {
		rec := []string{
			l.EmployeeID, l.Name, l.Email, string(l.Role), strconv.FormatBool(l.Active),
			strconv.FormatInt(l.SecondsWorked, 10), l.HoursWorked, strconv.Itoa(l.CheckIns),
			strconv.FormatBool(l.CheckedIn), strconv.Itoa(l.ShiftsPlanned), strconv.Itoa(l.ShiftsAttended),
			strconv.Itoa(l.LateCheckIns), strconv.FormatInt(l.LateSeconds, 10),
		}
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv row of %s: %w", l.EmployeeID, err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses CSV (formula) injection: a spreadsheet runs a cell that
// starts with = + - @ (or a tab or carriage return, which some strip before
// looking) as a formula, so such a cell gets a leading apostrophe and is
// shown as text. Every cell goes through it; none of the numeric ones can
// start with those characters.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
