// Package distributed runs Mercato in its production shape, a process per
// service with replicas, under faults: it kills replicas and restarts the
// bus and Redis while guest checkouts run, then checks in the services'
// databases that nothing was sold twice, left reserved or authorized
// twice, and that every event had its effect once. The cluster is
// internal/bench/cluster's, which `mercato bench distributed` runs too.
package distributed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/bench/cluster"
	"github.com/mercato/mercato/internal/platform/bus/bustest"
	"github.com/mercato/mercato/test/harness"
)

var binary string

func TestMain(m *testing.M) { harness.Main(m, &binary) }

// needServers skips without PostgreSQL (and the bus variable when given),
// and fails under CI when a server binary the cluster starts is missing.
func needServers(t *testing.T, busEnv string, natsToo bool) (pg, busURL string) {
	t.Helper()
	pg = os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES not set")
	}
	if busEnv != "" {
		if busURL = os.Getenv(busEnv); busURL == "" {
			t.Skip(busEnv + " not set")
		}
	}
	if err := cluster.Binaries(natsToo); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the cluster's servers: %v", err)
		}
		t.Skipf("the cluster's servers: %v", err)
	}
	return pg, busURL
}

func TestFaultsNATS(t *testing.T) {
	pg, _ := needServers(t, "", true)
	runCluster(t, cluster.Options{Postgres: pg, Gateway: true})
}

func TestFaultsRabbitMQ(t *testing.T) {
	pg, amqp := needServers(t, "MERCATO_TEST_RABBITMQ", false)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		// Without a virtual host of its own the cluster shares the
		// broker's default one with the other tests' prefix.
		bustest.LockBroker(t, "rabbitmq", true)
	}
	runCluster(t, cluster.Options{Postgres: pg, RabbitMQ: amqp, Gateway: true})
}

func runCluster(t *testing.T, o cluster.Options) {
	harness.HoldPostgres(t)
	harness.KeyCacheOnSources(t)
	o.Binary = binary
	o.Dir = t.TempDir()
	o.Progress = testWriter{t}
	// The smallest budget of a process (its service, the web database
	// and migrations): twenty processes share the server
	// (max_connections 100) with the other tests.
	o.MaxConns = 4
	c, err := cluster.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, ps := range c.Procs {
				for _, p := range ps {
					if log := p.Log(); strings.Contains(log, `"level":"ERROR"`) {
						t.Logf("%s's errors:\n%s", p.Name, errorLines(log, 20))
					}
				}
			}
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	res, err := c.Run(t.Context(), cluster.RunOptions{Workers: 4, Duration: 40 * time.Second, Pause: time.Second,
		SKUs: 12, Scarce: 2, Settle: 90 * time.Second}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.Write(&b, c.Processes())
	t.Log("\n" + b.String())
	if res.Failed() {
		t.Error("the run failed: see the figures above")
	}
}

func errorLines(log string, n int) string {
	var out []string
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
