package rabbitbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mercato/mercato/internal/platform/bus"
)

// consumer is a running subscription: one channel with prefetch Concurrency
// and as many workers, opened again after every connection loss.
type consumer struct {
	b      *Bus
	sub    bus.Subscription
	h      bus.Handler
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Stop stops consuming and waits for the handlers in flight; messages
// prefetched but not yet handled go back to the queue.
func (c *consumer) Stop() {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
	})
}

// Subscribe declares the group's queues and bindings, then starts consuming.
// It returns once the broker has registered the consumer, or with the error
// of that first attempt; later failures are retried in the background.
func (b *Bus) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	sub = sub.WithDefaults()
	conn, err := b.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("rabbitbus: subscribe %s: %w", sub.Group, err)
	}
	if err := withChannel(conn, func(ch *amqp.Channel) error {
		return b.declareGroup(ch, sub.Group, sub.Subjects)
	}); err != nil {
		return nil, fmt.Errorf("rabbitbus: subscribe %s: %w", sub.Group, err)
	}
	b.mu.Lock()
	if b.groups[sub.Group] == nil {
		b.groups[sub.Group] = map[string]bool{}
	}
	for _, p := range sub.Subjects {
		b.groups[sub.Group][p] = true
	}
	b.mu.Unlock()

	cctx, cancel := context.WithCancel(ctx)
	c := &consumer{b: b, sub: sub, h: h, cancel: cancel, log: b.log.With("group", sub.Group)}
	started := make(chan error, 1)
	c.wg.Go(func() { c.run(cctx, started) })
	select {
	case err := <-started:
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("rabbitbus: subscribe %s: %w", sub.Group, err)
		}
	case <-ctx.Done():
		c.Stop()
		return nil, fmt.Errorf("rabbitbus: subscribe %s: %w", sub.Group, ctx.Err())
	}
	b.log.Info("subscribed", "group", sub.Group, "subjects", sub.Subjects, "concurrency", sub.Concurrency)
	return c, nil
}

// Waits between two attempts to consume: the first, and the longest while
// attempts keep failing before the broker registers the consumer.
const (
	consumeRetryMin = 100 * time.Millisecond
	consumeRetryMax = 5 * time.Second
)

// run consumes until ctx is done, opening the channel again after each loss.
// It sends the outcome of the first attempt on started: nil once the broker
// registered the consumer, or the error.
func (c *consumer) run(ctx context.Context, started chan<- error) {
	first := true
	failing := false
	wait := consumeRetryMin
	for ctx.Err() == nil {
		registered := false
		err := c.consume(ctx, func() {
			registered = true
			if first {
				first = false
				started <- nil
			}
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil && first {
			started <- err // Subscribe returns it and stops the consumer
			return
		}
		if err != nil && !failing {
			c.log.Warn("consume", "err", err)
		}
		failing = err != nil
		if isNotFound(err) {
			// The group's queue is gone (deleted by hand, or by a policy):
			// declare it, its bindings and the exchange again.
			if err := c.b.declareGroupAgain(ctx, c.sub.Group); err != nil {
				c.log.Warn("declare group again", "err", err)
			} else {
				c.log.Info("group declared again")
				wait = consumeRetryMin
			}
		}
		if registered {
			wait = consumeRetryMin
		}
		sleep(ctx, wait)
		if !registered {
			wait = min(2*wait, consumeRetryMax)
		}
	}
}

// isNotFound reports whether err is the broker's 404 NOT_FOUND.
func isNotFound(err error) bool {
	var aerr *amqp.Error
	return errors.As(err, &aerr) && aerr.Code == amqp.NotFound
}

// consume runs one channel's consumer until the channel dies or ctx is done.
func (c *consumer) consume(ctx context.Context, started func()) error {
	conn, err := c.b.connection(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	// Closing the channel hands unacked, unhandled messages back.
	defer func() { _ = ch.Close() }()
	if err := ch.Qos(c.sub.Concurrency, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := ch.Consume(c.b.queue(c.sub.Group), consumerTag(c.sub.Group), false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.b.queue(c.sub.Group), err)
	}
	lost := ch.NotifyClose(make(chan *amqp.Error, 1))
	started()
	var workers sync.WaitGroup
	for range c.sub.Concurrency {
		workers.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case d, ok := <-deliveries:
					if !ok {
						return
					}
					c.handle(ctx, d)
				}
			}
		})
	}
	workers.Wait()
	select {
	case err := <-lost:
		if err != nil {
			return fmt.Errorf("channel closed: %w", err)
		}
		return fmt.Errorf("channel closed")
	default:
		return nil
	}
}

func (c *consumer) handle(ctx context.Context, d amqp.Delivery) {
	m := decode(d)
	log := c.log.With("subject", m.Subject, "event_id", m.ID, "attempt", m.Attempt)
	herr := c.call(ctx, m)
	// Acks, retries and dead letters outlive Stop: the handler's work is done.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if herr == nil {
		if err := d.Ack(false); err != nil {
			log.Warn("ack message", "err", err)
		}
		return
	}
	var err error
	if delay, retry := c.sub.RetryAfter(m.Attempt, herr); retry {
		log.Info("handler failed, will retry", "err", herr, "delay", retryDelay(delay))
		err = c.b.publish(actx, []outgoing{{
			msg:        publishing(m, m.Attempt+1),
			retryGroup: c.sub.Group,
			retryDelay: delay,
		}})
		if err != nil {
			err = fmt.Errorf("schedule retry: %w", err)
		}
	} else {
		err = c.b.deadLetter(actx, c.sub.Group, m, m.Attempt, herr)
		if err == nil {
			log.Warn("message dead-lettered", "err", herr, "permanent", bus.IsPermanent(herr))
		}
	}
	if err != nil {
		// Keep the message: back to the queue after a pause, so a broken
		// broker path does not turn into a busy loop.
		log.Error("handle failed message", "err", err, "cause", herr)
		sleep(ctx, c.sub.Backoff(m.Attempt))
		if err := d.Nack(false, true); err != nil {
			log.Warn("nack message", "err", err)
		}
		return
	}
	if err := d.Ack(false); err != nil {
		// The copy is stored; the original comes back once more and is
		// handled again (at least once).
		log.Warn("ack failed message", "err", err)
	}
}

// call runs the handler, turning a panic into an error so one bad message
// cannot stop the consumer. The handler runs to its end even when the
// subscription stops; its context keeps the caller's values.
func (c *consumer) call(ctx context.Context, m bus.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rabbitbus: handler panic: %v", r)
		}
	}()
	return c.h(context.WithoutCancel(ctx), m)
}

// decode turns a delivery into a bus.Message.
func decode(d amqp.Delivery) bus.Message {
	m := bus.Message{ID: d.MessageId, Subject: d.RoutingKey, Data: d.Body, Attempt: 1}
	for k, v := range d.Headers {
		switch {
		case k == hdrSubject:
			if s, ok := v.(string); ok {
				m.Subject = s
			}
		case k == hdrAttempt:
			if n := toInt(v); n > 0 {
				m.Attempt = n
			}
		case internalHeader(k):
		default:
			if m.Header == nil {
				m.Header = map[string]string{}
			}
			switch v := v.(type) {
			case string:
				m.Header[k] = v
			case []byte:
				m.Header[k] = string(v)
			default:
				m.Header[k] = fmt.Sprint(v)
			}
		}
	}
	return m
}

func toInt(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int32:
		return int(n)
	case int16:
		return int(n)
	case int8:
		return int(n)
	case int:
		return n
	case uint8:
		return int(n)
	case uint16:
		return int(n)
	case uint32:
		return int(n)
	}
	return 0
}

func consumerTag(group string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return group + "-" + hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
