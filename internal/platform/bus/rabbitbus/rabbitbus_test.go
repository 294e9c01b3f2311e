package rabbitbus_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
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

// TestBrokerSideDeletes checks that the bus heals when someone deletes its
// topology under it, and that Subscribe fails rather than hangs when the
// broker refuses the consumer.
func TestBrokerSideDeletes(t *testing.T) {
	url := os.Getenv("MERCATO_TEST_RABBITMQ")
	if url == "" {
		t.Skip("MERCATO_TEST_RABBITMQ not set: skipping RabbitMQ")
	}
	bustest.LockBroker(t, "rabbitmq", false)
	admin, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("MERCATO_TEST_RABBITMQ is set but RabbitMQ does not answer: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	for _, qt := range []string{"quorum", "classic"} {
		t.Run(qt, func(t *testing.T) {
			open := func(t *testing.T) (*rabbitbus.Bus, string) {
				prefix := bustest.NewPrefix()
				b, err := rabbitbus.Dial(t.Context(), url, rabbitbus.Options{Prefix: prefix, QueueType: qt}, testLogger(t))
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					defer cancel()
					if err := b.Teardown(ctx); err != nil {
						t.Logf("teardown: %v", err)
					}
					_ = b.Close()
				})
				return b, prefix
			}
			t.Run("ExchangeDeleted", func(t *testing.T) {
				b, prefix := open(t)
				got := subscribeChan(t, b, "ex", "ex.x")
				publishOne(t, b, "ex.x", "before")
				waitID(t, got, "before")
				adminDo(t, admin, func(ch *amqp.Channel) error { return ch.ExchangeDelete(prefix, false, false) })
				// The publishing channel dies on the missing exchange (404);
				// the next one declares it again, with the group's bindings.
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				if err := b.Publish(ctx, bus.Message{ID: "after", Subject: "ex.x"}); err != nil {
					t.Fatalf("publish after the exchange was deleted: %v", err)
				}
				waitID(t, got, "after")
			})
			t.Run("ExchangeOfOtherType", func(t *testing.T) {
				// Before the first Publish, so the bus opens its publishing
				// channel after the change.
				b, prefix := open(t)
				adminDo(t, admin, func(ch *amqp.Channel) error {
					if err := ch.ExchangeDelete(prefix, false, false); err != nil {
						return err
					}
					return ch.ExchangeDeclare(prefix, amqp.ExchangeDirect, true, false, false, false, nil)
				})
				// Every new channel fails to declare the exchange (406): a
				// reason that does not heal, so Publish gives up, saying why.
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				err := b.Publish(ctx, bus.Message{ID: "after", Subject: "ot.x"})
				if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
					t.Fatalf("publish with the exchange of another type: %v, want an error naming PRECONDITION_FAILED", err)
				}
				t.Logf("publish failed: %v", err)
			})
			t.Run("GroupQueueDeleted", func(t *testing.T) {
				b, prefix := open(t)
				got := subscribeChan(t, b, "qd", "qd.x")
				publishOne(t, b, "qd.x", "before")
				waitID(t, got, "before")
				queue := prefix + ".qd"
				adminDo(t, admin, func(ch *amqp.Channel) error {
					_, err := ch.QueueDelete(queue, false, false, false)
					return err
				})
				// The consumer declares the queue again, bindings first, and
				// consumes from it.
				deadline := time.Now().Add(20 * time.Second)
				for {
					var consumers int
					err := withAdminChannel(admin, func(ch *amqp.Channel) error {
						q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
						consumers = q.Consumers
						return err
					})
					if err == nil && consumers > 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("queue %s not consumed again: consumers %d, err %v", queue, consumers, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
				publishOne(t, b, "qd.x", "after")
				waitID(t, got, "after")
			})
			t.Run("SubscribeRefused", func(t *testing.T) {
				if qt != "classic" {
					t.Skip("quorum queues take no exclusive consumer")
				}
				b, prefix := open(t)
				c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "busy", Subjects: []string{"busy.x"}},
					func(context.Context, bus.Message) error { return nil })
				if err != nil {
					t.Fatalf("subscribe: %v", err)
				}
				c.Stop()
				// An exclusive consumer elsewhere makes the broker refuse ours
				// (403): Subscribe must say so, not wait for its context.
				ch, err := admin.Channel()
				if err != nil {
					t.Fatalf("open channel: %v", err)
				}
				defer func() { _ = ch.Close() }()
				if _, err := ch.Consume(prefix+".busy", "", false, true, false, false, nil); err != nil {
					t.Fatalf("exclusive consume: %v", err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				c, err = b.Subscribe(ctx, bus.Subscription{Group: "busy", Subjects: []string{"busy.x"}},
					func(context.Context, bus.Message) error { return nil })
				if err == nil {
					c.Stop()
					t.Fatal("subscribe to a queue in exclusive use succeeded")
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("subscribe waited for its context: %v", err)
				}
				t.Logf("subscribe refused: %v", err)
			})
		})
	}
}

func subscribeChan(t *testing.T, b bus.Bus, group, subject string) <-chan string {
	t.Helper()
	got := make(chan string, 100)
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: group, Subjects: []string{subject}},
		func(_ context.Context, m bus.Message) error {
			got <- m.ID
			return nil
		})
	if err != nil {
		t.Fatalf("subscribe %s: %v", group, err)
	}
	t.Cleanup(c.Stop)
	return got
}

func publishOne(t *testing.T, b bus.Bus, subject, id string) {
	t.Helper()
	if err := b.Publish(t.Context(), bus.Message{ID: id, Subject: subject}); err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
}

func waitID(t *testing.T, got <-chan string, id string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case g := <-got:
			if g == id {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", id)
		}
	}
}

func withAdminChannel(conn *amqp.Connection, fn func(*amqp.Channel) error) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close() }()
	return fn(ch)
}

func adminDo(t *testing.T, conn *amqp.Connection, fn func(*amqp.Channel) error) {
	t.Helper()
	if err := withAdminChannel(conn, fn); err != nil {
		t.Fatalf("admin: %v", err)
	}
}
