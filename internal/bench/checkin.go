package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// CheckinOptions are the settings of `mercato bench checkin` beyond the
// shared ones.
type CheckinOptions struct {
	Options
	// Employees is how many employees with staff accounts are checked in
	// and out; at least Load.Workers.
	Employees int
}

// Checkin is `mercato bench checkin`: it measures staff check-ins and
// check-outs, then checks the attendance they left.
func (r *Runner) Checkin(ctx context.Context, o CheckinOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench checkin:\n%w", err)
	}
	if o.Employees < o.Load.Workers || o.Employees > 1000 {
		return fmt.Errorf("bench checkin: -employees must be between -workers (%d) and 1000, got %d", o.Load.Workers, o.Employees)
	}
	if o.Load.Rate != 0 {
		return errors.New("bench checkin: -rate is not supported: each worker drives its own employees as fast as it goes")
	}
	if o.URL != "" {
		return r.checkin(ctx, strings.TrimSuffix(o.URL, "/"), o, "", "")
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		return r.checkin(ctx, base, o, sys.Platform.Config.Web.AdminToken, note)
	})
}

// employee is one employee of the check-in benchmark and what the run
// did with them, as their worker saw it.
type employee struct {
	id, token string
	in        bool
	checkIns  int
	seconds   int64
	// unsure is set when a request's outcome is unknown (a transport
	// error): the employee is left out of the per-employee comparison.
	unsure bool
}

// checkin prepares the employees, drives their check-ins and check-outs
// at base and checks the attendance.
func (r *Runner) checkin(ctx context.Context, base string, o CheckinOptions, token, note string) error {
	if o.CPUProfile != "" {
		return errors.New("bench checkin: -cpuprofile is not supported here")
	}
	token, err := r.adminToken(token)
	if err != nil {
		return err
	}
	bc := apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	run := runTag()
	fmt.Fprintf(r.Stderr, "inviting %d staff members and adding their employees …\n", o.Employees)
	emps, err := createEmployees(ctx, bc, run, o.Employees)
	if err != nil {
		return fmt.Errorf("prepare employees: %w", err)
	}
	from := time.Now().Add(-time.Minute).UTC()

	load := o.Load
	fmt.Fprintf(r.Stdout, "bench checkin: POST /api/v1/staff/check-ins and /check-outs · %d employees, each owned by one worker\n", len(emps))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured\n\n", load.Mode(), load.Warmup, load.Duration)
	fmt.Fprintf(r.Stderr, "measuring check-ins and check-outs at %s …\n", base)
	res := driveCheckins(ctx, base, emps, load)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench checkin: %w", err)
	}
	if err := WriteTable(r.Stdout, res); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, "\nreq/s counts good check-ins and check-outs together (half of each).")
	fmt.Fprintf(r.Stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}

	fmt.Fprintln(r.Stdout, "\ninvariants after the run:")
	failed, err := checkAttendance(ctx, r.Stdout, bc, emps, from)
	if err != nil {
		return fmt.Errorf("check attendance: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("bench checkin: %d invariant(s) violated", failed)
	}
	return nil
}

// createEmployees invites n staff members, accepts each invitation (which
// signs them in) and adds an employee linked to each account.
func createEmployees(ctx context.Context, bc apiClient, run string, n int) ([]*employee, error) {
	emps := make([]*employee, n)
	for i := range emps {
		email := fmt.Sprintf("bench-staff-%s-%d@example.com", run, i)
		var inv struct {
			Token string `json:"token"`
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/staff/invitations",
			map[string]string{"email": email, "role": "staff"}, &inv); err != nil {
			return nil, err
		}
		var acc struct {
			AccessToken string `json:"access_token"`
			Staff       struct {
				ID string `json:"id"`
			} `json:"staff"`
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/staff/invitations/accept",
			map[string]string{"token": inv.Token, "password": benchPassword, "name": fmt.Sprintf("Bench staff %d", i)}, &acc); err != nil {
			return nil, err
		}
		var emp struct {
			ID string `json:"id"`
		}
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/admin/staff/employees", map[string]string{
			"account_id": acc.Staff.ID, "name": fmt.Sprintf("Bench staff %d", i), "email": email, "role": "staff",
		}, &emp); err != nil {
			return nil, err
		}
		emps[i] = &employee{id: emp.ID, token: acc.AccessToken}
	}
	return emps, nil
}

// driveCheckins runs l.Workers workers for l.Warmup then l.Duration; worker
// w owns the employees whose index is w modulo the workers and toggles them
// in turn (in if out, out if in). Only requests started in the measured
// phase are counted; requests in flight when it ends finish and count.
func driveCheckins(ctx context.Context, base string, emps []*employee, l Load) Result {
	hc := &http.Client{
		Timeout:   l.Timeout,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: l.Workers, IdleConnTimeout: 30 * time.Second},
	}
	if hc.Timeout == 0 {
		hc.Timeout = DefaultTimeout
	}
	defer hc.CloseIdleConnections()
	measureFrom := time.Now().Add(l.Warmup)
	end := measureFrom.Add(l.Duration)
	type sample struct {
		at      time.Time
		latency time.Duration
		kind    string // "" for a good response
	}
	samples := make([][]sample, l.Workers)
	var wg sync.WaitGroup
	for w := range l.Workers {
		var own []*employee
		for i := w; i < len(emps); i += l.Workers {
			own = append(own, emps[i])
		}
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				start := time.Now()
				if !start.Before(end) {
					return
				}
				kind := toggle(ctx, hc, base, own[k%len(own)])
				if !start.Before(measureFrom) {
					samples[w] = append(samples[w], sample{at: start, latency: time.Since(start), kind: kind})
				}
			}
		})
	}
	wg.Wait()

	res := Result{Target: "mercato check-in/out"}
	var lat []time.Duration
	var first, last time.Time
	kinds := map[string]int{}
	for _, ws := range samples {
		for _, s := range ws {
			res.Requests++
			lat = append(lat, s.latency)
			if first.IsZero() || s.at.Before(first) {
				first = s.at
			}
			if e := s.at.Add(s.latency); e.After(last) {
				last = e
			}
			if s.kind == "" {
				res.OK++
				continue
			}
			res.Errors++
			i, ok := kinds[s.kind]
			if !ok {
				i = len(res.ErrorKinds)
				kinds[s.kind] = i
				res.ErrorKinds = append(res.ErrorKinds, ErrorKind{Kind: s.kind})
			}
			res.ErrorKinds[i].Count++
		}
	}
	if res.Requests == 0 {
		return res
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	var total time.Duration
	for _, d := range lat {
		total += d
	}
	res.Elapsed = last.Sub(first)
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Rate = float64(res.Requests) / s
		res.Throughput = float64(res.OK) / s
	}
	res.Mean = total / time.Duration(len(lat))
	res.P50, res.P95, res.P99, res.Max = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	return res
}

// toggle checks e in if out, out if in, and records the outcome in e. It
// returns "" for a good response, else the kind of error.
func toggle(ctx context.Context, hc *http.Client, base string, e *employee) string {
	path, want := "/api/v1/staff/check-ins", http.StatusCreated
	if e.in {
		path, want = "/api/v1/staff/check-outs", http.StatusOK
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(`{"location":"bench"}`))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := hc.Do(req)
	if err != nil {
		e.unsure = true
		return "transport error"
	}
	defer res.Body.Close()
	var a struct {
		Code            string `json:"code"`
		DurationSeconds int64  `json:"duration_seconds"`
	}
	dec := json.NewDecoder(res.Body).Decode(&a)
	switch {
	case res.StatusCode == want && dec == nil:
		if e.in {
			e.seconds += a.DurationSeconds
		} else {
			e.checkIns++
		}
		e.in = !e.in
		return ""
	case a.Code == "already_checked_in":
		// Cannot happen with one request at a time per employee: report it.
		e.in, e.unsure = true, true
	case a.Code == "not_checked_in":
		e.in, e.unsure = false, true
	default:
		e.unsure = true
	}
	return fmt.Sprintf("HTTP %d %s on %s", res.StatusCode, a.Code, path)
}

// checkAttendance checks everyone out, checks that nobody had a second
// check-in open, and compares the attendance report with what the run did.
// It prints one line per invariant and returns how many failed.
func checkAttendance(ctx context.Context, w io.Writer, bc apiClient, emps []*employee, from time.Time) (int, error) {
	failed := 0
	report := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "  %s %s\n", mark, fmt.Sprintf(format, args...))
	}
	hc := bc.http
	secondOpen, unsure := 0, 0
	for _, e := range emps {
		if e.unsure {
			unsure++
		}
		if e.in && toggle(ctx, hc, bc.base, e) != "" {
			return failed, fmt.Errorf("check out employee %s after the run", e.id)
		}
		// Checked out: a second check-out finds an open check-in only if
		// there were two.
		was := *e
		e.in = true
		if kind := toggle(ctx, hc, bc.base, e); !strings.Contains(kind, "not_checked_in") {
			secondOpen++
		}
		*e = was
	}
	report(secondOpen == 0, "no employee had a second check-in open (%d of %d did)", secondOpen, len(emps))

	var rep struct {
		Items []struct {
			EmployeeID    string `json:"employee_id"`
			SecondsWorked int64  `json:"seconds_worked"`
			CheckIns      int    `json:"check_ins"`
			CheckedIn     bool   `json:"checked_in"`
		} `json:"items"`
	}
	to := time.Now().Add(time.Minute).UTC()
	path := "/api/v1/admin/staff/attendance?from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	if _, err := bc.call(ctx, http.MethodGet, path, nil, &rep); err != nil {
		return failed, err
	}
	byID := map[string]*employee{}
	var wantIns int
	var wantSeconds int64
	for _, e := range emps {
		byID[e.id] = e
		wantIns += e.checkIns
		wantSeconds += e.seconds
	}
	in, mismatched, seen := 0, 0, 0
	var gotIns int
	var gotSeconds int64
	for _, l := range rep.Items {
		e, ok := byID[l.EmployeeID]
		if !ok {
			continue
		}
		seen++
		gotIns += l.CheckIns
		gotSeconds += l.SecondsWorked
		if l.CheckedIn {
			in++
		}
		if !e.unsure && (l.CheckIns != e.checkIns || l.SecondsWorked != e.seconds) {
			mismatched++
		}
	}
	report(seen == len(emps), "the attendance report lists every employee of the run (%d of %d)", seen, len(emps))
	report(in == 0, "nobody is checked in after the final check-outs (%d are)", in)
	report(mismatched == 0, "per employee, check-ins and seconds worked equal the run's answers (%d differ; %d left out after an unknown outcome)", mismatched, unsure)
	report(unsure > 0 || (gotIns == wantIns && gotSeconds == wantSeconds),
		"the report sums to the run's totals: %d check-ins (run: %d), %d seconds worked (run: %d)", gotIns, wantIns, gotSeconds, wantSeconds)
	return failed, nil
}
