package admin

import (
	"net/http"
	"net/url"
	"time"

	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

func (s *Service) attendanceRoutes(route routeFunc) {
	route("GET /admin/staff/attendance", s.attendancePage)
}

// maxReportDays bounds the period of an attendance report.
const maxReportDays = 366

// attendanceData is the attendance report of a period of whole days (UTC).
type attendanceData struct {
	// Report is nil when the period typed is refused.
	Report *staffapi.AttendanceReport
	// First and Last are the period's days, both included.
	First, Last time.Time
	Lines       []attendanceLine
	// Total is the hours worked by everyone.
	Total string
}

type attendanceLine struct {
	staffapi.AttendanceLine
	Hours, Late string
}

// reportPeriod reads the period of the report form: from and to are days,
// both included; a week from this Monday when neither is given.
func reportPeriod(f *page.Form, now time.Time) (from, to time.Time) {
	if f.Get("from") == "" && f.Get("to") == "" {
		w := weekOf(now)
		f.Values.Set("from", w.Format(dayLayout))
		f.Values.Set("to", w.AddDate(0, 0, 6).Format(dayLayout))
	}
	from, ok := parseDay(f.Get("from"))
	if !ok {
		f.Fail("from", "Enter the first day, like 2026-03-02.")
	}
	last, ok := parseDay(f.Get("to"))
	if !ok {
		f.Fail("to", "Enter the last day, like 2026-03-08.")
	}
	if f.Invalid() {
		return time.Time{}, time.Time{}
	}
	to = last.AddDate(0, 0, 1)
	switch {
	case last.Before(from):
		f.Fail("to", "The last day cannot come before the first.")
	case to.Sub(from) > maxReportDays*24*time.Hour:
		f.Fail("to", "Choose a period of at most a year.")
	}
	return from, to
}

func (s *Service) attendancePage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := page.EmptyForm(url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}})
	from, to := reportPeriod(f, time.Now())
	d := &attendanceData{}
	status := http.StatusOK
	if f.Invalid() {
		status = http.StatusUnprocessableEntity
	} else {
		rep, err := s.deps.Staff.Attendance(ctx, from, to, "")
		if err != nil {
			if !f.Refused(err, nil) {
				s.kit.Fail(w, r, err)
				return
			}
			status = http.StatusUnprocessableEntity
		} else {
			d.Report, d.First, d.Last = &rep, from, to.AddDate(0, 0, -1)
			var total int64
			for _, l := range rep.Items {
				total += l.SecondsWorked
				line := attendanceLine{AttendanceLine: l, Hours: hours(l.SecondsWorked)}
				if l.LateCheckIns > 0 {
					line.Late = (time.Duration(l.LateSeconds) * time.Second).Round(time.Minute).String()
				}
				d.Lines = append(d.Lines, line)
			}
			d.Total = hours(total)
		}
	}
	v, err := s.view(r, "Attendance")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = f
	v.Data = d
	s.kit.Render(w, r, status, "attendance", v)
}
