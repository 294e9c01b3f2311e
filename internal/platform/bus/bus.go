// Package bus is Mercato's publish/subscribe seam. Services publish through the
// outbox and consume through durable consumer groups; the adapters in natsbus,
// rabbitbus and kafkabus implement the same contract, checked by the suite in
// bustest.
//
// Delivery is at least once. A handler that returns an error has its message
// redelivered with backoff; after MaxAttempts failures, or at once for an error
// wrapped with Permanent, the message moves to the group's dead-letter store,
// where it can be listed and replayed to that group alone.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Message is one event on the bus. Its JSON form (in stored dead letters) has
// snake_case keys; letters stored before the keys had tags ("ID", "Subject")
// still decode, since encoding/json matches keys case-insensitively.
type Message struct {
	// ID identifies the message; publishing the same ID twice within the
	// broker's duplicate window stores it once where the broker supports it.
	ID string `json:"id"`
	// Subject is the dotted event type, e.g. "catalog.product_created.v1".
	Subject string `json:"subject"`
	// Data is the payload: for Mercato events, the JSON envelope. In JSON it
	// is base64, like any []byte.
	Data []byte `json:"data"`
	// Header carries optional metadata (tenant, traceparent).
	Header map[string]string `json:"header"`
	// Attempt is the 1-based delivery attempt; set on delivery only.
	Attempt int `json:"attempt"`
}

// Handler handles one delivered message. Returning nil acknowledges it.
type Handler func(ctx context.Context, m Message) error

// Subscription describes a durable consumer group.
type Subscription struct {
	// Group names the durable consumer group. Every consumer with the same
	// group shares the work: each message goes to one of them.
	Group string
	// Subjects are the patterns the group receives. A token "*" matches one
	// dotted token, a final ">" matches one or more tokens.
	Subjects []string
	// MaxAttempts is how many deliveries a message gets before it is
	// dead-lettered. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Backoff gives the delay before redelivery after failed attempt n
	// (1-based). Nil means DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Concurrency is how many messages are handled at once. Zero means 1, in
	// which case messages of one subject are handled in publish order as long
	// as none fails. On Kafka the order holds among messages of one "tenant"
	// header (of any subject), and not between stores (see kafkabus).
	Concurrency int
}

// DefaultMaxAttempts is the delivery count after which a message is dead-lettered.
const DefaultMaxAttempts = 5

// DefaultBackoff doubles from 200ms up to 30s.
func DefaultBackoff(attempt int) time.Duration {
	d := 200 * time.Millisecond
	for i := 1; i < attempt && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// WithDefaults returns s with zero fields set to their defaults.
func (s Subscription) WithDefaults() Subscription {
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.Backoff == nil {
		s.Backoff = DefaultBackoff
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 1
	}
	return s
}

// Backlogger is a Bus that can count the messages its subscriptions have
// still to handle (natsbus does). The laptop shape waits on it after seeding
// the demo store, so the shop is announced once every service knows the
// demo catalog.
type Backlogger interface {
	Backlog(ctx context.Context) (int, error)
}

// RetryAfter is the rule for a delivery that failed at attempt (1-based) with
// err: retry is true when the message is to be delivered again after delay,
// false when it is to be dead-lettered instead, because err is permanent or
// the attempt was the subscription's last. Zero fields of s count as their
// defaults. Backoff is called only when the message is retried.
func (s Subscription) RetryAfter(attempt int, err error) (delay time.Duration, retry bool) {
	s = s.WithDefaults()
	if IsPermanent(err) || attempt >= s.MaxAttempts {
		return 0, false
	}
	return s.Backoff(attempt), true
}

// Validate reports whether s can be subscribed.
func (s Subscription) Validate() error {
	if err := ValidateGroup(s.Group); err != nil {
		return err
	}
	if len(s.Subjects) == 0 {
		return errors.New("bus: a subscription needs at least one subject")
	}
	for _, subj := range s.Subjects {
		if err := ValidatePattern(subj); err != nil {
			return err
		}
	}
	return nil
}

// Consumer is a running subscription.
type Consumer interface {
	// Stop stops fetching new messages and waits for handlers in flight.
	Stop()
}

// DeadLetter is a message that exhausted its attempts or failed permanently.
type DeadLetter struct {
	Message
	Group    string    `json:"group"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	FailedAt time.Time `json:"failed_at"`
}

// NewDeadLetter returns the dead letter of m, which group gave up on after
// attempts deliveries, the last failing with cause, at time at (stored in
// UTC). The letter's Attempt is zero: an attempt describes a delivery, not
// the stored message.
func NewDeadLetter(group string, m Message, attempts int, cause error, at time.Time) DeadLetter {
	m.Attempt = 0
	dl := DeadLetter{Message: m, Group: group, Attempts: attempts, FailedAt: at.UTC()}
	if cause != nil {
		dl.Error = cause.Error()
	}
	return dl
}

// Bus publishes and consumes messages.
type Bus interface {
	// Publish stores the messages durably on the broker before returning.
	Publish(ctx context.Context, msgs ...Message) error
	// Subscribe creates or joins the durable group and starts consuming. It
	// returns once the group exists: messages published after it returns are
	// kept for the group even while no consumer is running. Consumption stops
	// when ctx is done or Stop is called.
	Subscribe(ctx context.Context, sub Subscription, h Handler) (Consumer, error)
	// DeadLetters lists up to limit dead-lettered messages of group, oldest first.
	DeadLetters(ctx context.Context, group string, limit int) ([]DeadLetter, error)
	// Replay sends the dead-lettered messages with the given IDs (all of the
	// group's when ids is empty) back to that group alone, removes them from the
	// dead-letter store, and returns how many it replayed.
	Replay(ctx context.Context, group string, ids ...string) (int, error)
	// Close releases the connection. Consumers must be stopped first.
	Close() error
}

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the message is dead-lettered without further attempts:
// for a message that can never succeed, such as one that does not parse.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// ValidateGroup reports whether name is a consumer group name: one token of
// letters, digits, '_' and '-', so it can be part of a subject, a stream
// consumer or a queue name.
func ValidateGroup(name string) error {
	if !validToken(name) {
		return fmt.Errorf("bus: invalid group name %q", name)
	}
	return nil
}

// ValidateSubject reports whether s is a concrete subject: dotted tokens of
// letters, digits, '_' and '-'.
func ValidateSubject(s string) error {
	for tok := range strings.SplitSeq(s, ".") {
		if !validToken(tok) {
			return fmt.Errorf("bus: invalid subject %q", s)
		}
	}
	return nil
}

// ValidatePattern reports whether p is a subject pattern: a subject whose
// tokens may be "*", and whose last token may be ">".
func ValidatePattern(p string) error {
	toks := strings.Split(p, ".")
	for i, tok := range toks {
		if tok == "*" || (tok == ">" && i == len(toks)-1) {
			continue
		}
		if !validToken(tok) {
			return fmt.Errorf("bus: invalid subject pattern %q", p)
		}
	}
	return nil
}

// Match reports whether subject matches pattern.
func Match(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

func validToken(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		ok := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// Listener is a Bus that can also listen: fan-out without durability. Every
// listening client gets every message matching its patterns that is
// published after Listen returned, whatever other clients listen; nothing is
// kept for a listener while it is not listening, and a listener that falls
// far behind loses messages rather than slowing the broker. Durable groups
// are unaffected: a message still goes to one consumer of each group.
// Processes keeping something for browsers (live updates) listen; work that
// must happen once per event subscribes.
type Listener interface {
	// Listen calls h with each matching message, one at a time and in
	// publish order per subject, from a goroutine of the adapter; h must
	// return quickly. Listening stops when ctx is done or Stop is called.
	Listen(ctx context.Context, patterns []string, h func(Message)) (Consumer, error)
}

// ValidatePatterns reports whether patterns is a non-empty list of subject
// patterns.
func ValidatePatterns(patterns []string) error {
	if len(patterns) == 0 {
		return errors.New("bus: listening needs at least one subject")
	}
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			return err
		}
	}
	return nil
}

// VersionAtLeast reports whether a broker's version v ("2.10.4", "v2.10.4",
// "3.13.0") is at least major.minor, for the adapters' start checks. An
// unknown version counts as old.
func VersionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
