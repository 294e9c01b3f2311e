package rabbitbus_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/rabbitbus"
)

// BenchmarkPublish measures Publish of one batch per operation, as the outbox
// relay calls it, on MERCATO_TEST_RABBITMQ. One stopped group is bound to the
// subject, so every message is persisted to a durable queue (of each queue
// type) before it is confirmed; with no queue bound the broker would confirm
// at once. msgs/s is messages confirmed per second.
func BenchmarkPublish(b *testing.B) {
	url := os.Getenv("MERCATO_TEST_RABBITMQ")
	if url == "" {
		b.Skip("MERCATO_TEST_RABBITMQ not set: skipping RabbitMQ")
	}
	bustest.LockBroker(b, "rabbitmq", false)
	log := slog.New(slog.DiscardHandler)
	data := []byte(`{"id":"x","type":"bench.published.v1","tenant":"acme","data":{` + strings.Repeat(`"k":"v",`, 30) + `"end":1}}`)
	for _, qt := range []string{"quorum", "classic"} {
		for _, size := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", qt, size), func(b *testing.B) {
				rb, err := rabbitbus.Dial(b.Context(), url, rabbitbus.Options{Prefix: bustest.NewPrefix(), QueueType: qt}, log)
				if err != nil {
					b.Fatalf("connect to MERCATO_TEST_RABBITMQ: %v", err)
				}
				b.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if err := rb.Teardown(ctx); err != nil {
						b.Logf("teardown: %v", err)
					}
					_ = rb.Close()
				})
				c, err := rb.Subscribe(b.Context(), bus.Subscription{Group: "bench", Subjects: []string{"bench.>"}},
					func(context.Context, bus.Message) error { return nil })
				if err != nil {
					b.Fatalf("subscribe: %v", err)
				}
				c.Stop() // the queue stays bound and keeps what is published
				batch := make([]bus.Message, size)
				n := 0
				b.SetBytes(int64(size * len(data)))
				for b.Loop() {
					for i := range batch {
						n++
						batch[i] = bus.Message{ID: fmt.Sprintf("m-%d", n), Subject: "bench.published.v1", Data: data,
							Header: map[string]string{"tenant": "acme"}}
					}
					if err := rb.Publish(b.Context(), batch...); err != nil {
						b.Fatalf("publish: %v", err)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
