//go:build faultinject

package notify

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// faults is the fault injection of the crash tests (test/e2e builds the
// binary with -tags faultinject): -notify.crash-after send ends the process
// right after the SMTP server accepted an email, before that is recorded.
// A binary built without the tag has no such flag (crash.go).
type faults struct {
	crashAfter string
}

func (f *faults) registerFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.crashAfter, prefix+"crash-after", "", "fault injection: exit right after this email step (send)")
}

func (f faults) validate() error {
	if f.crashAfter == "" || f.crashAfter == "send" {
		return nil
	}
	return fmt.Errorf("notify: crash-after %q is not send", f.crashAfter)
}

// crash returns the Service.crash hook: exit (status 99) at the crash
// point asked for, or nil when none is.
func (f faults) crash() func(point string) {
	if f.crashAfter == "" {
		return nil
	}
	return func(point string) {
		if point == f.crashAfter {
			os.Exit(99)
		}
	}
}
