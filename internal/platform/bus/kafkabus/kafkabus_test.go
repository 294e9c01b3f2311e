package kafkabus_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/internal/platform/bus/kafkabus"
)

// cluster is an in-process Kafka cluster (franz-go's kfake) keeping its data
// in a directory, so it can be restarted on the same port with the same
// topics, records, groups and committed offsets.
type cluster struct {
	t    testing.TB
	dir  string
	port int
	c    *kfake.Cluster
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	k := &cluster{t: t, dir: t.TempDir()}
	k.start()
	host, port, err := net.SplitHostPort(k.c.ListenAddrs()[0])
	if err != nil || host == "" {
		t.Fatalf("kfake address %v: %v", k.c.ListenAddrs(), err)
	}
	k.port, _ = strconv.Atoi(port)
	t.Cleanup(func() { k.c.Close() })
	return k
}

func (k *cluster) start() {
	k.t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(k.dir), kfake.SyncWrites()}
	if k.port != 0 {
		opts = append(opts, kfake.Ports(k.port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		k.t.Fatalf("start kfake cluster: %v", err)
	}
	k.c = c
}

// restart stops the cluster (saving its state) and starts it again from
// that state on the same port.
func (k *cluster) restart() {
	k.c.Close()
	k.start()
}

func (k *cluster) addr() string { return k.c.ListenAddrs()[0] }

func TestKafka(t *testing.T) {
	k := startCluster(t)
	h := bustest.Harness{
		Open: func(t *testing.T, prefix string) bus.Bus {
			b, err := kafkabus.Connect(t.Context(), "kafka://"+k.addr(), kafkabus.Options{Prefix: prefix}, bustest.Logger(t))
			if err != nil {
				t.Fatalf("connect to kfake: %v", err)
			}
			return b
		},
		Teardown: func(ctx context.Context, b bus.Bus) error { return b.(*kafkabus.Bus).Teardown(ctx) },
		Restart:  func(t *testing.T) { k.restart() },
	}
	bustest.Run(t, h)
}
