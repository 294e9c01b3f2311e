package rabbitbus_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/rabbitbus"
)

func testLogger(t *testing.T) *slog.Logger { return bustest.Logger(t) }

func TestRabbitMQ(t *testing.T) {
	url := os.Getenv("MERCATO_TEST_RABBITMQ")
	if url == "" {
		t.Skip("MERCATO_TEST_RABBITMQ not set (e.g. amqp://guest:guest@127.0.0.1:5672/): skipping RabbitMQ")
	}
	// This test restarts the shared broker: keep other packages off it meanwhile.
	bustest.LockBroker(t, "rabbitmq", true)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("MERCATO_TEST_RABBITMQ is set but RabbitMQ does not answer: %v", err)
	}
	_ = conn.Close()
	for _, qt := range []string{"quorum", "classic"} {
		t.Run(qt, func(t *testing.T) {
			h := bustest.Harness{
				Open: func(t *testing.T, prefix string) bus.Bus {
					b, err := rabbitbus.Dial(t.Context(), url, rabbitbus.Options{Prefix: prefix, QueueType: qt}, testLogger(t))
					if err != nil {
						t.Fatalf("connect to MERCATO_TEST_RABBITMQ: %v", err)
					}
					return b
				},
				Teardown: func(ctx context.Context, b bus.Bus) error { return b.(*rabbitbus.Bus).Teardown(ctx) },
			}
			if cmd := os.Getenv("MERCATO_TEST_RABBITMQ_RESTART"); cmd != "" {
				h.Restart = func(t *testing.T) { restart(t, url, cmd) }
			}
			bustest.Run(t, h)
		})
	}
}

// restart runs the restart command and waits until the broker accepts
// connections again.
func restart(t *testing.T, url, command string) {
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restart rabbitmq with %q: %v\n%s", command, err, out)
	}
	for {
		conn, err := amqp.Dial(url)
		if err == nil {
			_ = conn.Close()
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("rabbitmq did not come back after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
