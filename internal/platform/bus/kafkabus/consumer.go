package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/mercato/mercato/internal/platform/bus"
)

// joinTimeout bounds Subscribe's wait for the member's first assignment when
// ctx has no earlier deadline.
const joinTimeout = 60 * time.Second

// pollMax is how many records one poll takes at most.
const pollMax = 500

// commitTimeout bounds the final commit at Stop and at a revoke.
const commitTimeout = 10 * time.Second

// topicPartition names a partition.
type topicPartition struct {
	topic string
	part  int32
}

// partition is this member's state of one assigned partition.
type partition struct {
	// ctx is cancelled when the partition is revoked or lost: a retry
	// waiting on it gives up, uncommitted, for the next owner.
	ctx    context.Context
	cancel context.CancelFunc
	// open counts the records taken and not yet resolved; a revoke waits
	// for it before the last commit.
	open sync.WaitGroup
	// queue holds the records taken, in offset order, until every record
	// before them is resolved; only then is one marked for commit.
	queue []*item
	// frozen is set once a record was given up (at Stop or a revoke):
	// nothing after it may be committed.
	frozen bool
}

// item is one record on its way through a worker.
type item struct {
	r        *kgo.Record
	p        *partition
	resolved bool
	done     bool // handled, dead-lettered or skipped: committable
}

// consumer is a running subscription: one group member (its own client),
// a poll loop and Concurrency workers.
type consumer struct {
	b    *Bus
	sub  bus.Subscription
	h    bus.Handler
	cl   *kgo.Client
	log  *slog.Logger
	work chan *item

	mu     sync.Mutex
	parts  map[topicPartition]*partition
	joined chan struct{} // closed at the first assignment
	once   sync.Once

	cancel context.CancelFunc
	done   chan struct{} // closed once the member has left the group
	// dead is set when the Bus closes under the subscription (abandon):
	// its partitions are given up at once, their handled but uncommitted
	// records and the ones in flight left to the other members.
	dead atomic.Bool
}

// abandon is the member dying, as when its process is killed: it leaves the
// group without waiting for its handlers or committing, so the other
// members get what it had not committed (redelivered; inboxes dedupe).
func (c *consumer) abandon() {
	c.dead.Store(true)
	c.cancel()
	c.cl.Close()
}

// Stop stops polling, waits for the handlers in flight, commits and leaves
// the group.
func (c *consumer) Stop() {
	c.cancel()
	<-c.done
}

// Subscribe creates the group's dead-letter topic, gives a new group a
// committed offset at the start of every partition (so it reads what the
// topic still holds, and everything published after), joins the group and
// returns once the member has its first assignment.
func (b *Bus) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	sub = sub.WithDefaults()
	if err := b.ensureTopic(ctx, b.dlqTopic(sub.Group)); err != nil {
		return nil, err
	}
	if err := b.initGroup(ctx, sub.Group); err != nil {
		return nil, fmt.Errorf("kafkabus: subscribe %s: %w", sub.Group, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	c := &consumer{
		b: b, sub: sub, h: h, cancel: cancel,
		log:    b.log.With("group", sub.Group),
		work:   make(chan *item),
		parts:  map[topicPartition]*partition{},
		joined: make(chan struct{}),
		done:   make(chan struct{}),
	}
	cl, err := kgo.NewClient(b.clientOpts(
		kgo.ConsumerGroup(b.groupID(sub.Group)),
		kgo.ConsumeTopics(b.eventsTopic()),
		// Every partition has a committed offset (initGroup); one that
		// has none (added later, or expired) is read from its start: at
		// least once.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(2*time.Second),
		kgo.HeartbeatInterval(b.opts.HeartbeatInterval),
		kgo.SessionTimeout(b.opts.SessionTimeout),
		// Eager, not cooperative: a member's first assignment is its
		// share of the settled group, so once Subscribe returns every
		// partition has its owner.
		kgo.Balancers(kgo.StickyBalancer()),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("kafkabus: subscribe %s: %w", sub.Group, err)
	}
	c.cl = cl
	b.mu.Lock()
	b.groups[sub.Group] = true
	b.consumers[c] = true
	b.mu.Unlock()
	var workers sync.WaitGroup
	for range sub.Concurrency {
		workers.Go(func() { c.worker(cctx) })
	}
	go func() {
		c.poll(cctx)
		close(c.work)
		workers.Wait()
		c.commit()
		cl.Close() // leaves the group; the final revoke finds nothing open
		b.mu.Lock()
		delete(b.consumers, c)
		b.mu.Unlock()
		close(c.done)
	}()

	jctx, jcancel := context.WithTimeout(ctx, joinTimeout)
	defer jcancel()
	select {
	case <-c.joined:
	case <-jctx.Done():
		c.Stop()
		return nil, fmt.Errorf("kafkabus: subscribe %s: no assignment from the group coordinator: %w", sub.Group, jctx.Err())
	}
	b.log.Info("subscribed", "group", sub.Group, "subjects", sub.Subjects, "concurrency", sub.Concurrency)
	return c, nil
}

var _ bus.Backlogger = (*Bus)(nil)

// Backlog counts the events of this Bus's groups not yet handled: for each
// group, what the events topic holds past the group's committed offsets,
// once every running subscription of this Bus has committed what it handled
// (records its patterns skip count until then). It is exact only when this
// Bus runs every member of its groups, as in one process.
func (b *Bus) Backlog(ctx context.Context) (int, error) {
	b.mu.Lock()
	cons := slices.Collect(maps.Keys(b.consumers))
	b.mu.Unlock()
	var ids []string
	for _, c := range cons {
		if err := c.cl.CommitMarkedOffsets(ctx); err != nil {
			return 0, fmt.Errorf("kafkabus: backlog: commit %s: %w", c.sub.Group, err)
		}
		ids = append(ids, b.groupID(c.sub.Group))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	slices.Sort(ids)
	lags, err := b.adm.Lag(ctx, slices.Compact(ids)...)
	if err == nil {
		err = lags.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("kafkabus: backlog: %w", err)
	}
	n := int64(0)
	for _, l := range lags {
		n += l.Lag.TotalByTopic()[b.eventsTopic()].Lag
	}
	return int(n), nil
}

// initGroup commits the start offset of every events partition the group has
// no committed offset for: Kafka keeps nothing for a group without one. Two
// members initializing a new group at once both succeed; when another member
// is already in the group, it initialized it.
func (b *Bus) initGroup(ctx context.Context, group string) error {
	id := b.groupID(group)
	missing := func() (kadm.Offsets, error) {
		have, err := b.adm.FetchOffsets(ctx, id)
		if errors.Is(err, kerr.GroupIDNotFound) {
			have, err = nil, nil // a new group (some brokers say so, others list nothing)
		}
		if err != nil {
			return nil, fmt.Errorf("fetch committed offsets: %w", err)
		}
		// A new group reads every record the topic still holds, as a
		// new group does on the other buses (decision 0034): a service
		// added later misses nothing still retained, and the inbox makes
		// what it already handled harmless.
		ends, err := b.adm.ListStartOffsets(ctx, b.eventsTopic())
		if err != nil {
			return nil, fmt.Errorf("list start offsets: %w", err)
		}
		var out kadm.Offsets
		var lerr error
		ends.Each(func(l kadm.ListedOffset) {
			if l.Err != nil {
				lerr = l.Err
				return
			}
			if o, ok := have.Lookup(l.Topic, l.Partition); !ok || o.Err != nil || o.At < 0 {
				out.AddOffset(l.Topic, l.Partition, l.Offset, -1)
			}
		})
		if lerr != nil {
			return nil, fmt.Errorf("list start offsets: %w", lerr)
		}
		return out, nil
	}
	todo, err := missing()
	if err != nil || len(todo) == 0 {
		return err
	}
	resp, err := b.adm.CommitOffsets(ctx, id, todo)
	if err == nil {
		err = resp.Error()
	}
	if err == nil {
		return nil
	}
	// A live member may refuse our commit: it has offsets then.
	if todo, err2 := missing(); err2 == nil && len(todo) == 0 {
		return nil
	}
	return fmt.Errorf("commit initial offsets: %w", err)
}

// assigned starts tracking newly assigned partitions.
func (c *consumer) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	for topic, parts := range assigned {
		for _, p := range parts {
			tp := topicPartition{topic, p}
			if c.parts[tp] == nil {
				pctx, cancel := context.WithCancel(context.Background())
				c.parts[tp] = &partition{ctx: pctx, cancel: cancel}
			}
		}
	}
	c.mu.Unlock()
	c.once.Do(func() { close(c.joined) })
}

// take removes partitions from tracking and gives up their waiting retries.
func (c *consumer) take(gone map[string][]int32) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*partition
	for topic, parts := range gone {
		for _, p := range parts {
			tp := topicPartition{topic, p}
			if st := c.parts[tp]; st != nil {
				st.cancel()
				delete(c.parts, tp)
				out = append(out, st)
			}
		}
	}
	return out
}

// revoked waits until every record taken from the revoked partitions is
// resolved (handlers finish; waiting retries give up), then commits, so the
// next owner starts right after what this member handled.
func (c *consumer) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if c.dead.Load() {
		c.take(revoked)
		return
	}
	for _, st := range c.take(revoked) {
		st.open.Wait()
	}
	c.commit()
}

// lost drops partitions the member no longer owns; nothing can be committed
// for them.
func (c *consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.take(lost)
}

// commit commits the offsets marked so far.
func (c *consumer) commit() {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := c.cl.CommitMarkedOffsets(ctx); err != nil {
		c.log.Warn("commit offsets", "err", err)
	}
}

// poll feeds the workers until ctx is done.
func (c *consumer) poll(ctx context.Context) {
	failing := false
	for ctx.Err() == nil {
		fs := c.cl.PollRecords(ctx, pollMax)
		if ctx.Err() != nil {
			fs.EachRecord(func(r *kgo.Record) {}) // nothing taken
			return
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if errors.Is(ferr, kerr.UnknownTopicID) {
			// The topic was deleted and created again: the client
			// keeps the old ID until it forgets the topic.
			c.cl.PurgeTopicsFromConsuming(c.b.eventsTopic())
			c.cl.AddConsumeTopics(c.b.eventsTopic())
		}
		if ferr != nil {
			if !failing {
				c.log.Warn("fetch records", "err", ferr)
			}
			failing = true
			sleep(ctx, 250*time.Millisecond)
		} else {
			failing = false
		}
		fs.EachRecord(func(r *kgo.Record) { c.dispatch(ctx, r) })
	}
}

// dispatch hands r to a worker, or resolves it at once when the group skips
// it.
func (c *consumer) dispatch(ctx context.Context, r *kgo.Record) {
	it := c.track(r)
	if it == nil {
		return // the partition went away since the poll: its next owner reads it
	}
	if ctx.Err() != nil {
		c.resolve(it, false)
		return
	}
	m, replayTo, ok := decode(r)
	switch {
	case !ok:
		c.log.Warn("skipping a record without subject or ID", "partition", r.Partition, "offset", r.Offset)
		c.resolve(it, true)
		return
	case replayTo != "" && replayTo != c.sub.Group:
		c.resolve(it, true) // another group's replay
		return
	case replayTo == "" && !slices.ContainsFunc(c.sub.Subjects, func(p string) bool { return bus.Match(p, m.Subject) }):
		c.resolve(it, true)
		return
	}
	select {
	case c.work <- it:
	case <-ctx.Done():
		c.resolve(it, false)
	}
}

// track queues r on its partition; nil when the partition is not assigned.
func (c *consumer) track(r *kgo.Record) *item {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.parts[topicPartition{r.Topic, r.Partition}]
	if st == nil {
		return nil
	}
	it := &item{r: r, p: st}
	st.queue = append(st.queue, it)
	st.open.Add(1)
	return it
}

// resolve records the outcome of it and marks for commit the last record of
// the partition's resolved prefix, unless a record was given up.
func (c *consumer) resolve(it *item, done bool) {
	c.mu.Lock()
	st := it.p
	it.resolved, it.done = true, done
	var last *kgo.Record
	for len(st.queue) > 0 && st.queue[0].resolved {
		head := st.queue[0]
		if !head.done {
			st.frozen = true
		}
		if !st.frozen {
			last = head.r
		}
		st.queue[0] = nil
		st.queue = st.queue[1:]
	}
	// Marks of a partition taken away are ignored by the client.
	if last != nil {
		c.cl.MarkCommitRecords(last)
	}
	c.mu.Unlock()
	st.open.Done()
}

func (c *consumer) worker(ctx context.Context) {
	for it := range c.work {
		if ctx.Err() != nil || it.p.ctx.Err() != nil {
			c.resolve(it, false)
			continue
		}
		c.resolve(it, c.handle(ctx, it))
	}
}

// handle delivers the record until the handler succeeds, retrying in place
// with the subscription's backoff, and dead-letters it when the attempts run
// out or the error is permanent. It returns false when it gave up waiting
// because the subscription stopped or the partition was revoked: the record
// then stays uncommitted for the next owner.
func (c *consumer) handle(ctx context.Context, it *item) bool {
	m, _, _ := decode(it.r)
	for attempt := 1; ; attempt++ {
		m.Attempt = attempt
		log := c.log.With("subject", m.Subject, "event_id", m.ID, "attempt", attempt)
		herr := c.call(ctx, m)
		if herr == nil {
			return true
		}
		delay, retry := c.sub.RetryAfter(attempt, herr)
		if retry {
			log.Info("handler failed, will retry", "err", herr, "delay", delay)
			if !c.wait(ctx, it.p, delay) {
				return false
			}
			continue
		}
		for try := 1; ; try++ {
			err := c.b.deadLetter(ctx, c.sub.Group, it.r, m, attempt, herr)
			if err == nil {
				log.Warn("message dead-lettered", "err", herr, "permanent", bus.IsPermanent(herr))
				return true
			}
			// Keep the record and try again rather than lose it.
			log.Error("dead-letter message", "err", err, "cause", herr)
			if !c.wait(ctx, it.p, c.sub.Backoff(try)) {
				return false
			}
		}
	}
}

// wait waits d; false when the subscription stopped or the partition was
// revoked meanwhile.
func (c *consumer) wait(ctx context.Context, p *partition, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-p.ctx.Done():
	}
	return false
}

// call runs the handler, turning a panic into an error so one bad message
// cannot stop the consumer. The handler keeps running to its end when the
// subscription stops; its context keeps the caller's values.
func (c *consumer) call(ctx context.Context, m bus.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kafkabus: handler panic: %v", r)
		}
	}()
	return c.h(context.WithoutCancel(ctx), m)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
