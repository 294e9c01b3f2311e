package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/mercato/mercato/internal/platform/bus"
)

var _ bus.Listener = (*Bus)(nil)

// listener is a running Listen: a client of its own, outside any group,
// reading every partition of the events topic from where it ended when
// Listen was called.
type listener struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Stop stops reading and waits for the handler to return.
func (l *listener) Stop() {
	l.once.Do(func() {
		l.cancel()
		<-l.done
		l.cl.Close()
	})
}

// Listen reads the events topic without a group, from the end offsets of its
// partitions at the call: every listener gets every matching message
// published after Listen returned, and nothing is kept for a listener that
// is not listening (the topic keeps the events for the groups anyway).
// Order holds per partition, that is per store (tenant header). Replays are
// for their group alone and are not heard. A listener falls behind rather
// than losing messages while the topic still holds them.
func (b *Bus) Listen(ctx context.Context, patterns []string, h func(bus.Message)) (bus.Consumer, error) {
	if err := bus.ValidatePatterns(patterns); err != nil {
		return nil, err
	}
	topic := b.eventsTopic()
	ends, err := b.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafkabus: listen: list end offsets: %w", err)
	}
	from := map[int32]kgo.Offset{}
	for p, o := range ends[topic] {
		from[p] = kgo.NewOffset().At(o.Offset)
	}
	cl, err := kgo.NewClient(b.clientOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafkabus: listen: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	l := &listener{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		failing := false
		for cctx.Err() == nil {
			fs := cl.PollFetches(cctx)
			var ferr error
			fs.EachError(func(_ string, _ int32, err error) {
				if !errors.Is(err, context.Canceled) {
					ferr = err
				}
			})
			if ferr != nil && !failing {
				b.log.Warn("listen: fetch records", "err", ferr)
			}
			failing = ferr != nil
			if failing {
				sleep(cctx, 250*time.Millisecond)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if cctx.Err() != nil {
					return
				}
				m, replayTo, ok := decode(r)
				if !ok || replayTo != "" || !slices.ContainsFunc(patterns, func(p string) bool { return bus.Match(p, m.Subject) }) {
					return
				}
				h(m)
			})
		}
	}()
	return l, nil
}
