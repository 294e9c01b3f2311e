package main

import (
	"context"
	"crypto/rand"
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

	"github.com/spf13/cobra"
	"golang.org/x/crypto/argon2"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/bench"
)

// benchPassword is the password of every account a benchmark creates.
const benchPassword = "bench correct horse battery"

// loginOptions are the flags of `mercato bench login` beyond the shared ones.
type loginOptions struct {
	benchOptions
	accounts int
}

func (c *cli) benchLoginCommand() *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Measure customer logins (argon2id verification) per second and per core",
		Long: `Measure POST /api/v1/auth/login of the default store: -accounts customers are
registered, then logged in with the right password, rotating through them, by
-workers concurrent workers. A response counts as good when it is a 200 with
an access token.

A login is dominated by argon2id: the report gives logins/s, latencies, and
logins/s per core (÷ GOMAXPROCS of this process, which in the in-process run
serves the requests and generates the load), with the argon2id parameters of
-identity.argon2.* and the rate at which this process computes bare argon2id
hashes with the same parameters and workers, the ceiling of the login rate.

The login throttle counts failed logins only and every login here succeeds,
so no limit is raised and none refuses a request. Without -url, Mercato is
booted in this process as for bench catalog.`,
		Example: `  mercato bench login
  mercato bench login -workers 4 -duration 20s
  mercato bench login -identity.argon2.memory 19456 -identity.argon2.time 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(c.cfg); err != nil {
				return fmt.Errorf("bench login:\n%w", err)
			}
			if o.accounts < 1 || o.accounts > 1000 {
				return fmt.Errorf("bench login: -accounts must be between 1 and 1000, got %d", o.accounts)
			}
			params, err := argon2Flags(cmd)
			if err != nil {
				return fmt.Errorf("bench login: %w", err)
			}
			if o.url != "" {
				return c.benchLogin(cmd.Context(), strings.TrimSuffix(o.url, "/"), o, params, "")
			}
			return c.withBenchInstance(cmd.Context(), o.benchOptions, func(ctx context.Context, base, note string, _ *app.System) error {
				return c.benchLogin(ctx, base, o, params, note)
			})
		},
	}
	o.register(cmd, "/api/v1/auth/login")
	cmd.Flags().IntVar(&o.accounts, "accounts", 20, "customer accounts to register and log in, in turn")
	_ = cmd.Flags().MarkHidden("path")
	return cmd
}

// argon2Params are the password hashing costs of the identity service.
type argon2Params struct {
	memory, time uint32
	threads      uint8
}

func (p argon2Params) String() string {
	return fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", p.memory, p.time, p.threads)
}

// argon2Flags reads the -identity.argon2.* flags (the in-process instance
// uses them; with -url they are what the operator says the server uses).
func argon2Flags(cmd *cobra.Command) (argon2Params, error) {
	fs := cmd.Flags()
	m, err1 := fs.GetUint32("identity.argon2.memory")
	t, err2 := fs.GetUint32("identity.argon2.time")
	p, err3 := fs.GetUint8("identity.argon2.threads")
	if err := errors.Join(err1, err2, err3); err != nil {
		return argon2Params{}, fmt.Errorf("read the argon2 flags: %w", err)
	}
	return argon2Params{memory: m, time: t, threads: p}, nil
}

// benchRun is a short random tag that keeps one run's emails apart from
// another's.
func benchRun() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

func (c *cli) benchLogin(ctx context.Context, base string, o loginOptions, params argon2Params, note string) error {
	bc := benchClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	run := benchRun()
	emails := make([]string, o.accounts)
	fmt.Fprintf(c.stderr, "registering %d customers …\n", o.accounts)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-login-%s-%d@example.com", run, i)
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/auth/register",
			map[string]string{"email": emails[i], "password": benchPassword, "name": "Bench customer"}, nil); err != nil {
			return fmt.Errorf("register customers: %w", err)
		}
	}
	target := bench.Target{
		Name:   "mercato login",
		Method: http.MethodPost,
		URL:    base + "/api/v1/auth/login",
		Header: http.Header{"Content-Type": {"application/json"}},
		Vary: func(seq uint64, _ http.Header, _ []byte) []byte {
			b, _ := json.Marshal(map[string]string{"email": emails[seq%uint64(len(emails))], "password": benchPassword})
			return b
		},
		Check: func(r bench.Response) error {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &tok) != nil || tok.AccessToken == "" {
				return errors.New("no access token")
			}
			return nil
		},
	}
	load := o.load()
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(c.stdout, "bench login: POST /api/v1/auth/login · %d accounts in turn · %s\n", o.accounts, params)
	fmt.Fprintf(c.stdout, "load: %s · %s warm-up + %s measured\n\n", load.Mode(), o.warmup, o.duration)
	res, err := c.measure(ctx, target, load, o.cpuProfile)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "measuring bare argon2id hashes on %d workers …\n", o.workers)
	hashes := argon2Rate(ctx, params, o.workers, min(o.duration, 5*time.Second))
	if err := bench.WriteTable(c.stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nlogins/s per core: %.1f (%.0f logins/s ÷ GOMAXPROCS=%d)\n", res.Throughput/float64(procs), res.Throughput, procs)
	if hashes > 0 {
		fmt.Fprintf(c.stdout, "bare %s: %.0f hashes/s on %d workers (%.1f per core): logins reach %.0f%% of it\n",
			params, hashes, o.workers, hashes/float64(procs), 100*res.Throughput/hashes)
	}
	fmt.Fprintln(c.stdout, "The login throttle counts failed logins only; every login here succeeds, so no limit applied.")
	fmt.Fprintf(c.stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(c.stdout, note+".")
	}
	return nil
}

// argon2Rate computes argon2id hashes of p on workers goroutines for d and
// returns how many it did per second: the most logins this process could
// verify if hashing were all a login did.
func argon2Rate(ctx context.Context, p argon2Params, workers int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		count int
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			salt := make([]byte, 16)
			n := 0
			for ctx.Err() == nil {
				argon2.IDKey([]byte(benchPassword), salt, p.time, p.memory, p.threads, 32)
				n++
			}
			mu.Lock()
			count += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return float64(count) / time.Since(start).Seconds()
}

// checkinOptions are the flags of `mercato bench checkin` beyond the
// shared ones.
type checkinOptions struct {
	benchOptions
	employees int
}

func (c *cli) benchCheckinCommand() *cobra.Command {
	var o checkinOptions
	cmd := &cobra.Command{
		Use:   "checkin",
		Short: "Measure staff check-ins and check-outs, then check the attendance they left",
		Long: `Measure POST /api/v1/staff/check-ins and /api/v1/staff/check-outs of the default
store. The benchmark invites -employees staff members (identity), accepts the
invitations (which gives each an access token) and adds an employee linked to
each account (staff), all with the admin token; then -workers workers check
them in and out, each employee with their own token.

Each worker owns its employees (employee i belongs to worker i mod -workers)
and takes them in turn, checking one in, then the next, and checking each
out on its next turn: one employee's requests never overlap, so no check-in
can meet an open one. Good responses are a 201 check-in and a 200 check-out.

After the run every employee still in is checked out, then once more, which
must answer 409 not_checked_in (no second open check-in); the attendance
report of the run's period must count, per employee, the check-ins made and
the seconds of the check-outs answered, and nobody checked in.

The admin token must be valid in the default store: it is, in the in-process
run (no owner yet); with -url give the running instance's (-admin-token).`,
		Example: `  mercato bench checkin
  mercato bench checkin -employees 64 -workers 8 -duration 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(c.cfg); err != nil {
				return fmt.Errorf("bench checkin:\n%w", err)
			}
			if o.employees < o.workers || o.employees > 1000 {
				return fmt.Errorf("bench checkin: -employees must be between -workers (%d) and 1000, got %d", o.workers, o.employees)
			}
			if o.rate != 0 {
				return errors.New("bench checkin: -rate is not supported: each worker drives its own employees as fast as it goes")
			}
			if o.url != "" {
				return c.benchCheckin(cmd.Context(), strings.TrimSuffix(o.url, "/"), o, "", "")
			}
			return c.withBenchInstance(cmd.Context(), o.benchOptions, func(ctx context.Context, base, note string, sys *app.System) error {
				return c.benchCheckin(ctx, base, o, sys.Platform.Config.Web.AdminToken, note)
			})
		},
	}
	o.register(cmd, "/api/v1/staff/check-ins")
	cmd.Flags().IntVar(&o.employees, "employees", 32, "employees with staff accounts to check in and out (at least -workers)")
	_ = cmd.Flags().MarkHidden("path")
	_ = cmd.Flags().MarkHidden("rate")
	// Its workers are its own (one request at a time per employee), not
	// bench.Run's: no CPU profile of them.
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

// benchEmployee is one employee of the check-in benchmark and what the run
// did with them, as their worker saw it.
type benchEmployee struct {
	id, token string
	in        bool
	checkIns  int
	seconds   int64
	// unsure is set when a request's outcome is unknown (a transport
	// error): the employee is left out of the per-employee comparison.
	unsure bool
}

func (c *cli) benchCheckin(ctx context.Context, base string, o checkinOptions, token, note string) error {
	if o.cpuProfile != "" {
		return errors.New("bench checkin: -cpuprofile is not supported here")
	}
	if token == "" {
		token = c.cfg.Web.AdminToken
	}
	if token == "" {
		t, _, err := app.AdminToken(c.cfg)
		if err != nil {
			return err
		}
		token = t
	}
	bc := benchClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	run := benchRun()
	fmt.Fprintf(c.stderr, "inviting %d staff members and adding their employees …\n", o.employees)
	emps, err := benchEmployees(ctx, bc, run, o.employees)
	if err != nil {
		return fmt.Errorf("prepare employees: %w", err)
	}
	from := time.Now().Add(-time.Minute).UTC()

	load := o.load()
	fmt.Fprintf(c.stdout, "bench checkin: POST /api/v1/staff/check-ins and /check-outs · %d employees, each owned by one worker\n", len(emps))
	fmt.Fprintf(c.stdout, "load: %s · %s warm-up + %s measured\n\n", load.Mode(), o.warmup, o.duration)
	fmt.Fprintf(c.stderr, "measuring check-ins and check-outs at %s …\n", base)
	res := driveCheckins(ctx, base, emps, load)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench checkin: %w", err)
	}
	if err := bench.WriteTable(c.stdout, res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nreq/s counts good check-ins and check-outs together (half of each).")
	fmt.Fprintf(c.stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(c.stdout, note+".")
	}

	fmt.Fprintln(c.stdout, "\ninvariants after the run:")
	failed, err := checkAttendance(ctx, c.stdout, bc, emps, from)
	if err != nil {
		return fmt.Errorf("check attendance: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("bench checkin: %d invariant(s) violated", failed)
	}
	return nil
}

// benchEmployees invites n staff members, accepts each invitation (which
// signs them in) and adds an employee linked to each account.
func benchEmployees(ctx context.Context, bc benchClient, run string, n int) ([]*benchEmployee, error) {
	emps := make([]*benchEmployee, n)
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
		emps[i] = &benchEmployee{id: emp.ID, token: acc.AccessToken}
	}
	return emps, nil
}

// driveCheckins runs l.Workers workers for l.Warmup then l.Duration; worker
// w owns the employees whose index is w modulo the workers and toggles them
// in turn (in if out, out if in). Only requests started in the measured
// phase are counted; requests in flight when it ends finish and count.
func driveCheckins(ctx context.Context, base string, emps []*benchEmployee, l bench.Load) bench.Result {
	hc := &http.Client{
		Timeout:   l.Timeout,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: l.Workers, IdleConnTimeout: 30 * time.Second},
	}
	if hc.Timeout == 0 {
		hc.Timeout = bench.DefaultTimeout
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
		var own []*benchEmployee
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

	res := bench.Result{Target: "mercato check-in/out"}
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
				res.ErrorKinds = append(res.ErrorKinds, bench.ErrorKind{Kind: s.kind})
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
func toggle(ctx context.Context, hc *http.Client, base string, e *benchEmployee) string {
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
func checkAttendance(ctx context.Context, w io.Writer, bc benchClient, emps []*benchEmployee, from time.Time) (int, error) {
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
	byID := map[string]*benchEmployee{}
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
