package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// Shifts are planned a week at a time. The store has no time zone yet, so
// days and times are UTC, and the pages say so.
func (s *Service) shiftRoutes(route routeFunc) {
	route("GET /admin/staff/shifts", s.shiftsPage)
	route("POST /admin/staff/shifts", s.planShift)
	route("GET /admin/staff/shifts/{id}", s.shiftPage)
	route("POST /admin/staff/shifts/{id}", s.moveShift)
	route("POST /admin/staff/shifts/{id}/delete", s.deleteShift)
}

const (
	dayLayout  = "2006-01-02"
	timeLayout = "15:04"
	// maxShiftPages bounds the pages of shifts one week shows (500 each).
	maxShiftPages = 4
	// maxEmployeePages bounds the pages of employees looked through to
	// name them (500 each).
	maxEmployeePages = 20
)

// weekOf returns the Monday (00:00 UTC) of the week of t.
func weekOf(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// parseDay reads a date typed as YYYY-MM-DD (an <input type=date>).
func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse(dayLayout, s)
	return t, err == nil && t.Year() >= 2000 && t.Year() < 3000
}

// shiftSpan reads a shift typed as a day and two times of day: an end at
// or before the start ends the next day (a night shift).
func shiftSpan(f *page.Form) (start, end time.Time) {
	day, ok := parseDay(f.Get("day"))
	if !ok {
		f.Fail("day", "Enter the day, like 2026-03-02.")
	}
	from, err := time.Parse(timeLayout, f.Get("start"))
	if err != nil {
		f.Fail("start", "Enter the start time, like 09:00.")
	}
	to, err := time.Parse(timeLayout, f.Get("end"))
	if err != nil {
		f.Fail("end", "Enter the end time, like 17:30.")
	}
	if f.Invalid() {
		return time.Time{}, time.Time{}
	}
	start = day.Add(time.Duration(from.Hour())*time.Hour + time.Duration(from.Minute())*time.Minute)
	end = day.Add(time.Duration(to.Hour())*time.Hour + time.Duration(to.Minute())*time.Minute)
	if !end.After(start) {
		end = end.AddDate(0, 0, 1)
	}
	return start, end
}

// hours formats seconds as hours with at most two decimals: "7.5 h".
func hours(seconds int64) string {
	h := strconv.FormatFloat(float64(seconds)/3600, 'f', 2, 64)
	for h[len(h)-1] == '0' {
		h = h[:len(h)-1]
	}
	if h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	return h + " h"
}

// shiftFields maps the shift API's field locations to the form's.
var shiftFields = map[string]string{"starts_at": "start", "ends_at": "end", "employee_id": "employee_id", "note": "note"}

// shiftsData is a week of shifts and the form that plans one.
type shiftsData struct {
	Week, Prev, Next string // YYYY-MM-DD of Mondays
	WeekDate         time.Time
	Days             []shiftDay
	// Truncated: the week has more shifts than the page shows.
	Truncated bool
	Employees []page.Option
	Plan      *page.Form
}

type shiftDay struct {
	Weekday string
	Date    time.Time
	Shifts  []shiftRow
}

// shiftRow is a shift as a list shows it.
type shiftRow struct {
	staffapi.Shift
	Name, From, To, Hours string
	// NextDay: the shift ends the day after it starts.
	NextDay bool
}

func newShiftRow(sh staffapi.Shift, names map[string]string) shiftRow {
	name := names[sh.EmployeeID]
	if name == "" {
		name = "Unknown employee"
	}
	st, en := sh.StartsAt.UTC(), sh.EndsAt.UTC()
	return shiftRow{Shift: sh, Name: name, From: st.Format(timeLayout), To: en.Format(timeLayout), Hours: hours(sh.DurationSeconds),
		NextDay: en.Truncate(24 * time.Hour).After(st.Truncate(24 * time.Hour))}
}

// employees returns the store's employees (up to maxEmployeePages pages).
func (s *Service) employees(ctx context.Context) ([]staffapi.Employee, error) {
	var all []staffapi.Employee
	cursor := ""
	for range maxEmployeePages {
		l, err := s.deps.Staff.Employees(ctx, staffapi.EmployeeParams{Page: staffapi.Page{Cursor: cursor, Limit: 500}})
		if err != nil {
			return nil, fmt.Errorf("list employees: %w", err)
		}
		all = append(all, l.Items...)
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	return all, nil
}

func (s *Service) shiftsPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	week := weekOf(time.Now())
	if q := r.URL.Query().Get("week"); q != "" {
		d, ok := parseDay(q)
		if !ok {
			s.kit.NotFound(w, r)
			return
		}
		week = weekOf(d)
	}
	plan := page.EmptyForm(url.Values{"day": {week.Format(dayLayout)}, "start": {"09:00"}, "end": {"17:00"}})
	s.renderShifts(ctx, w, r, http.StatusOK, week, plan)
}

func (s *Service) renderShifts(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, week time.Time, plan *page.Form) {
	emps, err := s.employees(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	names := map[string]string{}
	d := &shiftsData{Week: week.Format(dayLayout), WeekDate: week, Prev: week.AddDate(0, 0, -7).Format(dayLayout),
		Next: week.AddDate(0, 0, 7).Format(dayLayout), Plan: plan}
	for _, e := range emps {
		names[e.ID] = e.Name
		if e.Active {
			d.Employees = append(d.Employees, page.Option{Value: e.ID, Label: e.Name})
		}
	}
	for i := range 7 {
		day := week.AddDate(0, 0, i)
		d.Days = append(d.Days, shiftDay{Weekday: day.Weekday().String(), Date: day})
	}
	cursor := ""
	for i := 0; ; i++ {
		if i == maxShiftPages {
			d.Truncated = true
			break
		}
		l, err := s.deps.Staff.Shifts(ctx, staffapi.ShiftParams{From: week, To: week.AddDate(0, 0, 7), Page: staffapi.Page{Cursor: cursor, Limit: 500}})
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		for _, sh := range l.Items {
			// A shift is listed on the day it starts; one that began the
			// week before shows on Monday.
			day := int(sh.StartsAt.Sub(week) / (24 * time.Hour))
			if sh.StartsAt.Before(week) {
				day = 0
			}
			if day > 6 {
				continue
			}
			d.Days[day].Shifts = append(d.Days[day].Shifts, newShiftRow(sh, names))
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	v, err := s.view(r, "Shifts")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = d
	v.Form = plan
	s.kit.Render(w, r, status, "shifts", v)
}

// planShift plans a shift; the form's Idempotency-Key plans it once
// however often the form is sent.
func (s *Service) planShift(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	in := staffapi.ShiftCreate{EmployeeID: f.Get("employee_id"), Note: f.Get("note")}
	if in.EmployeeID == "" {
		f.Fail("employee_id", "Choose the employee.")
	}
	in.StartsAt, in.EndsAt = shiftSpan(f)
	if !f.Invalid() {
		sh, err := s.deps.Staff.CreateShift(ctx, in, f.Key())
		if err == nil {
			s.kit.Redirect(w, r, "/admin/staff/shifts?week="+weekOf(sh.StartsAt).Format(dayLayout), "The shift is planned.")
			return
		}
		if !s.shiftRefused(f, err) {
			s.kit.Fail(w, r, err)
			return
		}
	}
	week := weekOf(time.Now())
	if d, ok := parseDay(f.Get("day")); ok {
		week = weekOf(d)
	}
	s.renderShifts(ctx, w, r, http.StatusUnprocessableEntity, week, f)
}

// shiftRefused marks the form with the staff API's refusal of a shift; it
// reports false for any other error.
func (s *Service) shiftRefused(f *page.Form, err error) bool {
	switch {
	case errors.Is(err, staffapi.ErrShiftOverlap):
		f.Fail("start", "This overlaps another shift of the employee.")
		f.Message = "The employee has another shift at that time."
		return true
	case errors.Is(err, staffapi.ErrInactive):
		f.Fail("employee_id", "This employee is inactive.")
		return true
	case errors.Is(err, staffapi.ErrNotFound):
		f.Fail("employee_id", "There is no such employee.")
		return true
	}
	return f.Refused(err, shiftFields)
}

// shiftData is one shift and the form that moves it.
type shiftData struct {
	Shift shiftRow
	Week  string
	Move  *page.Form
}

func (s *Service) shiftPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	sh, err := s.deps.Staff.Shift(ctx, r.PathValue("id"))
	if err != nil {
		s.shiftFail(w, r, err)
		return
	}
	st, en := sh.StartsAt.UTC(), sh.EndsAt.UTC()
	f := page.EmptyForm(url.Values{"day": {st.Format(dayLayout)}, "start": {st.Format(timeLayout)}, "end": {en.Format(timeLayout)}, "note": {sh.Note}})
	s.renderShift(ctx, w, r, http.StatusOK, sh, f)
}

func (s *Service) shiftFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, staffapi.ErrNotFound) {
		s.kit.NotFound(w, r)
		return
	}
	s.kit.Fail(w, r, err)
}

func (s *Service) renderShift(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, sh staffapi.Shift, f *page.Form) {
	names := map[string]string{}
	if e, err := s.deps.Staff.Employee(ctx, sh.EmployeeID); err == nil {
		names[e.ID] = e.Name
	} else if !errors.Is(err, staffapi.ErrNotFound) {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Shift")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = &shiftData{Shift: newShiftRow(sh, names), Week: weekOf(sh.StartsAt).Format(dayLayout), Move: f}
	v.Form = f
	s.kit.Render(w, r, status, "shifts-edit", v)
}

// moveShift moves a shift (and changes its note).
func (s *Service) moveShift(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	f := page.ParseForm(w, r)
	start, end := shiftSpan(f)
	if !f.Invalid() {
		note := f.Get("note")
		sh, err := s.deps.Staff.UpdateShift(ctx, id, staffapi.ShiftUpdate{StartsAt: &start, EndsAt: &end, Note: &note})
		if err == nil {
			s.kit.Redirect(w, r, "/admin/staff/shifts?week="+weekOf(sh.StartsAt).Format(dayLayout), "The shift is moved.")
			return
		}
		if errors.Is(err, staffapi.ErrNotFound) || !s.shiftRefused(f, err) {
			s.shiftFail(w, r, err)
			return
		}
	}
	sh, err := s.deps.Staff.Shift(ctx, id)
	if err != nil {
		s.shiftFail(w, r, err)
		return
	}
	s.renderShift(ctx, w, r, http.StatusUnprocessableEntity, sh, f)
}

func (s *Service) deleteShift(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	id := r.PathValue("id")
	sh, err := s.deps.Staff.Shift(ctx, id)
	if err == nil {
		err = s.deps.Staff.DeleteShift(ctx, id)
	}
	if err != nil {
		s.shiftFail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/staff/shifts?week="+weekOf(sh.StartsAt).Format(dayLayout), "The shift is deleted.")
}
