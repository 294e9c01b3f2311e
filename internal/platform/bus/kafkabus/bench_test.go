package kafkabus_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/kafkabus"
)

// BenchmarkPublishConsume measures on a kfake cluster (in process, one
// broker, its log in a temp dir without fsync per batch; not a real Kafka) Publish of
// one batch per operation, as the outbox relay calls it, through to its
// handling by a group with Concurrency 1: each operation returns once the
// group handled the whole batch. The events come from 16 stores (partition
// keys). msgs/s is messages published and handled per second.
func BenchmarkPublishConsume(b *testing.B) {
	k := startCluster(b)
	log := slog.New(slog.DiscardHandler)
	for _, size := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			kb, err := kafkabus.Connect(b.Context(), "kafka://"+k.addr(), kafkabus.Options{Prefix: bustest.NewPrefix()}, log)
			if err != nil {
				b.Fatalf("connect: %v", err)
			}
			b.Cleanup(func() { _ = kb.Close() })
			var handled atomic.Int64
			wake := make(chan struct{}, 1)
			c, err := kb.Subscribe(b.Context(), bus.Subscription{Group: "bench", Subjects: []string{"bench.>"}},
				func(context.Context, bus.Message) error {
					handled.Add(1)
					select {
					case wake <- struct{}{}:
					default:
					}
					return nil
				})
			if err != nil {
				b.Fatalf("subscribe: %v", err)
			}
			b.Cleanup(c.Stop)
			data := []byte(`{"id":"x","type":"bench.published.v1","tenant":"acme","data":{` + strings.Repeat(`"k":"v",`, 30) + `"end":1}}`)
			batch := make([]bus.Message, size)
			n := 0
			b.SetBytes(int64(size * len(data)))
			for b.Loop() {
				for i := range batch {
					n++
					batch[i] = bus.Message{ID: fmt.Sprintf("m-%d", n), Subject: "bench.published.v1", Data: data,
						Header: map[string]string{"tenant": fmt.Sprintf("shop-%d", n%16)}}
				}
				if err := kb.Publish(b.Context(), batch...); err != nil {
					b.Fatalf("publish: %v", err)
				}
				for handled.Load() < int64(n) {
					select {
					case <-wake:
					case <-time.After(30 * time.Second):
						b.Fatalf("handled %d of %d", handled.Load(), n)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
