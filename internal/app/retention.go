package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// BusRedeliveryWindow is how long after its publication an event can still
// reach a consumer: the NATS stream keeps events this long (natsbus
// Options.MaxAge's default), and a consumer that was stopped or lagging
// reads them up to that age. On RabbitMQ a message waits in its queue
// until it is handled, with no age limit; the same window is the policy
// there.
const BusRedeliveryWindow = 7 * 24 * time.Hour

// Retention says how long each kind of bookkeeping row is kept once it has
// served (docs/decisions/0037). Expired rows are deleted in small batches
// (sqldb.DeleteBatches); SQLite files then give the space back.
type Retention struct {
	// Outbox is how long a published outbox row is kept, for
	// `republish`-style replays of what a service sent.
	Outbox time.Duration
	// Inbox is how long a consumer remembers an event it handled, so that
	// a redelivery has no second effect. It must cover every way an event
	// can come again: the bus's redelivery window and a replay of the
	// outbox rows still kept.
	Inbox time.Duration
	// Idempotency is how long the outcome of a request sent with an
	// Idempotency-Key is kept: a retry after that is a new request.
	Idempotency time.Duration
	// DeadLetters is how long a dead letter waits to be inspected or
	// replayed before the bus drops it.
	DeadLetters time.Duration
}

// RegisterFlags registers the -retention.* flags.
func (r *Retention) RegisterFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&r.Outbox, "retention.outbox", 72*time.Hour, "how long published outbox rows are kept, for replays")
	fs.DurationVar(&r.Inbox, "retention.inbox", BusRedeliveryWindow, "how long handled event IDs are kept for dedupe (at least -retention.outbox and the bus's 168h redelivery window)")
	fs.DurationVar(&r.Idempotency, "retention.idempotency", 24*time.Hour, "how long Idempotency-Key outcomes are kept (at least 1h)")
	fs.DurationVar(&r.DeadLetters, "retention.dead-letters", 30*24*time.Hour, "how long dead letters are kept for inspection and replay (at least 24h)")
}

// Validate checks the retention against what dedupe and replay need.
func (r Retention) Validate() error {
	var errs []error
	if r.Outbox < time.Hour {
		errs = append(errs, fmt.Errorf("-retention.outbox must be at least 1h, got %s", r.Outbox))
	}
	// An event handled and forgotten before it can no longer come again
	// would be applied twice: by a late redelivery, or by a replay of the
	// outbox rows still kept.
	if r.Inbox < BusRedeliveryWindow {
		errs = append(errs, fmt.Errorf("-retention.inbox must be at least the bus's redelivery window %s (events can be delivered again up to that age), got %s", BusRedeliveryWindow, r.Inbox))
	}
	if r.Inbox < r.Outbox {
		errs = append(errs, fmt.Errorf("-retention.inbox (%s) must be at least -retention.outbox (%s): a replay of kept outbox rows is deduplicated by the inbox", r.Inbox, r.Outbox))
	}
	if r.Idempotency < time.Hour {
		errs = append(errs, fmt.Errorf("-retention.idempotency must be at least 1h, got %s", r.Idempotency))
	}
	if r.DeadLetters < 24*time.Hour {
		errs = append(errs, fmt.Errorf("-retention.dead-letters must be at least 24h, got %s", r.DeadLetters))
	}
	return errors.Join(errs...)
}
