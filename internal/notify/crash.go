//go:build !faultinject

package notify

import "github.com/spf13/pflag"

// faults is the fault injection of a binary built with -tags faultinject
// (crash_faultinject.go): in this build, none, and no flag for it.
type faults struct{}

func (*faults) registerFlags(*pflag.FlagSet, string) {}

func (faults) validate() error { return nil }

// crash returns the Service.crash hook: none.
func (faults) crash() func(point string) { return nil }
