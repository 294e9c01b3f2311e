package kafkabus_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

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
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(k.dir)}
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
			// A short session, so a replica that dies hands its
			// partitions over within the suite's Redelivery.
			b, err := kafkabus.Connect(t.Context(), "kafka://"+k.addr(), kafkabus.Options{Prefix: prefix, SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond}, bustest.Logger(t))
			if err != nil {
				t.Fatalf("connect to kfake: %v", err)
			}
			return b
		},
		Teardown:   func(ctx context.Context, b bus.Bus) error { return b.(*kafkabus.Bus).Teardown(ctx) },
		Restart:    func(t *testing.T) { k.restart() },
		Redelivery: 6 * time.Second,
	}
	bustest.Run(t, h)
}

// TestReplicaDies kills (SIGKILL) a group member in another process while its
// handler runs: the other member takes its partitions over after the session
// timeout and gets every record the dead one had not committed, the one in
// its handler included.
func TestReplicaDies(t *testing.T) {
	if addr := os.Getenv("KAFKABUS_TEST_REPLICA"); addr != "" {
		runReplica(t, addr, os.Getenv("KAFKABUS_TEST_PREFIX"))
		return
	}
	k := startCluster(t)
	prefix := bustest.NewPrefix()
	b, err := kafkabus.Connect(t.Context(), "kafka://"+k.addr(), replicaOptions(prefix), bustest.Logger(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestReplicaDies$")
	cmd.Env = append(os.Environ(), "KAFKABUS_TEST_REPLICA="+k.addr(), "KAFKABUS_TEST_PREFIX="+prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the other replica: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "REPLICA "); ok {
				lines <- l
			}
		}
		close(lines)
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the other replica ended before %s", what)
			}
			return l
		case <-time.After(30 * time.Second):
			t.Fatalf("the other replica did not report %s", what)
		}
		return ""
	}
	if l := next("joining"); l != "joined" {
		t.Fatalf("other replica: %q, want joined", l)
	}

	var mu sync.Mutex
	got := map[string]int{}
	notify := make(chan struct{}, 1)
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "shared", Subjects: []string{"job.>"}},
		func(_ context.Context, m bus.Message) error {
			mu.Lock()
			got[m.ID]++
			mu.Unlock()
			select {
			case notify <- struct{}{}:
			default:
			}
			return nil
		})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)

	const n = 40
	msgs := make([]bus.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("j-%02d", i)
		msgs[i] = bus.Message{ID: id, Subject: "job.run", Data: []byte(id), Header: map[string]string{"tenant": fmt.Sprintf("shop-%02d", i)}}
	}
	if err := b.Publish(t.Context(), msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	taken, ok := strings.CutPrefix(next("taking a record"), "took ")
	if !ok {
		t.Fatal("the other replica did not take a record")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the other replica: %v", err)
	}
	killed := time.Now()
	deadline := time.After(60 * time.Second)
	for {
		mu.Lock()
		all := len(got) == n
		mu.Unlock()
		if all {
			break
		}
		select {
		case <-notify:
		case <-deadline:
			mu.Lock()
			t.Fatalf("after the other replica died, got %d of %d records (it had taken %s): %v", len(got), n, taken, got)
		}
	}
	t.Logf("the dead replica's records, %s among them, came over %v after the kill", taken, time.Since(killed).Round(time.Millisecond))
}

func replicaOptions(prefix string) kafkabus.Options {
	return kafkabus.Options{Prefix: prefix, SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond}
}

// runReplica is the other process of TestReplicaDies: it joins the group,
// takes one record and hangs in its handler until it is killed.
func runReplica(t *testing.T, addr, prefix string) {
	b, err := kafkabus.Connect(context.Background(), "kafka://"+addr, replicaOptions(prefix), bustest.Logger(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	_, err = b.Subscribe(context.Background(), bus.Subscription{Group: "shared", Subjects: []string{"job.>"}},
		func(_ context.Context, m bus.Message) error {
			fmt.Println("REPLICA took " + m.ID)
			select {} // until killed
		})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	fmt.Println("REPLICA joined")
	select {}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"kafka://k1:9092":                      "k1:9092",
		"kafka://k1:9092,k2:9092":              "k1:9092 k2:9092",
		"kafka://k1:9092,kafka://k2:9092/":     "k1:9092 k2:9092",
		"kafka://10.0.0.1:9092, 10.0.0.2:9092": "10.0.0.1:9092 10.0.0.2:9092",
		"nats://k1:4222":                       "error",
		"kafka://":                             "error",
		"kafka://user:pass@k1:9092":            "error",
		"kafka://k1:9092,,k2:9092":             "error",
		"kafka://k1:9092/topic?partitions=3":   "error",
	} {
		seeds, err := kafkabus.ParseURL(in)
		got := strings.Join(seeds, " ")
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseURL(%q) = %q (err %v), want %q", in, got, err, want)
		}
	}
}

// TestBacklog: the backlog counts what a group has not handled yet, skipped
// records of other subjects included until they are committed, and comes
// back to zero once everything is handled.
func TestBacklog(t *testing.T) {
	k := startCluster(t)
	b, err := kafkabus.Connect(t.Context(), "kafka://"+k.addr(), kafkabus.Options{Prefix: bustest.NewPrefix()}, bustest.Logger(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	release := make(chan struct{})
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "slow", Subjects: []string{"slow.x"}},
		func(context.Context, bus.Message) error { <-release; return nil })
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)
	var msgs []bus.Message
	for i := range 5 {
		msgs = append(msgs, bus.Message{ID: fmt.Sprintf("s%d", i), Subject: "slow.x"}, bus.Message{ID: fmt.Sprintf("o%d", i), Subject: "other.x"})
	}
	if err := b.Publish(t.Context(), msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	backlogIs := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			n, err := b.Backlog(t.Context())
			if err != nil {
				t.Fatalf("backlog: %v", err)
			}
			if ok(n) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("backlog %d, want %s", n, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The first record is in its handler: nothing after it is committed.
	backlogIs("10 while the first handler hangs", func(n int) bool { return n == 10 })
	close(release)
	backlogIs("0 once all are handled", func(n int) bool { return n == 0 })
}

// TestTopicDeleted: a publish that finds the events topic deleted creates it
// again, and a group that was running gets what is published from then on.
func TestTopicDeleted(t *testing.T) {
	k := startCluster(t)
	prefix := bustest.NewPrefix()
	b, err := kafkabus.Connect(t.Context(), "kafka://"+k.addr(), kafkabus.Options{Prefix: prefix}, bustest.Logger(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	got := make(chan string, 10)
	c, err := b.Subscribe(t.Context(), bus.Subscription{Group: "td", Subjects: []string{"td.x"}},
		func(_ context.Context, m bus.Message) error { got <- m.ID; return nil })
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(c.Stop)
	wait := func(want string) {
		t.Helper()
		for {
			select {
			case id := <-got:
				if id == want {
					return
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the group did not get %s", want)
			}
		}
	}
	if err := b.Publish(t.Context(), bus.Message{ID: "before", Subject: "td.x"}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	wait("before")

	admin, err := kgo.NewClient(kgo.SeedBrokers(k.addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := kadm.NewClient(admin).DeleteTopics(t.Context(), prefix+".events"); err != nil {
		t.Fatalf("delete the events topic: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := b.Publish(ctx, bus.Message{ID: "after-delete", Subject: "td.x"}); err != nil {
		t.Fatalf("publish after the topic was deleted: %v", err)
	}
	// The group's committed offset, from the old topic, may be past the
	// first records of the new one; what follows arrives.
	for i := range 3 {
		if err := b.Publish(t.Context(), bus.Message{ID: fmt.Sprintf("later-%d", i), Subject: "td.x"}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	wait("later-2")
}
