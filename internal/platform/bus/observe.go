package bus

import "context"

// Outcome is what became of one delivery to a handler.
type Outcome string

// The outcomes of a delivery, as RetryAfter decides them.
const (
	OutcomeOK         Outcome = "ok"
	OutcomeRetry      Outcome = "retry"
	OutcomeDeadLetter Outcome = "dead_letter"
)

// OutcomeOf is the outcome of a delivery at attempt (1-based) whose handler
// returned err, under the subscription's retry rule.
func (s Subscription) OutcomeOf(attempt int, err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	if _, retry := s.RetryAfter(attempt, err); retry {
		return OutcomeRetry
	}
	return OutcomeDeadLetter
}

// Observer learns the outcome of every delivery to the handlers of a Bus
// made by Observe: for metrics. Handled is called after the handler
// returned, before the adapter acknowledges, retries or dead-letters; it
// must return quickly.
type Observer interface {
	Handled(group string, m Message, o Outcome)
}

// Observe returns b with every subscription's deliveries reported to o. It
// works the same on every adapter, since the outcome follows from the
// handler's error and the subscription's rule (OutcomeOf), which every
// adapter applies. What b can do besides (Listener, Backlogger) the result
// can do too.
func Observe(b Bus, o Observer) Bus {
	ob := observed{b, o}
	l, listens := b.(Listener)
	bl, counts := b.(Backlogger)
	switch {
	case listens && counts:
		return struct {
			observed
			Listener
			Backlogger
		}{ob, l, bl}
	case listens:
		return struct {
			observed
			Listener
		}{ob, l}
	case counts:
		return struct {
			observed
			Backlogger
		}{ob, bl}
	}
	return ob
}

type observed struct {
	Bus
	o Observer
}

func (b observed) Subscribe(ctx context.Context, sub Subscription, h Handler) (Consumer, error) {
	// An observer may want to know the group before its first delivery
	// (a counter at zero is a series an alert can rate).
	if s, ok := b.o.(interface{ Subscribed(group string) }); ok {
		s.Subscribed(sub.Group)
	}
	return b.Bus.Subscribe(ctx, sub, func(ctx context.Context, m Message) error {
		err := h(ctx, m)
		b.o.Handled(sub.Group, m, sub.OutcomeOf(m.Attempt, err))
		return err
	})
}

// Unwrap returns the adapter under the observer.
func (b observed) Unwrap() Bus { return b.Bus }
