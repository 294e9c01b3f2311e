//go:build faultinject

package order

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// faults is the fault injection of the crash tests (test/e2e builds the
// binary with -tags faultinject): -order.crash-after ends the process right
// after a checkout step succeeded. A binary built without the tag has no
// such flag (crash.go).
type faults struct {
	// crashAfter is "", crashAfterReserve or crashAfterAuthorize.
	crashAfter string
}

func (f *faults) registerFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.crashAfter, prefix+"crash-after", "", "fault injection: exit right after this checkout step succeeded (reserve|authorize)")
}

func (f faults) validate() error {
	switch f.crashAfter {
	case "", crashAfterReserve, crashAfterAuthorize:
		return nil
	}
	return fmt.Errorf("order: crash-after %q is not one of reserve, authorize", f.crashAfter)
}

// crash returns the Service.crash hook: exit (status 99) at the crash
// point asked for, or nil when none is.
func (f faults) crash() func(step string) {
	if f.crashAfter == "" {
		return nil
	}
	return func(step string) {
		if step == f.crashAfter {
			os.Exit(99)
		}
	}
}
