// Package natsbus implements bus.Bus on NATS JetStream, with the same code for
// the embedded in-process server (laptop mode) and an external server or
// cluster (production).
//
// Layout under a prefix P (default "MERCATO"):
//
//   - stream P holds the events on subjects "P.ev.<subject>" and the replays
//     on "P.rp.<group>.<subject>"; its retention is by age (MaxAge), so every
//     group reads the same copy and Nats-Msg-Id dedupes within DuplicateWindow;
//   - stream P_DLQ holds dead letters on "P.dlq.<group>.<subject>", each one a
//     JSON bus.DeadLetter; listing reads it without consuming, Replay
//     republishes to "P.rp.<group>.…" (seen by that group only) and deletes the
//     entry;
//   - each group is a durable pull consumer named after the group, filtered on
//     its patterns and on its replay subject. A group created for the first
//     time starts at the first message the stream retains (DeliverAll), so a
//     service added later misses nothing the stream still holds (the inbox
//     makes the replay harmless); an existing group resumes from its acked
//     position. Servers older than 2.10 take one filter per consumer, so
//     there the group is one consumer per pattern ("<group>_<hash>") plus
//     "<group>_replay"; a subject matching two patterns of one group is then
//     delivered twice to it. Connect warns about such a server (Warnings).
//
// A server that comes back empty (its store wiped, or a new cluster) is
// repaired without a restart of the process: a publish the server answers
// with "no response from stream" declares the streams again and is sent once
// more, and a consumer that finds its consumer or stream gone declares them
// again and starts over from the new stream's first message.
//
// Retries are negative acks with the subscription's backoff as delay
// (NakWithDelay); the attempt is the server's delivery count. The server never
// drops a message on its own (MaxDeliver is unlimited): after MaxAttempts
// failures the adapter writes the dead letter, then acks. While a handler
// runs, the message's ack timer is reset every AckWait/3 (in-progress acks), so
// a slow handler is never redelivered elsewhere; a crashed process's messages
// come back after AckWait.
package natsbus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mercato/mercato/internal/platform/bus"
)

// Options configures the embedded server and the client. Zero values are the
// laptop defaults.
type Options struct {
	// Dir is where the embedded server keeps its JetStream files.
	Dir string
	// Listen is the embedded server's TCP address (host:port); empty means no
	// listener, only in-process connections.
	Listen string
	// Prefix names the streams and consumers and prefixes the subjects, so
	// several installations (or tests) share a server without seeing each
	// other's messages. Letters, digits, '_' and '-'; default "MERCATO".
	Prefix string
	// Replicas is the stream replica count on a cluster; default 1.
	Replicas int
	// MaxAge is how long events stay in the stream; default 7 days.
	MaxAge time.Duration
	// DeadLetterMaxAge is how long dead letters stay in their stream unless
	// replayed; zero keeps them until replayed.
	DeadLetterMaxAge time.Duration
	// DuplicateWindow is how long a message ID is remembered for dedupe;
	// default 2 minutes.
	DuplicateWindow time.Duration
	// AckWait is how long the server waits for an ack before redelivering;
	// default 30s. Running handlers extend it with in-progress acks.
	AckWait time.Duration
	// Name is the client connection name shown by the server.
	Name string
	// RefuseOldServer makes Connect fail on a server older than MinVersion
	// instead of warning and taking the one-filter-per-consumer fallback.
	RefuseOldServer bool
}

// MinVersion is the oldest NATS server the bus is meant for: 2.10 takes
// several filter subjects per consumer, so a group is one consumer and gets
// each message once. Older servers work through a fallback that may deliver
// a message twice to a group (see the package comment).
const MinVersion = "2.10"

// DefaultPrefix is the prefix used when Options.Prefix is empty.
const DefaultPrefix = "MERCATO"

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := bus.ValidateSubject(o.Prefix); err != nil || strings.Contains(o.Prefix, ".") {
		return o, fmt.Errorf("natsbus: invalid prefix %q", o.Prefix)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 2 * time.Minute
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.Name == "" {
		o.Name = "mercato"
	}
	return o, nil
}

// Header keys the adapter sets; they are not passed to handlers.
const (
	hdrID     = "Mercato-Bus-Id" // original ID of a replayed message
	hdrPrefix = "Mercato-Bus-"   // every internal header
	natsHdr   = "Nats-"          // server headers
)

// Publish pipelining. The client keeps one table of pending acknowledgements
// per connection (4000 entries by default); maxInFlight keeps one large batch
// from filling it for every other caller.
const (
	// maxInFlight is how many messages one Publish has sent and not yet seen
	// acknowledged.
	maxInFlight = 256
	// ackTimeout bounds the wait for each acknowledgement, counted from the
	// message's send, as the synchronous publish did (JetStream's default API
	// timeout); it also bounds a stall on a full pending table. The client
	// drops the pending entry when it expires, so an abandoned wait leaks
	// nothing.
	ackTimeout = 5 * time.Second
	// maxPublishErrs is how many per-message errors a failed Publish reports.
	maxPublishErrs = 3
)

// Bus is a bus.Bus on NATS JetStream. It is safe for concurrent use.
type Bus struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	opts        Options
	log         *slog.Logger
	multiFilter bool // the server takes several filter subjects per consumer (2.10+)

	mu     sync.Mutex
	reconn chan struct{} // closed and replaced at every reconnect
	// reconnects counts reconnects, so consumers look for what a new
	// server may have lost.
	reconnects atomic.Uint64
	// subscribed are the durable consumers this Bus's subscriptions pull
	// from, for Backlog.
	subscribed []jetstream.Consumer
	warnings   []string

	closeOnce sync.Once
}

var _ bus.Bus = (*Bus)(nil)

// Connect connects to the NATS servers in urls (comma separated) and makes
// sure the streams exist. The client reconnects by itself for as long as it
// lives; Connect itself fails when no server answers.
func Connect(ctx context.Context, urls string, opts Options, log *slog.Logger) (*Bus, error) {
	return connect(ctx, urls, opts, log)
}

// ConnectEmbedded connects in process to s; opts.Prefix and the client
// settings apply, opts.Dir and opts.Listen are the server's business.
func ConnectEmbedded(ctx context.Context, s *Server, opts Options, log *slog.Logger) (*Bus, error) {
	return connect(ctx, s.ClientURL(), opts, log, nats.InProcessServer(s))
}

func connect(ctx context.Context, urls string, opts Options, log *slog.Logger, extra ...nats.Option) (*Bus, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	log = log.With("prefix", opts.Prefix)
	b := &Bus{opts: opts, log: log, reconn: make(chan struct{})}
	nopts := append([]nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
			b.reconnected()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats async error", "err", err)
		}),
	}, extra...)
	nc, err := nats.Connect(urls, nopts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect to %s: %w", redact(urls), err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: open jetstream: %w", err)
	}
	b.nc, b.js = nc, js
	version := nc.ConnectedServerVersion()
	b.multiFilter = bus.VersionAtLeast(version, 2, 10)
	if !b.multiFilter {
		if opts.RefuseOldServer {
			nc.Close()
			return nil, fmt.Errorf("natsbus: NATS server %s at %s is older than %s, which Mercato needs (a group is one consumer with several filters); upgrade the server", version, redact(urls), MinVersion)
		}
		b.warn(fmt.Sprintf("NATS server %s is older than %s: each group takes one consumer per pattern, so a message matching two patterns of a group reaches it twice (its inbox drops the second); upgrade the server", version, MinVersion))
	}
	if err := b.ensureStreams(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	b.checkStorage(ctx)
	return b, nil
}

// Warnings lists what an operator should know about the server this Bus
// talks to (an old version, a stream kept in memory): the app logs them at
// start and shows them on /readyz.
func (b *Bus) Warnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.warnings)
}

func (b *Bus) warn(msg string) {
	b.log.Warn("bus warning", "warning", msg)
	b.mu.Lock()
	b.warnings = append(b.warnings, msg)
	b.mu.Unlock()
}

// checkStorage warns when the events would not survive a server restart: a
// stream kept in memory (made so by someone else: ensureStreams asks for
// files, and the server does not change a stream's storage), or an account
// without file storage.
func (b *Bus) checkStorage(ctx context.Context) {
	for _, name := range []string{b.eventsStream(), b.dlqStream()} {
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		if s.CachedInfo().Config.Storage == jetstream.MemoryStorage {
			b.warn(fmt.Sprintf("JetStream stream %s is kept in memory: its events are lost when the server restarts; recreate it with file storage", name))
		}
	}
	if ai, err := b.js.AccountInfo(ctx); err == nil && ai.Limits.MaxStore == 0 {
		b.warn("the NATS account has no JetStream file storage (max_file_store 0): events do not survive a server restart")
	}
}

// reconnected wakes everything waiting on a reply that the old connection
// will never bring: pull requests and acks die with the server's session.
func (b *Bus) reconnected() {
	b.reconnects.Add(1)
	b.mu.Lock()
	close(b.reconn)
	b.reconn = make(chan struct{})
	b.mu.Unlock()
}

// untilReconnect returns a context that is also cancelled at the next
// reconnect.
func (b *Bus) untilReconnect(ctx context.Context) (context.Context, context.CancelFunc) {
	b.mu.Lock()
	ch := b.reconn
	b.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-stop:
		}
	}()
	return ctx, func() { close(stop); cancel() }
}

func (b *Bus) eventsStream() string { return b.opts.Prefix }
func (b *Bus) dlqStream() string    { return b.opts.Prefix + "_DLQ" }
func (b *Bus) evSubject(subject string) string {
	return b.opts.Prefix + ".ev." + subject
}
func (b *Bus) replaySubject(group, subject string) string {
	return b.opts.Prefix + ".rp." + group + "." + subject
}
func (b *Bus) dlqSubject(group, subject string) string {
	return b.opts.Prefix + ".dlq." + group + "." + subject
}

// ensureStreams creates or updates both streams; concurrent callers with the
// same configuration all succeed.
func (b *Bus) ensureStreams(ctx context.Context) error {
	cfgs := []jetstream.StreamConfig{{
		Name:        b.eventsStream(),
		Description: "mercato events",
		Subjects:    []string{b.opts.Prefix + ".ev.>", b.opts.Prefix + ".rp.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.Replicas,
		MaxAge:      b.opts.MaxAge,
		Duplicates:  b.opts.DuplicateWindow,
	}, {
		Name:        b.dlqStream(),
		Description: "mercato dead letters",
		Subjects:    []string{b.opts.Prefix + ".dlq.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.Replicas,
		MaxAge:      b.opts.DeadLetterMaxAge,
		Duplicates:  b.opts.DuplicateWindow,
	}}
	for _, cfg := range cfgs {
		_, err := b.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			_, err = b.js.UpdateStream(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("natsbus: declare stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publish stores the messages in the stream and returns nil only once the
// server has acknowledged every one (on the embedded server: written and
// fsynced). A message whose ID was published within DuplicateWindow is stored
// once, so a batch sent again after an error stores only what is missing.
//
// The batch is pipelined: up to maxInFlight messages are on their way at once,
// in order on the one connection, and the acknowledgements are collected at
// the end. Messages are checked before any is sent, so an invalid one fails
// the whole call with nothing sent.
//
// On success the batch is stored in publish order: the messages travel in
// order on one connection, and one the server refuses for want of a stream
// leader fails the call instead of being resent behind later ones (the
// client's own retry is off).
//
// On an error, any subset of the batch may have been stored, not only a
// prefix: a refusal or a lost acknowledgement concerns one message, not those
// sent after it, and a connection loss also loses acknowledgements of stored
// messages. The caller publishes the whole batch again; dedupe by ID within
// DuplicateWindow stores each message once, but one first stored by the
// retry then comes after later ones stored by the failed call. So after a
// failed call, order within a subject is not guaranteed.
//
// Each acknowledgement is awaited until ctx is done, and at most ackTimeout
// from its send even when ctx allows longer; sending stalls at most as long
// when the connection's table of pending acknowledgements is full.
//
// A batch refused for want of a stream (a server that lost its store) has
// the streams declared again and is sent once more; dedupe by ID stores what
// the first try did store only once.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	err := b.publish(ctx, msgs)
	if err == nil || !streamGone(err) || ctx.Err() != nil {
		return err
	}
	b.log.Warn("stream missing on publish, declaring it again", "stream", b.eventsStream(), "err", err)
	if derr := b.ensureStreams(ctx); derr != nil {
		return errors.Join(err, derr)
	}
	return b.publish(ctx, msgs)
}

// streamGone reports whether a publish error says the server has no stream
// for the subject.
func streamGone(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, nats.ErrNoResponders)
}

func (b *Bus) publish(ctx context.Context, msgs []bus.Message) error {
	for _, m := range msgs {
		if err := bus.ValidateSubject(m.Subject); err != nil {
			return err
		}
		if m.ID == "" {
			return fmt.Errorf("natsbus: publish %s: message has no ID", m.Subject)
		}
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	acked, nerrs := 0, 0
	var errs []error
	fail := func(m bus.Message, err error) {
		if nerrs++; nerrs <= maxPublishErrs {
			errs = append(errs, fmt.Errorf("%s %s: %w", m.Subject, m.ID, err))
		}
	}
	// wait collects the outcome of futures[i]; false means ctx is done.
	wait := func(i int) bool {
		select {
		case <-futures[i].Ok():
			acked++
		case err := <-futures[i].Err():
			fail(msgs[i], err)
		case <-ctx.Done():
			return false
		}
		return true
	}
	waited := 0
	for i, m := range msgs {
		if i-waited >= maxInFlight {
			if !wait(waited) {
				break
			}
			waited++
		}
		if ctx.Err() != nil {
			break
		}
		nm := &nats.Msg{Subject: b.evSubject(m.Subject), Data: m.Data, Header: userHeader(m.Header)}
		f, err := b.js.PublishMsgAsync(nm, jetstream.WithMsgID(m.ID), jetstream.WithStallWait(ackTimeout), jetstream.WithRetryAttempts(0))
		if err != nil {
			// Not sent (connection closed, outbound buffer full while
			// reconnecting, pending table full): the rest would fare no
			// better.
			fail(m, err)
			break
		}
		futures = append(futures, f)
	}
	for waited < len(futures) && wait(waited) {
		waited++
	}
	if acked == len(msgs) {
		return nil
	}
	if nerrs > maxPublishErrs {
		errs = append(errs, fmt.Errorf("%d more errors", nerrs-maxPublishErrs))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return fmt.Errorf("natsbus: publish: %d of %d messages not acknowledged: %w", len(msgs)-acked, len(msgs), errors.Join(errs...))
}

func userHeader(h map[string]string) nats.Header {
	nh := nats.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, natsHdr) || strings.HasPrefix(k, hdrPrefix) {
			continue // reserved for the server and the adapter
		}
		nh[k] = []string{v}
	}
	return nh
}

// DeadLetters lists up to limit dead letters of group, oldest first, without
// removing them. A limit of zero or less lists them all.
func (b *Bus) DeadLetters(ctx context.Context, group string, limit int) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	err := b.eachDeadLetter(ctx, group, func(_ jetstream.Stream, _ uint64, dl bus.DeadLetter) (bool, error) {
		out = append(out, dl)
		return limit <= 0 || len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: list dead letters of %s: %w", group, err)
	}
	return out, nil
}

// Replay republishes the group's dead letters with the given IDs (all when
// none are given) on the group's replay subject, which no other group
// consumes, and deletes them from the dead-letter stream. Replayed messages
// start again at attempt 1.
func (b *Bus) Replay(ctx context.Context, group string, ids ...string) (int, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	n := 0
	err := b.eachDeadLetter(ctx, group, func(dlq jetstream.Stream, seq uint64, dl bus.DeadLetter) (bool, error) {
		if len(want) > 0 && !want[dl.ID] {
			return true, nil
		}
		h := userHeader(dl.Header)
		h.Set(hdrID, dl.ID)
		nm := &nats.Msg{Subject: b.replaySubject(group, dl.Subject), Data: dl.Data, Header: h}
		// The replay has its own dedupe ID: the original one may still be in
		// the duplicate window, and a retried Replay must not publish twice.
		replayID := "replay." + group + "." + strconv.FormatUint(seq, 10)
		if _, err := b.js.PublishMsg(ctx, nm, jetstream.WithMsgID(replayID)); err != nil {
			return false, fmt.Errorf("republish %s: %w", dl.ID, err)
		}
		if err := dlq.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return false, fmt.Errorf("delete dead letter %s: %w", dl.ID, err)
		}
		n++
		b.log.Info("dead letter replayed", "group", group, "subject", dl.Subject, "event_id", dl.ID)
		return true, nil
	})
	if err != nil {
		return n, fmt.Errorf("natsbus: replay dead letters of %s: %w", group, err)
	}
	return n, nil
}

// eachDeadLetter walks the group's dead letters in stream order with
// next-by-subject gets, which read without creating a consumer. fn gets the
// dead-letter stream it reads from, to delete what it handled.
func (b *Bus) eachDeadLetter(ctx context.Context, group string, fn func(dlq jetstream.Stream, seq uint64, dl bus.DeadLetter) (bool, error)) error {
	if err := bus.ValidateGroup(group); err != nil {
		return err
	}
	dlq, err := b.js.Stream(ctx, b.dlqStream())
	if err != nil {
		return fmt.Errorf("open dead-letter stream: %w", err)
	}
	// Visit only the letters there when the walk starts: a replayed message
	// that fails again is dead-lettered anew, behind them, and must not be
	// replayed again by the same walk.
	info, err := dlq.Info(ctx)
	if err != nil {
		return fmt.Errorf("read dead-letter stream state: %w", err)
	}
	last := info.State.LastSeq
	filter := b.opts.Prefix + ".dlq." + group + ".>"
	for seq := uint64(1); seq <= last; {
		raw, err := dlq.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read dead letter after %d: %w", seq, err)
		}
		if raw.Sequence > last {
			return nil
		}
		var dl bus.DeadLetter
		if err := json.Unmarshal(raw.Data, &dl); err != nil {
			b.log.Warn("skipping unreadable dead letter", "group", group, "seq", raw.Sequence, "err", err)
		} else {
			more, err := fn(dlq, raw.Sequence, dl)
			if err != nil || !more {
				return err
			}
		}
		seq = raw.Sequence + 1
	}
	return nil
}

// deadLetter stores the failed delivery in the dead-letter stream. Its dedupe
// ID is the delivery's stream sequence, so a retry after a lost ack does not
// store it twice.
func (b *Bus) deadLetter(ctx context.Context, group string, streamSeq uint64, m bus.Message, attempts int, cause error) error {
	data, err := json.Marshal(bus.NewDeadLetter(group, m, attempts, cause, time.Now()))
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	nm := &nats.Msg{Subject: b.dlqSubject(group, m.Subject), Data: data}
	id := "dlq." + group + "." + strconv.FormatUint(streamSeq, 10)
	if _, err := b.js.PublishMsg(ctx, nm, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("store dead letter: %w", err)
	}
	return nil
}

// Teardown deletes both streams of the prefix, with every consumer and
// message in them. It is for tests and decommissioning, never for normal
// shutdown.
func (b *Bus) Teardown(ctx context.Context) error {
	var errs []error
	for _, name := range []string{b.eventsStream(), b.dlqStream()} {
		if err := b.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("natsbus: delete stream %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the connection. Consumers must be stopped first.
func (b *Bus) Close() error {
	b.closeOnce.Do(b.nc.Close)
	return nil
}

// consumerName returns a durable name for one filter of group, for servers
// that take one filter per consumer.
func consumerName(group, filter string) string {
	sum := sha256.Sum256([]byte(filter))
	return group + "_" + hex.EncodeToString(sum[:6])
}

// redact hides passwords in a URL list for error messages.
func redact(urls string) string {
	var out []string
	for u := range strings.SplitSeq(urls, ",") {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if i := strings.Index(u, "://"); i >= 0 && i < at {
				u = u[:i+3] + "***" + u[at:]
			}
		}
		out = append(out, u)
	}
	return strings.Join(out, ",")
}
