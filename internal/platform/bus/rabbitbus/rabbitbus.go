// Package rabbitbus implements bus.Bus on RabbitMQ (AMQP 0-9-1).
//
// Layout under a prefix P (default "mercato"):
//
//   - a durable topic exchange P; a message's routing key is its subject, and
//     a pattern's final ">" binds as "*.#" (one or more words);
//   - per group a durable queue "P.<group>" (quorum by default, or classic)
//     bound with the group's patterns; the consumers of a group share it;
//   - per group a dead-letter queue "P.<group>.dlq" holding JSON
//     bus.DeadLetter messages, no consumer;
//   - per group and backoff delay a retry queue "P.<group>.retry.<ms>" with
//     that message TTL whose dead-letter target is the group queue. A failed
//     message is republished there with its attempt number in a header, then
//     acked, and comes back to the group alone after the delay. The delay is
//     rounded up to a power of two milliseconds, so a group has at most 32
//     retry queues however jittered its backoff, and a retry never comes back
//     early. One queue per delay means no message waits behind a longer one.
//     Retry queues expire on their own when unused (x-expires).
//
// Every publish waits for the broker's confirm. The bus is at least once and
// does not dedupe by message ID: a message published twice is delivered
// twice, and consumers dedupe through their inbox. The connection is watched:
// when it drops, the bus reconnects with backoff, declares the exchange and
// the known groups again, and running consumers resume by themselves.
//
// RabbitMQ has no in-progress ack: a handler slower than the broker's
// consumer_timeout (30 minutes by default) has its channel closed and its
// message redelivered.
package rabbitbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mercato/mercato/internal/platform/bus"
)

// Options configures the client. Zero values are the defaults.
type Options struct {
	// Prefix names the exchange and the queues, so several installations (or
	// tests) share a broker without seeing each other's messages. Letters,
	// digits, '_' and '-'; default "mercato".
	Prefix string
	// QueueType is "quorum" (default: replicated, at-least-once dead
	// lettering) or "classic".
	QueueType string
	// Name is the connection name shown by the broker.
	Name string
	// ReconnectWait is the first wait before reconnecting; it doubles up to
	// 5s. Default 250ms.
	ReconnectWait time.Duration
	// DeadLetterMaxAge is how long a dead letter stays in its queue unless
	// replayed (a per-message expiration, so queues declared before keep
	// their arguments); zero keeps it until replayed.
	DeadLetterMaxAge time.Duration
}

// DefaultPrefix is the prefix used when Options.Prefix is empty.
const DefaultPrefix = "mercato"

// ErrClosed is returned by calls on a closed Bus.
var ErrClosed = errors.New("rabbitbus: bus closed")

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := bus.ValidateSubject(o.Prefix); err != nil || strings.Contains(o.Prefix, ".") {
		return o, fmt.Errorf("rabbitbus: invalid prefix %q", o.Prefix)
	}
	switch o.QueueType {
	case "":
		o.QueueType = "quorum"
	case "quorum", "classic":
	default:
		return o, fmt.Errorf("rabbitbus: invalid queue type %q", o.QueueType)
	}
	if o.Name == "" {
		o.Name = "mercato"
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 250 * time.Millisecond
	}
	return o, nil
}

// Headers the adapter sets; with the broker's own x-death family they are not
// passed to handlers.
const (
	hdrSubject = "x-mercato-subject"
	hdrAttempt = "x-mercato-attempt"
)

// maxRetryDelay caps the delay of a retry queue: 2^31ms, about 24.8 days, well
// within the broker's 32-bit timers. A longer backoff is cut to it.
const maxRetryDelay = (1 << 31) * time.Millisecond

// maxChannelLosses is how many times in a row publish opens the publishing
// channel again while none of its messages gets confirmed. A channel the
// broker keeps closing for a reason that does not heal fails the call,
// naming the reason, instead of spinning.
const maxChannelLosses = 10

// retryRedeclare is how often a retry queue in use is declared again; its
// x-expires is at least three times longer, so it never expires while used.
const retryRedeclare = 5 * time.Minute

// confirmTimeout bounds the wait for a batch's confirms when the caller's ctx
// has no deadline: a broker that stops confirming (a quorum queue without a
// majority) fails the publish instead of holding it forever. A lost channel
// is not a missing confirm: its confirms resolve as nacks at once.
const confirmTimeout = 30 * time.Second

// Bus is a bus.Bus on RabbitMQ. It is safe for concurrent use.
type Bus struct {
	url  string
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	conn     *amqp.Connection // nil while reconnecting
	ready    chan struct{}    // closed while conn is usable
	closed   bool
	groups   map[string]map[string]bool // group → bound patterns, declared again on reconnect
	retryAt  map[string]time.Time       // retry queue → last declared on this connection
	declared map[string]bool            // every queue this Bus declared, for Teardown

	pubMu sync.Mutex
	pub   *pubChannel // confirm mode; nil before the first publish

	done    chan struct{}
	watcher sync.WaitGroup
}

var _ bus.Bus = (*Bus)(nil)

// Dial connects to the broker at url, declares the exchange and starts
// watching the connection. It fails when the broker does not answer; later
// losses are repaired in the background.
func Dial(ctx context.Context, url string, opts Options, log *slog.Logger) (*Bus, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bus{
		url:      url,
		opts:     opts,
		log:      log.With("prefix", opts.Prefix),
		ready:    make(chan struct{}),
		groups:   map[string]map[string]bool{},
		retryAt:  map[string]time.Time{},
		declared: map[string]bool{},
		done:     make(chan struct{}),
	}
	conn, err := b.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("rabbitbus: connect to %s: %w", redact(url), err)
	}
	if err := checkVersion(conn, opts.QueueType); err != nil {
		_ = conn.Close()
		return nil, err
	}
	b.conn = conn
	close(b.ready)
	b.watcher.Go(func() { b.watch(conn) })
	return b, nil
}

// MinQuorumVersion is the oldest RabbitMQ the bus takes with quorum queues
// (the default): 3.10 brought the at-least-once dead-lettering the retry
// queues rely on (x-dead-letter-strategy), without which a retry can be
// lost between two queues.
const MinQuorumVersion = "3.10"

// checkVersion refuses a broker too old for the queue type.
func checkVersion(conn *amqp.Connection, queueType string) error {
	v, _ := conn.Properties["version"].(string)
	if queueType != "quorum" || bus.VersionAtLeast(v, 3, 10) {
		return nil
	}
	return fmt.Errorf("rabbitbus: RabbitMQ %q is older than %s, which quorum queues need for at-least-once dead-lettering of retries; upgrade the broker", v, MinQuorumVersion)
}

func (b *Bus) exchange() string          { return b.opts.Prefix }
func (b *Bus) queue(group string) string { return b.opts.Prefix + "." + group }
func (b *Bus) dlq(group string) string   { return b.opts.Prefix + "." + group + ".dlq" }
func (b *Bus) retryQueue(group string, d time.Duration) string {
	return b.opts.Prefix + "." + group + ".retry." + strconv.FormatInt(d.Milliseconds(), 10)
}

// retryDelay is the delay of the retry queue that serves a backoff of d: d
// rounded up to a power of two milliseconds, at least 1ms and at most
// maxRetryDelay. A retry comes back up to twice as late as asked, never
// earlier (below the cap), and a group has at most 32 retry queues.
func retryDelay(d time.Duration) time.Duration {
	if d >= maxRetryDelay {
		return maxRetryDelay
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond // ceiling; 0 or less for d <= 0
	p := time.Duration(1)
	for p < ms {
		p <<= 1
	}
	return p * time.Millisecond
}

// dial opens a connection and declares the exchange and every known group.
func (b *Bus) dial(ctx context.Context) (*amqp.Connection, error) {
	cfg := amqp.Config{
		Heartbeat:  10 * time.Second,
		Properties: amqp.NewConnectionProperties(),
		// Like amqp.DefaultDial, but the TCP dial also ends with ctx. The
		// deadline covers the AMQP handshake; amqp091 clears it afterwards.
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: 10 * time.Second}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return conn, nil
		},
	}
	cfg.Properties.SetClientConnectionName(b.opts.Name)
	conn, err := amqp.DialConfig(b.url, cfg)
	if err != nil {
		return nil, err
	}
	err = withChannel(conn, func(ch *amqp.Channel) error {
		return b.declareTopology(ch, b.knownGroups())
	})
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// watch reconnects whenever the connection drops, until Close.
func (b *Bus) watch(conn *amqp.Connection) {
	for {
		lost := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-b.done:
			return
		case err := <-lost:
			b.log.Warn("rabbitmq connection lost", "err", err)
		}
		b.mu.Lock()
		b.conn = nil
		b.ready = make(chan struct{})
		clear(b.retryAt)
		b.mu.Unlock()

		wait := b.opts.ReconnectWait
		for attempt := 1; ; attempt++ {
			select {
			case <-b.done:
				return
			case <-time.After(wait):
			}
			c, err := b.dial(context.Background())
			if err == nil {
				conn = c
				break
			}
			if attempt == 1 || attempt%20 == 0 {
				b.log.Warn("reconnect to rabbitmq", "attempt", attempt, "err", err)
			}
			wait = min(2*wait, 5*time.Second)
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			_ = conn.Close()
			return
		}
		b.conn = conn
		close(b.ready)
		b.mu.Unlock()
		b.log.Info("rabbitmq reconnected")
	}
}

// connection returns the live connection, waiting for a reconnect if needed.
func (b *Bus) connection(ctx context.Context) (*amqp.Connection, error) {
	for {
		b.mu.Lock()
		closed, conn, ready := b.closed, b.conn, b.ready
		b.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if conn != nil && !conn.IsClosed() {
			return conn, nil
		}
		if conn != nil {
			ready = nil // closed but not yet noticed by watch: poll
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for rabbitmq connection: %w", ctx.Err())
		case <-b.done:
			return nil, ErrClosed
		case <-ready:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func withChannel(conn *amqp.Connection, fn func(*amqp.Channel) error) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer func() { _ = ch.Close() }()
	return fn(ch)
}

// knownGroups returns the subscribed groups with their patterns.
func (b *Bus) knownGroups() map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	groups := make(map[string][]string, len(b.groups))
	for g, ps := range b.groups {
		groups[g] = sortedKeys(ps)
	}
	return groups
}

// declareTopology declares the exchange and the given groups on ch.
func (b *Bus) declareTopology(ch *amqp.Channel, groups map[string][]string) error {
	if err := b.declareExchange(ch); err != nil {
		return err
	}
	for g, ps := range groups {
		if err := b.declareGroup(ch, g, ps); err != nil {
			return err
		}
	}
	return nil
}

// declareGroupAgain declares a subscribed group's topology, with the
// exchange, on a channel of its own: for a group queue someone deleted.
func (b *Bus) declareGroupAgain(ctx context.Context, group string) error {
	conn, err := b.connection(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	patterns := sortedKeys(b.groups[group])
	b.mu.Unlock()
	return withChannel(conn, func(ch *amqp.Channel) error {
		return b.declareTopology(ch, map[string][]string{group: patterns})
	})
}

func (b *Bus) declareExchange(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(b.exchange(), amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", b.exchange(), err)
	}
	return nil
}

func (b *Bus) queueArgs() amqp.Table {
	return amqp.Table{"x-queue-type": b.opts.QueueType}
}

// declareGroup declares the group's queue, its dead-letter queue and the
// bindings of patterns. Declaring is idempotent; bindings are only added.
func (b *Bus) declareGroup(ch *amqp.Channel, group string, patterns []string) error {
	for _, q := range []string{b.queue(group), b.dlq(group)} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, b.queueArgs()); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	for _, p := range patterns {
		if err := ch.QueueBind(b.queue(group), bindingKey(p), b.exchange(), false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", b.queue(group), p, err)
		}
	}
	b.mu.Lock()
	b.declared[b.queue(group)] = true
	b.declared[b.dlq(group)] = true
	b.mu.Unlock()
	return nil
}

// bindingKey turns a bus pattern into an AMQP topic binding: "*" is the same,
// a final ">" (one or more tokens) becomes "*.#".
func bindingKey(pattern string) string {
	if pattern == ">" {
		return "*.#"
	}
	if rest, ok := strings.CutSuffix(pattern, ".>"); ok {
		return rest + ".*.#"
	}
	return pattern
}

// ensureRetryQueue declares the retry queue that serves a backoff of d, at
// most once per retryRedeclare on a connection, and returns its name. It
// declares on a short-lived channel of its own: a declare the broker refuses
// (406, a queue of that name with other arguments) closes the channel, and
// must not close the one every publish shares.
func (b *Bus) ensureRetryQueue(ctx context.Context, group string, d time.Duration) (string, error) {
	d = retryDelay(d)
	name := b.retryQueue(group, d)
	b.mu.Lock()
	fresh := time.Since(b.retryAt[name]) < retryRedeclare
	b.mu.Unlock()
	if fresh {
		return name, nil
	}
	conn, err := b.connection(ctx)
	if err != nil {
		return "", err
	}
	ttl := d.Milliseconds()
	args := b.queueArgs()
	args["x-message-ttl"] = ttl
	args["x-dead-letter-exchange"] = ""
	args["x-dead-letter-routing-key"] = b.queue(group)
	args["x-expires"] = ttl + (3 * retryRedeclare).Milliseconds()
	if b.opts.QueueType == "quorum" {
		// Quorum queues can dead-letter at least once: a retry is never
		// lost between the queues.
		args["x-dead-letter-strategy"] = "at-least-once"
		args["x-overflow"] = "reject-publish"
	}
	err = withChannel(conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(name, true, false, false, false, args)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("declare retry queue %s: %w", name, err)
	}
	b.mu.Lock()
	b.retryAt[name] = time.Now()
	b.declared[name] = true
	b.mu.Unlock()
	return name, nil
}

// outgoing is one message to publish with a confirm.
type outgoing struct {
	exchange, key string
	msg           amqp.Publishing
	// retryGroup and retryDelay ask for the retry queue to be declared first.
	retryGroup string
	retryDelay time.Duration
}

// Publish sends the messages to the exchange and returns nil only once the
// broker has confirmed every one (persisted to the bound durable queues).
// Messages are checked before any is sent. The batch is pipelined: all of it
// is sent on the publishing channel, in order and without interleaving with
// another call's, then the confirms are awaited together. While the
// connection is down it waits for the reconnect, until ctx is done.
//
// When the channel or connection is lost mid-batch, the messages not yet
// confirmed are sent again once it is back, and Publish carries on: one the
// broker had stored before its confirm was lost is then stored twice. A nack
// on a live channel (a queue refusing the message), or no confirm within
// confirmTimeout when ctx has no deadline, fails the call. The other messages
// of the batch may be stored by then: the caller publishes the whole batch
// again, and those are stored twice. The bus does not dedupe by ID;
// consumers do, through their inbox.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	out := make([]outgoing, 0, len(msgs))
	for _, m := range msgs {
		if err := bus.ValidateSubject(m.Subject); err != nil {
			return err
		}
		if m.ID == "" {
			return fmt.Errorf("rabbitbus: publish %s: message has no ID", m.Subject)
		}
		out = append(out, outgoing{exchange: b.exchange(), key: m.Subject, msg: publishing(m, 1)})
	}
	if err := b.publish(ctx, out); err != nil {
		return fmt.Errorf("rabbitbus: publish: %w", err)
	}
	return nil
}

// publishing builds the AMQP message for m at the given attempt.
func publishing(m bus.Message, attempt int) amqp.Publishing {
	h := amqp.Table{}
	for k, v := range m.Header {
		if !internalHeader(k) {
			h[k] = v
		}
	}
	h[hdrSubject] = m.Subject
	h[hdrAttempt] = int64(attempt)
	return amqp.Publishing{
		DeliveryMode: amqp.Persistent,
		MessageId:    m.ID,
		Timestamp:    time.Now().UTC(),
		Headers:      h,
		Body:         m.Data,
	}
}

func internalHeader(k string) bool {
	return strings.HasPrefix(k, "x-mercato-") || k == "x-death" || k == "x-delivery-count" ||
		strings.HasPrefix(k, "x-first-death-") || strings.HasPrefix(k, "x-last-death-")
}

// publish sends msgs with confirms, resending what the broker did not
// confirm because the channel or connection went away. A nack on a live
// channel is an error, and so are maxChannelLosses losses in a row with
// nothing confirmed: a wait for a reconnect does not count, a channel the
// broker closes for an error does.
func (b *Bus) publish(ctx context.Context, msgs []outgoing) error {
	for losses := 0; ; {
		failed, retryable, err := b.tryPublish(ctx, msgs)
		if err == nil && len(failed) == 0 {
			return nil
		}
		if !retryable || ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("broker refused %d of %d messages", len(failed), len(msgs))
			}
			return err
		}
		if len(failed) < len(msgs) {
			losses = 0 // some were confirmed: progress
		}
		if losses++; losses >= maxChannelLosses {
			return fmt.Errorf("publishing channel lost %d times in a row with nothing confirmed, last: %w", losses, err)
		}
		b.log.Debug("republish after channel loss", "count", len(failed), "err", err)
		msgs = failed
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tryPublish sends msgs once and waits for their confirms. It returns the
// messages not confirmed, whether sending them again may succeed (the channel
// was lost, not a refusal), and why they failed.
func (b *Bus) tryPublish(ctx context.Context, msgs []outgoing) (failed []outgoing, retryable bool, err error) {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.key
		if m.retryGroup != "" {
			if keys[i], err = b.ensureRetryQueue(ctx, m.retryGroup, m.retryDelay); err != nil {
				return msgs, false, err
			}
		}
	}
	b.pubMu.Lock()
	p, err := b.pubChannel(ctx)
	if err != nil {
		b.pubMu.Unlock()
		return msgs, !errors.Is(err, ErrClosed), err
	}
	dcs := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	var sendErr error
	for i, m := range msgs {
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, m.exchange, keys[i], false, false, m.msg)
		if err != nil {
			sendErr = err
			break
		}
		dcs = append(dcs, dc)
	}
	b.pubMu.Unlock()

	failed = append(failed, msgs[len(dcs):]...)
	wctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, confirmTimeout)
		defer cancel()
	}
	var nacked []outgoing
	for i, dc := range dcs {
		ok, err := dc.WaitContext(wctx)
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("no confirm from the broker within %v: %w", confirmTimeout, err)
		}
		if err != nil {
			return msgs[i:], false, err
		}
		if !ok {
			nacked = append(nacked, msgs[i])
		}
	}
	// A nack from a channel that has since closed is a loss of the channel,
	// not a refusal: send again.
	if len(nacked) > 0 && !p.ch.IsClosed() {
		return append(nacked, failed...), false, sendErr
	}
	failed = append(nacked, failed...)
	if len(failed) == 0 {
		return nil, false, nil
	}
	err = sendErr
	if p.ch.IsClosed() {
		err = p.closeReason(sendErr)
	}
	if err == nil {
		err = errors.New("publishing channel lost")
	}
	return failed, true, err
}

// pubChannel is the publishing channel and why it closed.
type pubChannel struct {
	ch   *amqp.Channel
	conn *amqp.Connection // the connection it was opened on
	lost chan struct{}    // closed once ch is closed
	why  *amqp.Error      // the broker's reason, if any; read after lost is closed
}

func newPubChannel(conn *amqp.Connection, ch *amqp.Channel) *pubChannel {
	p := &pubChannel{ch: ch, conn: conn, lost: make(chan struct{})}
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		p.why = <-closes // nil when closed without an error
		close(p.lost)
	}()
	return p
}

// closeReason returns why the closed channel closed, or fallback when the
// broker gave no reason. The reason is sent before the channel's pending
// confirms resolve, so the wait is short.
func (p *pubChannel) closeReason(fallback error) error {
	select {
	case <-p.lost:
		if p.why != nil {
			return p.why
		}
	case <-time.After(time.Second):
	}
	return fallback
}

// pubChannel returns the confirm-mode publishing channel, opening a new one
// after a loss. Call with pubMu held.
//
// Every new channel declares the exchange first (idempotent, one round trip),
// so an exchange deleted under the bus comes back instead of closing every
// channel with 404. When the previous channel died on a connection that is
// still up, the broker closed it for an error, such as that missing exchange:
// the groups' queues and bindings, which went with the exchange, are declared
// again too, each on a channel of its own, as a reconnect does.
func (b *Bus) pubChannel(ctx context.Context) (*pubChannel, error) {
	if b.pub != nil && !b.pub.ch.IsClosed() {
		return b.pub, nil
	}
	conn, err := b.connection(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open publish channel: %w", err)
	}
	if err := b.declareExchange(ch); err != nil {
		_ = ch.Close()
		return nil, err
	}
	if b.pub != nil && b.pub.conn == conn {
		for g, ps := range b.knownGroups() {
			err := withChannel(conn, func(ch *amqp.Channel) error { return b.declareGroup(ch, g, ps) })
			if err != nil {
				b.log.Warn("declare group again", "group", g, "err", err)
			}
		}
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	b.pub = newPubChannel(conn, ch)
	return b.pub, nil
}

// DeadLetters lists up to limit dead letters of group, oldest first, without
// removing them: it gets them unacknowledged on its own channel and closes
// it, which requeues them in place. While a listing runs, those messages are
// invisible to another listing or replay. A limit of zero or less lists all.
func (b *Bus) DeadLetters(ctx context.Context, group string, limit int) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	err := b.eachDeadLetter(ctx, group, func(_ amqp.Delivery, dl bus.DeadLetter) (bool, error) {
		out = append(out, dl)
		return limit <= 0 || len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("rabbitbus: list dead letters of %s: %w", group, err)
	}
	return out, nil
}

// Replay publishes the group's dead letters with the given IDs (all when none
// are given) straight to the group's queue through the default exchange, so
// no other group sees them, and acks them off the dead-letter queue once the
// broker confirmed the copy. Replayed messages start again at attempt 1.
//
// The walk visits only the letters dead-lettered before it started: a
// replayed message that fails again is dead-lettered anew, behind the others,
// and must not be replayed again by the same call, which could loop. The ID
// cannot tell (RabbitMQ does not dedupe: the queue may hold two letters with
// one ID), the time does: FailedAt is stamped by the adapter that
// dead-lettered the message, with its process's clock, which is this clock
// when the consumer runs in this process. Where it is another host's clock
// running behind this one, a letter that fails again within that skew looks
// older than the walk and is replayed again by the same call: repeat
// deliveries, for no longer than the skew.
func (b *Bus) Replay(ctx context.Context, group string, ids ...string) (int, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	start := time.Now()
	n := 0
	err := b.eachDeadLetter(ctx, group, func(d amqp.Delivery, dl bus.DeadLetter) (bool, error) {
		if dl.FailedAt.After(start) || (len(want) > 0 && !want[dl.ID]) {
			return true, nil // left unacked: requeued when the channel closes
		}
		out := outgoing{key: b.queue(group), msg: publishing(dl.Message, 1)}
		if err := b.publish(ctx, []outgoing{out}); err != nil {
			return false, fmt.Errorf("republish %s: %w", dl.ID, err)
		}
		if err := d.Ack(false); err != nil {
			return false, fmt.Errorf("remove dead letter %s: %w", dl.ID, err)
		}
		n++
		b.log.Info("dead letter replayed", "group", group, "subject", dl.Subject, "event_id", dl.ID)
		return true, nil
	})
	if err != nil {
		return n, fmt.Errorf("rabbitbus: replay dead letters of %s: %w", group, err)
	}
	return n, nil
}

// eachDeadLetter gets the group's dead letters one by one without acking
// them; closing the channel at the end requeues what fn did not ack.
func (b *Bus) eachDeadLetter(ctx context.Context, group string, fn func(amqp.Delivery, bus.DeadLetter) (bool, error)) error {
	if err := bus.ValidateGroup(group); err != nil {
		return err
	}
	conn, err := b.connection(ctx)
	if err != nil {
		return err
	}
	return withChannel(conn, func(ch *amqp.Channel) error {
		for ctx.Err() == nil {
			d, ok, err := ch.Get(b.dlq(group), false)
			var aerr *amqp.Error
			if errors.As(err, &aerr) && aerr.Code == amqp.NotFound {
				return nil // the group was never subscribed: nothing dead
			}
			if err != nil {
				return fmt.Errorf("get from %s: %w", b.dlq(group), err)
			}
			if !ok {
				return nil
			}
			var dl bus.DeadLetter
			if err := json.Unmarshal(d.Body, &dl); err != nil {
				b.log.Warn("skipping unreadable dead letter", "group", group, "event_id", d.MessageId, "err", err)
				continue
			}
			more, err := fn(d, dl)
			if err != nil || !more {
				return err
			}
		}
		return ctx.Err()
	})
}

// deadLetter stores the failed message in the group's dead-letter queue.
func (b *Bus) deadLetter(ctx context.Context, group string, m bus.Message, attempts int, cause error) error {
	dl := bus.NewDeadLetter(group, m, attempts, cause, time.Now())
	data, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	out := outgoing{key: b.dlq(group), msg: amqp.Publishing{
		DeliveryMode: amqp.Persistent,
		ContentType:  "application/json",
		MessageId:    m.ID,
		Timestamp:    dl.FailedAt,
		Body:         data,
	}}
	if age := b.opts.DeadLetterMaxAge; age > 0 {
		out.msg.Expiration = strconv.FormatInt(age.Milliseconds(), 10)
	}
	if err := b.publish(ctx, []outgoing{out}); err != nil {
		return fmt.Errorf("store dead letter: %w", err)
	}
	return nil
}

// Teardown deletes the exchange and every queue this Bus declared (group,
// dead-letter and retry queues), with their messages, and forgets the groups,
// so the bus does not declare them again. It is for tests and
// decommissioning, never for normal shutdown; stop the consumers first.
func (b *Bus) Teardown(ctx context.Context) error {
	conn, err := b.connection(ctx)
	if err != nil {
		return fmt.Errorf("rabbitbus: teardown: %w", err)
	}
	b.mu.Lock()
	queues := sortedKeys(b.declared)
	clear(b.groups)
	clear(b.retryAt)
	b.mu.Unlock()
	var errs []error
	for _, q := range queues {
		if err := withChannel(conn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(q, false, false, false)
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("rabbitbus: delete queue %s: %w", q, err))
		}
	}
	if err := withChannel(conn, func(ch *amqp.Channel) error {
		return ch.ExchangeDelete(b.exchange(), false, false)
	}); err != nil {
		errs = append(errs, fmt.Errorf("rabbitbus: delete exchange %s: %w", b.exchange(), err))
	}
	return errors.Join(errs...)
}

// Close stops reconnecting and closes the connection. Consumers must be
// stopped first.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	conn := b.conn
	b.mu.Unlock()
	b.watcher.Wait()
	if conn != nil && !conn.IsClosed() {
		if err := conn.Close(); err != nil {
			return fmt.Errorf("rabbitbus: close connection: %w", err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// redact hides the password in an AMQP URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
