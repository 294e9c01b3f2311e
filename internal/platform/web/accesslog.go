package web

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Access log modes: which successful requests get a line at info level.
// Whatever the mode, a 5xx is logged at error and a slow request at warn;
// a line not logged at info is logged at debug, so -log.level=debug shows
// every request again.
const (
	// AccessAll logs every request at info (the zero Config's behaviour).
	AccessAll = "all"
	// AccessSample logs a random fraction (AccessLogConfig.Sample) of the
	// requests below 400 at info.
	AccessSample = "sample"
	// AccessErrors logs no request below 400 at info.
	AccessErrors = "errors"
)

// AccessLogConfig says which requests the access log records at which
// level. The zero value logs every request at info, as before it existed.
type AccessLogConfig struct {
	// Mode is AccessAll, AccessSample or AccessErrors; empty means AccessAll.
	Mode string
	// Sample is the fraction of requests below 400 logged at info in
	// AccessSample mode, from 0 to 1.
	Sample float64
	// Slow is the duration from which a request is logged at warn whatever
	// its status (event streams excepted: they are long by design); zero
	// means never.
	Slow time.Duration
	// ClientErrors is the level of 4xx lines: debug, info or warn; empty
	// means info.
	ClientErrors string
}

// RegisterFlags registers the access log flags (-log.access…) with the
// production defaults: one request in a hundred below 400, 4xx at info,
// slower than a second at warn.
func (c *AccessLogConfig) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.Mode, prefix+"log.access", AccessSample, "which requests below 400 get an access log line at info: all, sample (a fraction, -log.access.sample) or errors (none); the others are logged at debug, 5xx always at error")
	fs.Float64Var(&c.Sample, prefix+"log.access.sample", 0.01, "with -log.access=sample, the fraction of requests below 400 logged at info (0 to 1)")
	fs.DurationVar(&c.Slow, prefix+"log.access.slow", time.Second, "a request taking at least this long is logged at warn whatever its status (0: never)")
	fs.StringVar(&c.ClientErrors, prefix+"log.access.client-errors", "info", "level of the access log lines of 4xx answers: debug, info or warn")
}

// Validate checks the access log configuration.
func (c AccessLogConfig) Validate() error {
	var errs []error
	switch c.Mode {
	case "", AccessAll, AccessSample, AccessErrors:
	default:
		errs = append(errs, fmt.Errorf("-log.access must be all, sample or errors, got %q", c.Mode))
	}
	if c.Sample < 0 || c.Sample > 1 {
		errs = append(errs, fmt.Errorf("-log.access.sample must be between 0 and 1, got %g", c.Sample))
	}
	if c.Slow < 0 {
		errs = append(errs, fmt.Errorf("-log.access.slow must not be negative, got %s", c.Slow))
	}
	if _, err := clientErrorLevel(c.ClientErrors); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func clientErrorLevel(s string) (slog.Level, error) {
	switch s {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	}
	return 0, fmt.Errorf("-log.access.client-errors must be debug, info or warn, got %q", s)
}

// Level is the level of the access log line of a request answered with
// status after d, whose answer had content type ctype. The gateway's access
// log keeps the same rule.
func (c AccessLogConfig) Level(status int, d time.Duration, ctype string) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case c.Slow > 0 && d >= c.Slow && !strings.HasPrefix(ctype, "text/event-stream"):
		return slog.LevelWarn
	case status >= 400:
		l, _ := clientErrorLevel(c.ClientErrors)
		return l
	}
	switch c.Mode {
	case AccessErrors:
		return slog.LevelDebug
	case AccessSample:
		// rand/v2's top-level functions are safe for concurrent use and
		// do not contend on a lock.
		if c.Sample > 0 && rand.Float64() < c.Sample {
			return slog.LevelInfo
		}
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// contentType is the content type an answer was sent with.
func contentType(w http.ResponseWriter) string { return w.Header().Get("Content-Type") }
