package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/mercato/mercato/internal/app"
)

// benchPassword is the password of every account a benchmark creates.
const benchPassword = "bench correct horse battery"

// LoginOptions are the settings of `mercato bench login` beyond the shared
// ones.
type LoginOptions struct {
	Options
	// Accounts is how many customer accounts are registered and logged in,
	// in turn.
	Accounts int
	// Argon2 are the password hashing costs the server uses: the
	// in-process instance's, or what the operator says a -url one uses.
	Argon2 Argon2
}

// Argon2 are the password hashing costs of the identity service.
type Argon2 struct {
	Memory, Time uint32
	Threads      uint8
}

// String describes the costs: "argon2id m=65536 KiB, t=1, p=4".
func (p Argon2) String() string {
	return fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
}

// Login is `mercato bench login`: it registers customers, logs them in
// under load and sets the rate against bare argon2id hashes.
func (r *Runner) Login(ctx context.Context, o LoginOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench login:\n%w", err)
	}
	if o.Accounts < 1 || o.Accounts > 1000 {
		return fmt.Errorf("bench login: -accounts must be between 1 and 1000, got %d", o.Accounts)
	}
	if o.URL != "" {
		return r.login(ctx, strings.TrimSuffix(o.URL, "/"), o, "")
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, _ *app.System) error {
		return r.login(ctx, base, o, note)
	})
}

// runTag is a short random tag that keeps one run's emails apart from
// another's.
func runTag() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// login registers the customers and measures their logins at base.
func (r *Runner) login(ctx context.Context, base string, o LoginOptions, note string) error {
	params := o.Argon2
	bc := apiClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	defer bc.http.CloseIdleConnections()
	run := runTag()
	emails := make([]string, o.Accounts)
	fmt.Fprintf(r.Stderr, "registering %d customers …\n", o.Accounts)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-login-%s-%d@example.com", run, i)
		if _, err := bc.call(ctx, http.MethodPost, "/api/v1/auth/register",
			map[string]string{"email": emails[i], "password": benchPassword, "name": "Bench customer"}, nil); err != nil {
			return fmt.Errorf("register customers: %w", err)
		}
	}
	target := Target{
		Name:   "mercato login",
		Method: http.MethodPost,
		URL:    base + "/api/v1/auth/login",
		Header: http.Header{"Content-Type": {"application/json"}},
		Vary: func(seq uint64, _ http.Header, _ []byte) []byte {
			b, _ := json.Marshal(map[string]string{"email": emails[seq%uint64(len(emails))], "password": benchPassword})
			return b
		},
		Check: func(r Response) error {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &tok) != nil || tok.AccessToken == "" {
				return errors.New("no access token")
			}
			return nil
		},
	}
	load := o.Load
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(r.Stdout, "bench login: POST /api/v1/auth/login · %d accounts in turn · %s\n", o.Accounts, params)
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured\n\n", load.Mode(), load.Warmup, load.Duration)
	res, err := r.measure(ctx, target, load, o.CPUProfile)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Stderr, "measuring bare argon2id hashes on %d workers …\n", o.Load.Workers)
	hashes := argon2Rate(ctx, params, o.Load.Workers, min(o.Load.Duration, 5*time.Second))
	if err := WriteTable(r.Stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "\nlogins/s per core: %.1f (%.0f logins/s ÷ GOMAXPROCS=%d)\n", res.Throughput/float64(procs), res.Throughput, procs)
	if hashes > 0 {
		fmt.Fprintf(r.Stdout, "bare %s: %.0f hashes/s on %d workers (%.1f per core): logins reach %.0f%% of it\n",
			params, hashes, o.Load.Workers, hashes/float64(procs), 100*res.Throughput/hashes)
	}
	fmt.Fprintln(r.Stdout, "The login throttle counts failed logins only; every login here succeeds, so no limit applied.")
	fmt.Fprintf(r.Stdout, "Load generator and server share this machine's %d CPUs.\n", runtime.NumCPU())
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	return nil
}

// argon2Rate computes argon2id hashes of p on workers goroutines for d and
// returns how many it did per second: the most logins this process could
// verify if hashing were all a login did.
func argon2Rate(ctx context.Context, p Argon2, workers int, d time.Duration) float64 {
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
				argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, 32)
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
