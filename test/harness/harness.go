// Package harness runs the real mercato binary for black-box tests: it
// builds it once, starts it on a loopback port with a fresh data directory,
// waits until it is ready, talks to it over HTTP and stops it with SIGTERM.
// test/e2e and test/browser use it.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Build compiles cmd/mercato into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "mercato")
	// The fault-injection tag gives the binary the crash tests' flag
	// (-order.crash-after); a production build has none.
	cmd := exec.Command("go", "build", "-tags", "faultinject", "-o", bin, "github.com/mercato/mercato/cmd/mercato")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return bin, nil
}

// Main builds the binary for a test package's TestMain, runs the tests and
// exits; the tests read the binary's path from *bin.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "mercato-test-")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	*bin, err = Build(dir)
	if err != nil {
		os.Stderr.WriteString("build mercato: " + err.Error() + "\n")
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// KeyCacheOnSources reads every directory of the module, so that go test's
// cache knows a test depends on the files in them. These tests run a binary
// built from the module, which their own test binary does not import:
// without this, a change to the server could leave a stale "(cached)" pass.
// go test records each directory read and reruns the test when the name,
// size or modification time of an entry changes.
func KeyCacheOnSources(t testing.TB) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // .git, .ci: not part of the binary
		}
		return nil // a file that vanished under a concurrent edit is no error
	})
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Proc is a running mercato process.
type Proc struct {
	t   *testing.T
	Cmd *exec.Cmd
	URL string
	// MetricsURL is the base URL of the metrics listener.
	MetricsURL string
	Token      string
	Stdout     *Output
	Stderr     *Output
	done       chan error
}

// Output collects a process's output; it is safe to read while written.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Output) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Output) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// postgresSlot is held by the one test of this test binary that runs
// Mercato processes on the PostgreSQL server at a time; postgresLock, a
// session advisory lock on the server, by the one test of every test
// binary (go test runs packages in parallel: test/e2e beside
// test/distributed). A process takes up to -db.max-conns connections (40
// by default) and the fault harness 21 processes' worth: two such tests
// at once pass a stock server's 100 connections, and a process that finds
// no room refuses to start.
var postgresSlot = make(chan struct{}, 1)

// postgresLock is the advisory lock key HoldPostgres takes ("mercato!").
const postgresLock = 0x6d65726361746f21

// HoldPostgres waits until no other test, of this binary or another, runs
// Mercato on the PostgreSQL server of MERCATO_TEST_POSTGRES, and holds
// that until t ends (its later cleanups, such as stopping its processes,
// run first). A test calls it before it seeds or starts a process with
// -db, never twice.
func HoldPostgres(t testing.TB) {
	t.Helper()
	select {
	case postgresSlot <- struct{}{}:
	case <-time.After(20 * time.Minute):
		t.Fatal("waited 20 minutes for another test's Mercato on PostgreSQL to end")
	}
	t.Cleanup(func() { <-postgresSlot })
	url := os.Getenv("MERCATO_TEST_POSTGRES")
	if url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("hold the PostgreSQL server for this test: %v", err)
	}
	// The lock is the session's: closing the connection gives it back,
	// also when the test binary dies.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(postgresLock)); err != nil {
		t.Fatalf("wait for other test binaries' Mercato on PostgreSQL to end: %v", err)
	}
}

// UsesPostgres reports whether args start Mercato on PostgreSQL (-db=…).
func UsesPostgres(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-db=postgres") || strings.HasPrefix(a, "--db=postgres") {
			return true
		}
	}
	return false
}

var runningRe = regexp.MustCompile(`Mercato is running: storefront API (http://[^/\s]+)/`)
var metricsRe = regexp.MustCompile(`Prometheus metrics: (http://[^/\s]+)/metrics`)
var tokenRe = regexp.MustCompile(`admin token \(shown once[^)]*\): (\S+)`)

// Start runs the mercato binary bin with args (plus a loopback port) and waits until it is
// ready. The process is killed when the test ends if still running.
func Start(t *testing.T, bin string, env []string, args ...string) *Proc {
	t.Helper()
	KeyCacheOnSources(t)
	args = append([]string{"-addr=127.0.0.1:0", "-metrics.addr=127.0.0.1:0", "-log.level=warn"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{t: t, Cmd: cmd, Stdout: &Output{}, Stderr: &Output{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(p.Stdout, pw)
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mercato: %v", err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("mercato %v stdout:\n%s\nstderr:\n%s", args, p.Stdout, p.Stderr)
		}
	})
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		var running string
		for sc.Scan() {
			line := sc.Text()
			if m := tokenRe.FindStringSubmatch(line); m != nil {
				p.Token = m[1]
			}
			if m := runningRe.FindStringSubmatch(line); m != nil {
				running = m[1]
			}
			// The metrics line follows the running line.
			if m := metricsRe.FindStringSubmatch(line); m != nil && running != "" {
				found <- [2]string{running, m[1]}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-found:
		p.URL = strings.Replace(u[0], "localhost", "127.0.0.1", 1)
		p.MetricsURL = u[1]
	case err := <-p.done:
		t.Fatalf("mercato exited at start: %v\nstderr:\n%s", err, p.Stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("mercato did not start within 60s\nstderr:\n%s", p.Stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// Stop sends SIGTERM and expects a clean exit.
func (p *Proc) Stop() {
	p.t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("mercato exited with %v after SIGTERM\nstderr:\n%s", err, p.Stderr)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("mercato did not stop within 30s of SIGTERM")
	}
}

// WaitExit waits up to limit for the process to exit by itself and returns
// its exit error (nil for status 0); it fails the test if it does not exit.
func (p *Proc) WaitExit(limit time.Duration) error {
	p.t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(limit):
		p.t.Fatalf("mercato did not exit within %s", limit)
		return nil
	}
}

// Response is a request's outcome.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Call sends a request; hdr may set "Host" and any header.
func (p *Proc) Call(method, path string, body any, hdr map[string]string) Response {
	p.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.URL+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Admin returns headers with the admin token, plus extra name/value pairs.
func (p *Proc) Admin(extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + p.Token}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}
