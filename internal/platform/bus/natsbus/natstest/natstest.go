// Package natstest runs a nats-server process of a test's own, which the test
// may kill, wipe and start again: what a shared server must never suffer.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a nats-server process with JetStream on a directory of the test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// Binary finds the nats-server program: MERCATO_TEST_NATS_SERVER, else
// nats-server on the PATH or in /usr/sbin. Without one the test is skipped
// when MERCATO_TEST_NATS is unset (no NATS server is expected on this
// machine) and fails otherwise.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MERCATO_TEST_NATS_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	if os.Getenv("MERCATO_TEST_NATS") == "" {
		t.Skip("no nats-server program and MERCATO_TEST_NATS not set: skipping the test with a server of its own")
	}
	t.Fatal("MERCATO_TEST_NATS is set but no nats-server program is found (set MERCATO_TEST_NATS_SERVER)")
	return ""
}

// Start starts a nats-server on a free loopback port with its store in a
// temporary directory, and stops it at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), port: port}
	t.Cleanup(s.Kill)
	s.Start()
	return s
}

// URL is the server's client URL.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// Dir is the server's JetStream store directory.
func (s *Server) Dir() string { return filepath.Join(s.dir, "store") }

// Start starts the server (again) and returns once JetStream answers.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("natstest: server already running")
	}
	cmd := exec.Command(s.bin, "-js", "-sd", s.Dir(), "-a", "127.0.0.1", "-p", strconv.Itoa(s.port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	s.cmd = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := JetStreamUp(ctx, s.URL())
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			s.t.Fatalf("nats-server on port %d does not answer: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill kills the server at once (SIGKILL, as a crash) and waits for it to
// exit. Killing a stopped server does nothing.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Wipe deletes the server's store, as a lost volume would. The server must
// be stopped.
func (s *Server) Wipe() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("natstest: wipe of a running server")
	}
	if err := os.RemoveAll(s.Dir()); err != nil {
		s.t.Fatalf("wipe nats store: %v", err)
	}
}

// JetStreamUp reports whether the NATS server at url answers with
// JetStream on: nil when it does.
func JetStreamUp(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.Timeout(time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}
