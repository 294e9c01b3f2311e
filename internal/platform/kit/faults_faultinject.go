//go:build faultinject

package kit

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Faults is a service's fault injection for the crash tests (test/e2e
// builds the binary with -tags faultinject): -<prefix>crash-after ends
// the process (status 99) right after the named point. A binary built
// without the tag has no such flag (faults.go). Points names the
// service's crash points.
type Faults struct {
	Points []string
	after  string
}

// RegisterFlags registers -<prefix>crash-after; what says after what the
// process exits ("this checkout step succeeded").
func (f *Faults) RegisterFlags(fs *pflag.FlagSet, prefix, what string) {
	fs.StringVar(&f.after, prefix+"crash-after", "", "fault injection: exit right after "+what+" ("+strings.Join(f.Points, "|")+")")
}

// Validate reports a crash point the service does not have; service
// names the service in the error.
func (f Faults) Validate(service string) error {
	if f.after == "" || slices.Contains(f.Points, f.after) {
		return nil
	}
	return fmt.Errorf("%s: crash-after %q is not one of %s", service, f.after, strings.Join(f.Points, ", "))
}

// Crash returns the service's crash hook: exit (status 99) at the point
// asked for, or nil when none is.
func (f Faults) Crash() func(point string) {
	if f.after == "" {
		return nil
	}
	return func(point string) {
		if point == f.after {
			os.Exit(99)
		}
	}
}
