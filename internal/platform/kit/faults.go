//go:build !faultinject

package kit

import "github.com/spf13/pflag"

// Faults is a service's fault injection for the crash tests, in a binary
// built with -tags faultinject (faults_faultinject.go): in this build,
// none, and no flag for it. Points names the service's crash points.
type Faults struct {
	Points []string
}

// RegisterFlags registers nothing in this build.
func (*Faults) RegisterFlags(*pflag.FlagSet, string, string) {}

// Validate accepts everything in this build.
func (Faults) Validate(string) error { return nil }

// Crash returns the crash hook: none in this build.
func (Faults) Crash() func(point string) { return nil }
