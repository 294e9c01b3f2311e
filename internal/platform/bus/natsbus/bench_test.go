package natsbus_test

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
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
)

// BenchmarkPublish measures Publish of one batch per operation, as the outbox
// relay calls it. "embedded" is the laptop server on a temp dir with
// SyncAlways (every stored message fsynced before its ack), so it measures the
// disk as much as the client; "external" runs on MERCATO_TEST_NATS when set
// (its own sync policy, over TCP). msgs/s is messages stored per second.
func BenchmarkPublish(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	b.Run("embedded", func(b *testing.B) {
		srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: b.TempDir()}, log)
		if err != nil {
			b.Fatalf("start embedded server: %v", err)
		}
		b.Cleanup(srv.Shutdown)
		benchPublish(b, func(b *testing.B) *natsbus.Bus {
			nb, err := natsbus.ConnectEmbedded(b.Context(), srv, natsbus.Options{Prefix: bustest.NewPrefix()}, log)
			if err != nil {
				b.Fatalf("connect embedded: %v", err)
			}
			return nb
		})
	})
	b.Run("external", func(b *testing.B) {
		url := os.Getenv("MERCATO_TEST_NATS")
		if url == "" {
			b.Skip("MERCATO_TEST_NATS not set: skipping the external NATS server")
		}
		bustest.LockBroker(b, "nats", false)
		benchPublish(b, func(b *testing.B) *natsbus.Bus {
			nb, err := natsbus.Connect(b.Context(), url, natsbus.Options{Prefix: bustest.NewPrefix()}, log)
			if err != nil {
				b.Fatalf("connect to MERCATO_TEST_NATS=%s: %v", url, err)
			}
			return nb
		})
	})
}

func benchPublish(b *testing.B, open func(*testing.B) *natsbus.Bus) {
	for _, size := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			nb := open(b)
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := nb.Teardown(ctx); err != nil {
					b.Logf("teardown: %v", err)
				}
				_ = nb.Close()
			})
			data := []byte(`{"id":"x","type":"bench.published.v1","tenant":"acme","data":{` + strings.Repeat(`"k":"v",`, 30) + `"end":1}}`)
			batch := make([]bus.Message, size)
			n := 0
			b.SetBytes(int64(size * len(data)))
			for b.Loop() {
				for i := range batch {
					n++
					// Fresh IDs: a repeated ID would be deduped, not stored.
					batch[i] = bus.Message{ID: fmt.Sprintf("m-%d", n), Subject: "bench.published.v1", Data: data,
						Header: map[string]string{"tenant": "acme"}}
				}
				if err := nb.Publish(b.Context(), batch...); err != nil {
					b.Fatalf("publish: %v", err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
