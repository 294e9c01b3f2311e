//go:build !unix

package bustest

import "testing"

// LockBroker does nothing where flock is not available: run broker tests
// with -p 1 there.
func LockBroker(t testing.TB, broker string, exclusive bool) {}
