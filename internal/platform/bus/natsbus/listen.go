package natsbus

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/mercato/mercato/internal/platform/bus"
)

// listenBuffer is how many messages a listener's channel holds; beyond it
// the client drops messages for that listener (a slow consumer) instead of
// slowing the connection.
const listenBuffer = 8192

var _ bus.Listener = (*Bus)(nil)

// listener is a running Listen: core NATS subscriptions on the events'
// subjects, all feeding one channel read by one goroutine.
type listener struct {
	subs   []*nats.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Stop unsubscribes and waits for the handler to return.
func (l *listener) Stop() {
	l.once.Do(func() {
		for _, s := range l.subs {
			_ = s.Unsubscribe()
		}
		l.cancel()
		l.wg.Wait()
	})
}

// Listen subscribes with core NATS to the subjects the events stream
// stores: JetStream delivers a published message to plain subscribers as
// well, so every listening connection gets it, and the stream keeps
// nothing for a listener. Replays ("P.rp.…") are for their group alone
// and are not heard. The client subscribes again by itself after a
// reconnect; what was published in between is not heard.
func (b *Bus) Listen(ctx context.Context, patterns []string, h func(bus.Message)) (bus.Consumer, error) {
	if err := bus.ValidatePatterns(patterns); err != nil {
		return nil, err
	}
	ch := make(chan *nats.Msg, listenBuffer)
	cctx, cancel := context.WithCancel(ctx)
	l := &listener{cancel: cancel}
	for _, p := range patterns {
		s, err := b.nc.ChanSubscribe(b.evSubject(p), ch)
		if err != nil {
			l.Stop()
			return nil, fmt.Errorf("natsbus: listen to %s: %w", p, err)
		}
		l.subs = append(l.subs, s)
	}
	// The server has the subscriptions once it answers a ping: a message
	// published after Listen returns is heard.
	fctx, fcancel := context.WithTimeout(ctx, ackTimeout)
	defer fcancel()
	if err := b.nc.FlushWithContext(fctx); err != nil {
		l.Stop()
		return nil, fmt.Errorf("natsbus: listen: %w", err)
	}
	l.wg.Go(func() {
		for {
			select {
			case <-cctx.Done():
				return
			case msg := <-ch:
				h(b.decodeParts(msg.Subject, msg.Data, msg.Header))
			}
		}
	})
	return l, nil
}
