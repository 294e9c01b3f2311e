package rabbitbus

import (
	"context"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mercato/mercato/internal/platform/bus"
)

// listenMaxLength bounds a listener's queue on the broker: a listener that
// falls further behind loses its oldest messages instead of filling the
// broker's memory.
const listenMaxLength = 10000

var _ bus.Listener = (*Bus)(nil)

// listener is a running Listen: an exclusive, auto-deleted, server-named
// queue bound to the exchange, consumed without acks, declared again on a
// new channel after every loss.
type listener struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Stop stops consuming and waits for the handler to return; the broker
// deletes the queue with its channel.
func (l *listener) Stop() {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
	})
}

// Listen declares a queue of this client's own (exclusive, auto-delete,
// named by the broker, classic, bounded to listenMaxLength), binds it with
// patterns and consumes it with automatic acks. Every listening client has
// such a queue, so each gets every matching message; the queue goes with
// the channel, so nothing is kept for a listener that stopped. After a
// lost connection a new queue is declared: what was published in between
// is not heard.
func (b *Bus) Listen(ctx context.Context, patterns []string, h func(bus.Message)) (bus.Consumer, error) {
	if err := bus.ValidatePatterns(patterns); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	l := &listener{cancel: cancel}
	started := make(chan error, 1)
	l.wg.Go(func() {
		first := true
		wait := consumeRetryMin
		for cctx.Err() == nil {
			err := b.listenOnce(cctx, patterns, h, func() {
				wait = consumeRetryMin
				if first {
					first = false
					started <- nil
				}
			})
			if cctx.Err() != nil {
				return
			}
			if first {
				started <- err
				return
			}
			b.log.Warn("listen", "err", err)
			sleep(cctx, wait)
			wait = min(2*wait, consumeRetryMax)
		}
	})
	select {
	case err := <-started:
		if err != nil {
			l.Stop()
			return nil, fmt.Errorf("rabbitbus: listen: %w", err)
		}
	case <-ctx.Done():
		l.Stop()
		return nil, fmt.Errorf("rabbitbus: listen: %w", ctx.Err())
	}
	return l, nil
}

// listenOnce runs one channel's listening queue until the channel dies or
// ctx is done.
func (b *Bus) listenOnce(ctx context.Context, patterns []string, h func(bus.Message), started func()) error {
	conn, err := b.connection(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer func() { _ = ch.Close() }()
	q, err := ch.QueueDeclare("", false, true, true, false, amqp.Table{
		"x-queue-type": "classic",
		"x-max-length": int64(listenMaxLength),
		"x-overflow":   "drop-head",
	})
	if err != nil {
		return fmt.Errorf("declare listening queue: %w", err)
	}
	for _, p := range patterns {
		if err := ch.QueueBind(q.Name, bindingKey(p), b.exchange(), false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", q.Name, p, err)
		}
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", q.Name, err)
	}
	started()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("listening channel closed")
			}
			h(decode(d))
		}
	}
}
