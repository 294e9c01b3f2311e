package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The services of cmd/mercato/services.go plus the gateway: each runs as a
// process of its own in the Compose stack and on Kubernetes.
var mercatoServices = []string{"tenant", "identity", "staff", "catalog", "media", "pricing", "inventory",
	"payment", "cart", "order", "notify", "review", "invoice", "search", "analytics", "storefront", "admin", "gateway"}

// loadCompose loads and validates compose.yaml (plus extra files) as
// `docker compose` would: env files read, variables interpolated, paths
// resolved, the compose-spec schema and the project's consistency checked.
func loadCompose(t *testing.T, profiles []string, files ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions(append([]string{"compose.yaml"}, files...),
		cli.WithWorkingDirectory("."),
		cli.WithEnv([]string{}), // not the test's environment: the files' defaults
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return p
}

func TestCompose(t *testing.T) {
	p := loadCompose(t, nil)

	// Every Mercato service runs in a container of its own, order,
	// inventory and payment twice; a migrate one-shot runs before them.
	running := map[string][]string{} // service → containers
	for name, s := range p.Services {
		if s.Image != "mercato:dev" {
			continue
		}
		if name == "migrate" {
			if !slices.Equal(s.Command, types.ShellCommand{"migrate", "-services=all"}) {
				t.Errorf("migrate runs %q", s.Command)
			}
			continue
		}
		var svc string
		for _, a := range s.Command {
			if v, ok := strings.CutPrefix(a, "-services="); ok {
				svc = v
			}
		}
		if !slices.Contains(mercatoServices, svc) {
			t.Errorf("%s: runs unknown service %q (%q)", name, svc, s.Command)
		}
		running[svc] = append(running[svc], name)
		if d, ok := s.DependsOn["migrate"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s does not wait for migrate to succeed", name)
		}
		// The env file was read: the deployment's secrets are set.
		for _, k := range []string{"MERCATO_SERVICE_TOKEN", "MERCATO_DB", "MERCATO_BUS", "MERCATO_URLS"} {
			if v := s.Environment[k]; v == nil || *v == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		if tok := s.Environment["MERCATO_SERVICE_TOKEN"]; tok != nil && len(*tok) < 32 {
			t.Errorf("%s: the service token is shorter than 32 characters", name)
		}
	}
	for _, svc := range mercatoServices {
		want := 1
		if svc == "order" || svc == "inventory" || svc == "payment" {
			want = 2
		}
		if got := len(running[svc]); got != want {
			t.Errorf("%s runs in %d containers (%v), want %d", svc, got, running[svc], want)
		}
	}

	// Every address a process is given names a container, or a network
	// alias of a replicated service's containers.
	hosts := map[string]bool{}
	for name, s := range p.Services {
		hosts[name] = true
		for _, n := range s.Networks {
			if n != nil {
				for _, a := range n.Aliases {
					hosts[a] = true
				}
			}
		}
	}
	for _, name := range []string{"order-1", "gateway"} {
		urls := *p.Services[name].Environment["MERCATO_URLS"]
		for _, pair := range strings.Split(urls, ",") {
			svc, list, ok := strings.Cut(pair, "=")
			if !ok || !slices.Contains(mercatoServices, svc) {
				t.Errorf("%s: -urls entry %q names no service", name, pair)
				continue
			}
			for _, u := range strings.Split(list, "|") {
				host := strings.TrimPrefix(u, "http://")
				host, _, _ = strings.Cut(host, ":")
				if !hosts[host] {
					t.Errorf("%s: -urls %s=%s: no container or alias %q", name, svc, u, host)
				}
			}
		}
	}
	gw := *p.Services["gateway"].Environment["MERCATO_URLS"]
	for _, r := range []string{"order-1", "order-2", "inventory-1", "inventory-2", "payment-1", "payment-2"} {
		if !strings.Contains(gw, "http://"+r+":8080") {
			t.Errorf("the gateway does not balance over %s", r)
		}
	}

	// A three-node JetStream cluster with a volume each.
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		s, ok := p.Services[n]
		if !ok {
			t.Fatalf("no %s", n)
		}
		if !slices.Contains(s.Command, "--jetstream") || !slices.Contains(s.Command, "--cluster_name") || len(s.Volumes) == 0 {
			t.Errorf("%s is not a persistent JetStream cluster node: %q", n, s.Command)
		}
	}
	for _, n := range []string{"postgres", "redis", "prometheus", "grafana", "otel-collector", "jaeger"} {
		if _, ok := p.Services[n]; !ok {
			t.Errorf("no %s service", n)
		}
	}

	// The gateway is the only published port; secrets are files.
	for name, s := range p.Services {
		if len(s.Ports) > 0 && name != "gateway" {
			t.Errorf("%s publishes ports %v: only the gateway may", name, s.Ports)
		}
	}
	for name, sec := range p.Secrets {
		if _, err := os.Stat(sec.File); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
	for _, f := range []string{"prometheus/prometheus.yml", "otel/collector.yaml", "grafana/dashboards/mercato.json", "nginx/mercato.conf"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}

	// nginx with TLS is a profile, off by default; the UI override
	// publishes on loopback only.
	if _, ok := p.DisabledServices["nginx"]; !ok {
		t.Error("nginx is not behind a profile")
	}
	tls := loadCompose(t, []string{"tls"})
	if _, ok := tls.Services["nginx"]; !ok {
		t.Error("--profile tls does not start nginx")
	}
	ui := loadCompose(t, nil, "compose.ui.yaml")
	for _, n := range []string{"grafana", "prometheus", "jaeger"} {
		for _, port := range ui.Services[n].Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("compose.ui.yaml publishes %s on %q, not loopback", n, port.HostIP)
			}
		}
	}
}

// promtool returns the path of promtool, skipping the test when it is
// missing outside CI; under CI a missing promtool fails.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("promtool is not installed (Debian: apt-get install prometheus); CI installs it")
		}
		t.Fatal("promtool is not installed, and CI is set: .ci/run installs Debian's prometheus")
	}
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

func TestPrometheusConfig(t *testing.T) {
	runPromtool(t, "check", "config", "prometheus/prometheus.yml")
}

func TestPrometheusRules(t *testing.T) {
	rules, err := filepath.Glob("prometheus/rules/*.yml")
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	runPromtool(t, append([]string{"check", "rules"}, rules...)...)
	// Unit tests of the alerts: series in, alerts expected out.
	tests, err := filepath.Glob("prometheus/tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool unit tests in prometheus/tests: %v", err)
	}
	runPromtool(t, append([]string{"test", "rules"}, tests...)...)
}
