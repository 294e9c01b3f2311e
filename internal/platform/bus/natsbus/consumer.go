package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mercato/mercato/internal/platform/bus"
)

// fetchWait bounds one pull request. Stop cancels a waiting pull at once, so
// it only sets how often an idle worker re-asks the server.
const fetchWait = 5 * time.Second

// consumer is a running subscription: Concurrency workers per durable
// consumer, each pulling one message at a time so that nothing waits in a
// client buffer while its ack timer runs.
type consumer struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Stop stops pulling and waits for the handlers in flight.
func (c *consumer) Stop() {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
	})
}

type consumerSpec struct {
	name    string
	filters []string
}

// Subscribe creates or updates the group's durable consumer(s) and starts
// the workers. Once it returns, messages published on the subscribed
// subjects are kept for the group even if no worker runs.
func (b *Bus) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	sub = sub.WithDefaults()
	filters := make([]string, 0, len(sub.Subjects)+1)
	for _, p := range sub.Subjects {
		filters = append(filters, b.evSubject(p))
	}
	replay := b.replaySubject(sub.Group, ">")
	var specs []consumerSpec
	if b.multiFilter {
		specs = []consumerSpec{{name: sub.Group, filters: append(filters, replay)}}
	} else {
		for _, f := range filters {
			specs = append(specs, consumerSpec{name: consumerName(sub.Group, f), filters: []string{f}})
		}
		specs = append(specs, consumerSpec{name: sub.Group + "_replay", filters: []string{replay}})
	}
	cons := make([]jetstream.Consumer, len(specs))
	for i, spec := range specs {
		c, err := b.ensureConsumer(ctx, spec, sub.Concurrency)
		if err != nil {
			return nil, fmt.Errorf("natsbus: subscribe %s: %w", sub.Group, err)
		}
		cons[i] = c
	}
	b.mu.Lock()
	b.subscribed = append(b.subscribed, cons...)
	b.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	c := &consumer{cancel: cancel}
	for i, jc := range cons {
		for range sub.Concurrency {
			w := &worker{b: b, sub: sub, h: h, spec: specs[i], cons: jc,
				log: b.log.With("group", sub.Group, "consumer", specs[i].name)}
			c.wg.Go(func() { w.run(cctx) })
		}
	}
	b.log.Info("subscribed", "group", sub.Group, "subjects", sub.Subjects, "concurrency", sub.Concurrency)
	return c, nil
}

// Backlog counts the messages this Bus's subscriptions have still to
// handle: not yet delivered, or delivered and not yet acknowledged.
func (b *Bus) Backlog(ctx context.Context) (int, error) {
	b.mu.Lock()
	cons := slices.Clone(b.subscribed)
	b.mu.Unlock()
	n := 0
	for _, c := range cons {
		info, err := c.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("natsbus: backlog of %s: %w", c.CachedInfo().Name, err)
		}
		n += int(info.NumPending) + info.NumAckPending
	}
	return n, nil
}

// ensureConsumer creates the durable consumer of spec, or updates it to the
// current settings. A consumer created here starts at the first message the
// stream retains (DeliverAll): a group that did not exist yet (a service
// added later, a demo seeded before its consumers ran, a server that came
// back empty) misses nothing the stream still holds, and the consumers'
// inboxes make the replay harmless. An existing consumer keeps its deliver
// policy (the server refuses to change it) and resumes from its acked
// position. A stream the server lost is declared again first.
func (b *Bus) ensureConsumer(ctx context.Context, spec consumerSpec, concurrency int) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       spec.name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.opts.AckWait,
		MaxDeliver:    -1, // the adapter dead-letters; the server must never drop
		MaxAckPending: max(1000, 2*concurrency),
		Replicas:      0, // as the stream
	}
	if len(spec.filters) == 1 {
		cfg.FilterSubject = spec.filters[0]
	} else {
		cfg.FilterSubjects = spec.filters
	}
	existing, err := b.js.Consumer(ctx, b.eventsStream(), spec.name)
	switch {
	case err == nil:
		cfg.DeliverPolicy = existing.CachedInfo().Config.DeliverPolicy
	case errors.Is(err, jetstream.ErrStreamNotFound):
		b.log.Warn("stream missing, declaring it again", "stream", b.eventsStream())
		if err := b.ensureStreams(ctx); err != nil {
			return nil, err
		}
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("read consumer %s: %w", spec.name, err)
	}
	c, err := b.js.CreateOrUpdateConsumer(ctx, b.eventsStream(), cfg)
	if err != nil {
		return nil, fmt.Errorf("declare consumer %s: %w", spec.name, err)
	}
	return c, nil
}

type worker struct {
	b    *Bus
	sub  bus.Subscription
	h    bus.Handler
	spec consumerSpec
	cons jetstream.Consumer
	log  *slog.Logger
}

// checkEvery is how often an idle worker asks the server whether its
// consumer still exists: a pull on a consumer the server lost just waits, it
// does not fail.
const checkEvery = 30 * time.Second

func (w *worker) run(ctx context.Context) {
	failing := false
	gen, checked := w.b.reconnects.Load(), time.Now()
	for ctx.Err() == nil {
		n, err := w.fetchOne(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failing = false
			// After a reconnect the server may be a new one with an empty
			// store (the stream and consumer gone): look at once.
			if g := w.b.reconnects.Load(); n == 0 && (g != gen || time.Since(checked) > checkEvery) {
				gen, checked = g, time.Now()
				w.repair(ctx)
			}
			continue
		}
		if !failing {
			w.log.Warn("fetch messages", "err", err)
			failing = true
		}
		gen, checked = w.b.reconnects.Load(), time.Now()
		w.repair(ctx)
		sleep(ctx, 500*time.Millisecond)
	}
}

// repair makes the worker's consumer exist again when the server lost it
// (deleted, or a server that came back with an empty store), declaring the
// streams again first when they went too, rather than spin on errors. The
// group then starts over from the first message the new stream holds, so
// nothing published since the loss is missed.
func (w *worker) repair(ctx context.Context) {
	_, err := w.b.js.Consumer(ctx, w.b.eventsStream(), w.spec.name)
	if !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return
	}
	c, err := w.b.ensureConsumer(ctx, w.spec, w.sub.Concurrency)
	if err != nil {
		w.log.Warn("declare consumer again", "err", err)
		return
	}
	w.log.Warn("consumer missing on the server, declared it again")
	w.cons = c
}

// fetchOne pulls and handles at most one message, and returns how many it
// handled.
func (w *worker) fetchOne(ctx context.Context) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	fctx, cancelR := w.b.untilReconnect(fctx)
	defer cancelR()
	batch, err := w.cons.Fetch(1, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	n := 0
	for msg := range batch.Messages() {
		if ctx.Err() != nil {
			// Stopped while the message was on its way: hand it back now
			// rather than after AckWait.
			_ = msg.Nak()
			continue
		}
		w.handle(ctx, msg)
		n++
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return n, err
	}
	return n, nil
}

func (w *worker) handle(ctx context.Context, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		// Without metadata there is no attempt count or stream sequence to
		// dead-letter with. Never drop the message: hand it back, after the
		// longest delay of the usual schedule, so it cannot spin.
		delay := w.sub.Backoff(w.sub.MaxAttempts)
		w.log.Error("read message metadata", "subject", msg.Subject(), "err", err, "delay", delay)
		if err := msg.NakWithDelay(delay); err != nil {
			w.log.Warn("nak message", "subject", msg.Subject(), "err", err)
		}
		return
	}
	m := w.b.decode(msg, w.sub.Group)
	m.Attempt = int(md.NumDelivered)
	log := w.log.With("subject", m.Subject, "event_id", m.ID, "attempt", m.Attempt)

	herr := w.call(ctx, msg, m)
	// Acks and dead letters outlive Stop: the handler's work is done.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	actx, cancelR := w.b.untilReconnect(actx)
	defer cancelR()
	if herr == nil {
		if err := msg.DoubleAck(actx); err != nil {
			log.Warn("ack message", "err", err)
		}
		return
	}
	if delay, retry := w.sub.RetryAfter(m.Attempt, herr); retry {
		log.Info("handler failed, will retry", "err", herr, "delay", delay)
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn("nak message", "err", err)
		}
		return
	}
	if err := w.b.deadLetter(actx, w.sub.Group, md.Sequence.Stream, m, m.Attempt, herr); err != nil {
		// Keep the message and try again later rather than lose it.
		log.Error("dead-letter message", "err", err, "cause", herr)
		_ = msg.NakWithDelay(w.sub.Backoff(m.Attempt))
		return
	}
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("ack dead-lettered message", "err", err)
	}
	log.Warn("message dead-lettered", "err", herr, "permanent", bus.IsPermanent(herr))
}

// call runs the handler with in-progress acks every AckWait/3, and turns a
// handler panic into an error so one bad message cannot stop the consumer.
func (w *worker) call(ctx context.Context, msg jetstream.Msg, m bus.Message) (err error) {
	done := make(chan struct{})
	var hb sync.WaitGroup
	hb.Go(func() {
		t := time.NewTicker(w.b.opts.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	})
	defer func() {
		close(done)
		hb.Wait()
		if r := recover(); r != nil {
			err = fmt.Errorf("natsbus: handler panic: %v", r)
		}
	}()
	// The handler keeps running to its end when the subscription stops; its
	// context keeps the caller's values.
	return w.h(context.WithoutCancel(ctx), m)
}

// decode turns a stream message into a bus.Message, stripping the adapter's
// subject prefix and internal headers.
func (b *Bus) decode(msg jetstream.Msg, group string) bus.Message {
	subj := strings.TrimPrefix(msg.Subject(), b.opts.Prefix+".rp."+group+".")
	return b.decodeParts(subj, msg.Data(), msg.Headers())
}

// decodeParts builds a bus.Message from a NATS message's parts.
func (b *Bus) decodeParts(subj string, data []byte, hdr nats.Header) bus.Message {
	subj = strings.TrimPrefix(subj, b.opts.Prefix+".ev.")
	m := bus.Message{Subject: subj, Data: data}
	m.ID = hdr.Get(hdrID)
	if m.ID == "" {
		m.ID = hdr.Get("Nats-Msg-Id")
	}
	for k, v := range hdr {
		if strings.HasPrefix(k, natsHdr) || strings.HasPrefix(k, hdrPrefix) || len(v) == 0 {
			continue
		}
		if m.Header == nil {
			m.Header = make(map[string]string, len(hdr))
		}
		m.Header[k] = v[0]
	}
	return m
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
