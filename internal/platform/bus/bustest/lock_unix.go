//go:build unix

package bustest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// LockBroker coordinates test packages (which go test runs in parallel
// processes) that share an external broker: tests that use it hold a shared
// lock for their length; a test that restarts it holds the exclusive lock
// while it does, so no other package sees the broker vanish mid-test.
// broker names the server ("nats", "rabbitmq"). The lock is released when
// the test ends.
func LockBroker(t testing.TB, broker string, exclusive bool) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "mercato-test-"+broker+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("open broker lock: %v", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("take broker lock: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
