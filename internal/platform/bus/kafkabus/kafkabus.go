// Package kafkabus implements bus.Bus on Apache Kafka with franz-go.
//
// Layout under a prefix P (default "mercato"):
//
//   - topic "P.events" holds every event, Partitions partitions (default 12),
//     kept for Retention (default 7 days); the subject, the message ID and
//     the adapter's markers travel in record headers, the payload is the
//     record value;
//   - a group G is the Kafka consumer group "P.G": its members share the
//     partitions, each member reading its partitions in order. Every group
//     reads the whole topic and skips, committing past them, the records its
//     patterns do not match;
//   - topic "P.dlq.G" (one partition, compacted) holds G's dead letters as
//     JSON bus.DeadLetter values, keyed by the partition and offset of the
//     failed record. Listing reads it from the start; Replay republishes a
//     letter to "P.events" marked for G alone (other groups skip it) and
//     writes a tombstone for its key, which compaction later removes.
//
// # Partition key and order
//
// A record's key is the message's "tenant" header (the store; the outbox
// relay sets it on every event), or "-" for a message without one. Kafka keeps
// order within a partition only, so the unit of order is the store: all the
// events of one store, and so of one order, one product or one customer, of
// every subject, are in one partition, in publish order, and a group with
// Concurrency 1 handles them in that order even while two members share the
// group. Events of different stores may be handled in any order relative to
// each other, and a group's work is shared between its members by store.
// Mercato's events carry no aggregate ID in their envelope; the store is the
// narrowest key every event has, and it is what a tenant's handlers need.
//
// # Delivery, retries and dead letters
//
// A member commits a partition's offset only past records whose handler
// succeeded (or that were dead-lettered, or skipped): offsets are marked as
// handlers finish, in offset order per partition, and committed every few
// seconds, when partitions are revoked, and at Stop. A member that dies
// leaves what it had not committed to the member that takes its partitions
// over: at least once.
//
// Kafka has no per-message redelivery, so a failed handler is retried in
// place: the worker waits Backoff(attempt) and calls it again, up to
// MaxAttempts, then writes the dead letter and moves on; a Permanent error is
// dead-lettered at once. With Concurrency 1 the group's other records wait
// meanwhile, so order holds even across failures (natsbus lets later records
// pass a failing one). The attempt count lives in the member: a record
// redelivered after a rebalance or a crash starts again at attempt 1.
//
// Kafka does not dedupe by message ID: a message published twice is
// delivered twice, and consumers dedupe through their inbox. The producer is
// idempotent with acks=all, so the client's own retries never duplicate or
// reorder records.
package kafkabus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/mercato/mercato/internal/platform/bus"
)

// Options configures the client. Zero values are the defaults.
type Options struct {
	// Prefix names the topics and consumer groups, so several installations
	// (or tests) share a cluster without seeing each other's messages.
	// Letters, digits, '_' and '-'; default "mercato".
	Prefix string
	// Partitions is the events topic's partition count when this client
	// creates it; default 12. It caps how many members of one group work at
	// once. An existing topic is left as it is.
	Partitions int32
	// ReplicationFactor of the topics this client creates; default -1, the
	// broker's default.replication.factor.
	ReplicationFactor int16
	// Retention is how long events stay in the events topic; default 7 days.
	// Dead letters are kept until replayed.
	Retention time.Duration
	// ClientID is the client name shown by the brokers; default "mercato".
	ClientID string
	// HeartbeatInterval of group members; default 3s. A rebalance (a member
	// joining or leaving) reaches the other members within about this long.
	HeartbeatInterval time.Duration
	// SessionTimeout after which a member that stopped heartbeating (a
	// crashed process) is removed and its partitions given to the others;
	// default 45s.
	SessionTimeout time.Duration
}

// DefaultPrefix is the prefix used when Options.Prefix is empty.
const DefaultPrefix = "mercato"

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := bus.ValidateSubject(o.Prefix); err != nil || strings.Contains(o.Prefix, ".") {
		return o, fmt.Errorf("kafkabus: invalid prefix %q", o.Prefix)
	}
	if o.Partitions <= 0 {
		o.Partitions = 12
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = -1
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.ClientID == "" {
		o.ClientID = "mercato"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 3 * time.Second
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 45 * time.Second
	}
	return o, nil
}

// Record headers the adapter sets; they are not passed to handlers.
const (
	hdrPrefix  = "mercato-bus-"
	hdrID      = hdrPrefix + "id"
	hdrSubject = hdrPrefix + "subject"
	hdrReplay  = hdrPrefix + "replay-to" // the one group a replayed record is for
)

// noTenantKey is the partition key of a message without a tenant header.
const noTenantKey = "-"

// Bus is a bus.Bus on Kafka. It is safe for concurrent use.
type Bus struct {
	seeds []string
	opts  Options
	log   *slog.Logger
	cl    *kgo.Client // producer, and admin requests through adm
	adm   *kadm.Client

	mu        sync.Mutex
	groups    map[string]bool    // groups subscribed through this Bus, for Teardown
	consumers map[*consumer]bool // running subscriptions, for Backlog
}

var _ bus.Bus = (*Bus)(nil)

// ParseURL returns the seed brokers of a bus URL
// "kafka://host:9092[,host2:9092,…]" (each host may repeat the scheme).
func ParseURL(u string) ([]string, error) {
	rest, ok := strings.CutPrefix(u, "kafka://")
	if !ok {
		return nil, fmt.Errorf("kafkabus: %q is not a kafka:// URL", u)
	}
	var seeds []string
	for h := range strings.SplitSeq(rest, ",") {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "kafka://"), "/")
		if h == "" || strings.ContainsAny(h, "/@?") {
			return nil, fmt.Errorf("kafkabus: invalid broker %q in %q", h, u)
		}
		seeds = append(seeds, h)
	}
	return seeds, nil
}

// Connect connects to the brokers of url ("kafka://host:9092[,host2:9092]")
// and creates the events topic when it is missing. The client reconnects by
// itself; Connect fails when no broker answers.
func Connect(ctx context.Context, url string, opts Options, log *slog.Logger) (*Bus, error) {
	seeds, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return New(ctx, seeds, opts, log)
}

// New is Connect with the seed brokers given as host:port.
func New(ctx context.Context, seeds []string, opts Options, log *slog.Logger) (*Bus, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bus{seeds: seeds, opts: opts, log: log.With("prefix", opts.Prefix), groups: map[string]bool{}, consumers: map[*consumer]bool{}}
	cl, err := kgo.NewClient(b.clientOpts(
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Fail a record whose topic is missing quickly, so Publish can
		// create the topic and send again.
		kgo.UnknownTopicRetries(2),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafkabus: new client: %w", err)
	}
	b.cl, b.adm = cl, kadm.NewClient(cl)
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafkabus: connect to %s: %w", strings.Join(seeds, ","), err)
	}
	if err := b.ensureTopic(ctx, b.eventsTopic()); err != nil {
		cl.Close()
		return nil, err
	}
	return b, nil
}

// clientOpts returns the options every client of the bus shares, then extra.
func (b *Bus) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(b.seeds...),
		kgo.ClientID(b.opts.ClientID),
		kgo.WithLogger(logger{b.log}),
		kgo.DialTimeout(10 * time.Second),
	}, extra...)
}

func (b *Bus) eventsTopic() string          { return b.opts.Prefix + ".events" }
func (b *Bus) dlqTopic(group string) string { return b.opts.Prefix + ".dlq." + group }
func (b *Bus) groupID(group string) string  { return b.opts.Prefix + "." + group }
func (b *Bus) isDLQ(topic string) bool      { return strings.HasPrefix(topic, b.opts.Prefix+".dlq.") }

// ensureTopic creates topic (the events topic or a dead-letter topic) unless
// it exists.
func (b *Bus) ensureTopic(ctx context.Context, topic string) error {
	partitions := b.opts.Partitions
	configs := map[string]*string{"retention.ms": kadm.StringPtr(strconv.FormatInt(b.opts.Retention.Milliseconds(), 10))}
	if b.isDLQ(topic) {
		partitions = 1
		configs = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	}
	resp, err := b.adm.CreateTopic(ctx, partitions, b.opts.ReplicationFactor, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafkabus: create topic %s: %w", topic, err)
	}
	if err == nil {
		b.log.Info("created topic", "topic", topic, "partitions", partitions)
	}
	return nil
}

// produce sends records and waits for every acknowledgement. Records whose
// topic is missing (deleted under the bus) are sent again once it is created.
func (b *Bus) produce(ctx context.Context, rs []*kgo.Record) error {
	err := b.cl.ProduceSync(ctx, rs...).FirstErr()
	if !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.UnknownTopicID) {
		return err
	}
	topics := map[string]bool{}
	for _, r := range rs {
		topics[r.Topic] = true
	}
	names := slices.Sorted(maps.Keys(topics))
	for _, t := range names {
		if err := b.ensureTopic(ctx, t); err != nil {
			return err
		}
	}
	// The client keeps the deleted topic's ID and refuses the new one
	// until it forgets the topic.
	b.cl.PurgeTopicsFromProducing(names...)
	for _, r := range rs {
		r.Partition, r.Offset = 0, 0 // the partitioner chooses again
	}
	return b.cl.ProduceSync(ctx, rs...).FirstErr()
}

// Publish stores the messages in the events topic and returns nil only once
// the brokers acknowledged every one (acks=all: written by every in-sync
// replica). Messages are checked before any is sent. The batch is sent at
// once; the messages of one partition key are stored in publish order. On an
// error any subset of the batch may be stored: the caller publishes it again,
// and what was stored is then stored twice (consumers dedupe).
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	rs := make([]*kgo.Record, 0, len(msgs))
	for _, m := range msgs {
		if err := bus.ValidateSubject(m.Subject); err != nil {
			return err
		}
		if m.ID == "" {
			return fmt.Errorf("kafkabus: publish %s: message has no ID", m.Subject)
		}
		rs = append(rs, b.record(m, ""))
	}
	if err := b.produce(ctx, rs); err != nil {
		return fmt.Errorf("kafkabus: publish %d messages: %w", len(msgs), err)
	}
	return nil
}

// record builds the events topic record of m; replayTo names the one group
// it is for, or is empty.
func (b *Bus) record(m bus.Message, replayTo string) *kgo.Record {
	key := m.Header["tenant"]
	if key == "" {
		key = noTenantKey
	}
	hs := make([]kgo.RecordHeader, 0, len(m.Header)+3)
	hs = append(hs, kgo.RecordHeader{Key: hdrID, Value: []byte(m.ID)}, kgo.RecordHeader{Key: hdrSubject, Value: []byte(m.Subject)})
	if replayTo != "" {
		hs = append(hs, kgo.RecordHeader{Key: hdrReplay, Value: []byte(replayTo)})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Header)) {
		if !strings.HasPrefix(k, hdrPrefix) {
			hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(m.Header[k])})
		}
	}
	return &kgo.Record{Topic: b.eventsTopic(), Key: []byte(key), Value: m.Data, Headers: hs}
}

// decode turns an events record into a bus.Message and the group a replay is
// for; ok is false for a record the adapter did not write.
func decode(r *kgo.Record) (m bus.Message, replayTo string, ok bool) {
	m.Data = r.Value
	for _, h := range r.Headers {
		switch {
		case h.Key == hdrID:
			m.ID = string(h.Value)
		case h.Key == hdrSubject:
			m.Subject = string(h.Value)
		case h.Key == hdrReplay:
			replayTo = string(h.Value)
		case strings.HasPrefix(h.Key, hdrPrefix):
		default:
			if m.Header == nil {
				m.Header = make(map[string]string, len(r.Headers))
			}
			m.Header[h.Key] = string(h.Value)
		}
	}
	return m, replayTo, m.Subject != "" && m.ID != ""
}

// letterKey names the dead letter of the record at topic/partition/offset:
// writing it again after a crash replaces it rather than adding a second.
func letterKey(r *kgo.Record) []byte {
	return []byte(r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10))
}

// deadLetter stores the failed delivery of r in the group's dead-letter topic.
func (b *Bus) deadLetter(ctx context.Context, group string, r *kgo.Record, m bus.Message, attempts int, cause error) error {
	data, err := json.Marshal(bus.NewDeadLetter(group, m, attempts, cause, time.Now()))
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	rec := &kgo.Record{Topic: b.dlqTopic(group), Key: letterKey(r), Value: data}
	if err := b.produce(ctx, []*kgo.Record{rec}); err != nil {
		return fmt.Errorf("store dead letter: %w", err)
	}
	return nil
}

// quietRead is how long reading the dead letters waits for more records
// below the end offset before taking it that compaction removed them.
const quietRead = 3 * time.Second

// letter is a stored dead letter and its key.
type letter struct {
	key []byte
	dl  bus.DeadLetter
}

// letters reads the group's dead-letter topic from its start to the end it
// had when the call began, oldest first, leaving out replayed (tombstoned)
// letters. A letter written meanwhile (a replay that failed again) is not
// read.
func (b *Bus) letters(ctx context.Context, group string) ([]letter, error) {
	if err := bus.ValidateGroup(group); err != nil {
		return nil, err
	}
	topic := b.dlqTopic(group)
	ends, err := b.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offset: %w", err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || errors.Is(end.Err, kerr.UnknownTopicOrPartition) {
		return nil, nil // never subscribed: nothing dead
	}
	if end.Err != nil {
		return nil, fmt.Errorf("list end offset: %w", end.Err)
	}
	starts, err := b.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offset: %w", err)
	}
	start, _ := starts.Lookup(topic, 0)
	if start.Err != nil {
		return nil, fmt.Errorf("list start offset: %w", start.Err)
	}
	if start.Offset >= end.Offset {
		return nil, nil
	}
	cl, err := kgo.NewClient(b.clientOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(start.Offset)}}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("new reader: %w", err)
	}
	defer cl.Close()
	var out []letter
	at := map[string]int{} // key → index in out; -1 once tombstoned
	for next := start.Offset; next < end.Offset; {
		// Compaction may have removed the last records below the end
		// offset (old tombstones): a poll that brings nothing means the
		// rest is gone.
		pctx, cancel := context.WithTimeout(ctx, quietRead)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if fs.NumRecords() == 0 && pctx.Err() != nil {
			break
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("read dead letters: %w", ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if r.Offset >= end.Offset {
				return
			}
			k := string(r.Key)
			if r.Value == nil {
				if i, ok := at[k]; ok && i >= 0 {
					out[i].key = nil
				}
				at[k] = -1
				return
			}
			if _, seen := at[k]; seen {
				return // the same letter written again
			}
			var dl bus.DeadLetter
			if err := json.Unmarshal(r.Value, &dl); err != nil {
				b.log.Warn("skipping unreadable dead letter", "group", group, "offset", r.Offset, "err", err)
				return
			}
			at[k] = len(out)
			out = append(out, letter{key: r.Key, dl: dl})
		})
	}
	return slices.DeleteFunc(out, func(l letter) bool { return l.key == nil }), nil
}

// DeadLetters lists up to limit dead letters of group, oldest first, without
// removing them. A limit of zero or less lists them all.
func (b *Bus) DeadLetters(ctx context.Context, group string, limit int) ([]bus.DeadLetter, error) {
	ls, err := b.letters(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("kafkabus: list dead letters of %s: %w", group, err)
	}
	out := make([]bus.DeadLetter, 0, len(ls))
	for _, l := range ls {
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, l.dl)
	}
	return out, nil
}

// Replay republishes the group's dead letters with the given IDs (all when
// none are given) to the events topic, marked for that group alone, then
// writes a tombstone for each in the dead-letter topic. Replayed messages
// start again at attempt 1. Letters stored after the call began (a replay
// that failed again) are not replayed by it.
func (b *Bus) Replay(ctx context.Context, group string, ids ...string) (int, error) {
	ls, err := b.letters(ctx, group)
	if err != nil {
		return 0, fmt.Errorf("kafkabus: replay dead letters of %s: %w", group, err)
	}
	var replays, tombs []*kgo.Record
	for _, l := range ls {
		if len(ids) > 0 && !slices.Contains(ids, l.dl.ID) {
			continue
		}
		m := l.dl.Message
		m.Attempt = 0
		replays = append(replays, b.record(m, group))
		tombs = append(tombs, &kgo.Record{Topic: b.dlqTopic(group), Key: l.key})
	}
	if len(replays) == 0 {
		return 0, nil
	}
	if err := b.produce(ctx, replays); err != nil {
		return 0, fmt.Errorf("kafkabus: replay dead letters of %s: %w", group, err)
	}
	if err := b.produce(ctx, tombs); err != nil {
		return 0, fmt.Errorf("kafkabus: remove replayed dead letters of %s: %w", group, err)
	}
	b.log.Info("dead letters replayed", "group", group, "count", len(replays))
	return len(replays), nil
}

// Teardown deletes the events topic, the dead-letter topics and the consumer
// groups of the groups this Bus subscribed, with every message in them. It is
// for tests and decommissioning, never for normal shutdown; stop the
// consumers first.
func (b *Bus) Teardown(ctx context.Context) error {
	b.mu.Lock()
	groups := slices.Sorted(maps.Keys(b.groups))
	clear(b.groups)
	b.mu.Unlock()
	topics := []string{b.eventsTopic()}
	var ids []string
	for _, g := range groups {
		topics = append(topics, b.dlqTopic(g))
		ids = append(ids, b.groupID(g))
	}
	var errs []error
	resp, err := b.adm.DeleteTopics(ctx, topics...)
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", r.Topic, r.Err))
		}
	}
	if len(ids) > 0 {
		gresp, err := b.adm.DeleteGroups(ctx, ids...)
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range gresp {
			if r.Err != nil && !errors.Is(r.Err, kerr.GroupIDNotFound) {
				errs = append(errs, fmt.Errorf("delete group %s: %w", r.Group, r.Err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafkabus: teardown: %w", err)
	}
	return nil
}

// Close closes the producer's connections and abandons the subscriptions
// still running (stop them first to finish their handlers and commit): each
// leaves its group as if its process had died.
func (b *Bus) Close() error {
	b.mu.Lock()
	cons := slices.Collect(maps.Keys(b.consumers))
	b.mu.Unlock()
	for _, c := range cons {
		c.abandon()
	}
	b.cl.Close()
	return nil
}

// logger passes franz-go's warnings and errors to slog.
type logger struct{ log *slog.Logger }

func (l logger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}
