// Package cluster runs Mercato in its production shape on one machine, for
// the fault harness (test/distributed) and `mercato bench distributed`:
// every service as its own process of the mercato binary (two replicas of
// order, inventory and payment), on a fresh PostgreSQL database with
// row-level security, an external NATS server or a RabbitMQ virtual host,
// and a Redis of its own, all on 127.0.0.1. It kills and restarts any of
// them, drives guest checkouts through them and checks what the run left
// in the services' databases.
//
// A replicated service is reached through a small round-robin balancer of
// the cluster's (a Kubernetes Service's part): a replica that refuses
// connections is passed over, so a killed replica costs the requests it
// had in flight, not the ones after.
package cluster

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Layout is the services the cluster runs, in start order, and how many
// replicas of each.
var Layout = []Service{
	{"tenant", 1}, {"identity", 1}, {"staff", 1}, {"catalog", 1}, {"media", 1}, {"pricing", 1},
	{"inventory", 2}, {"payment", 2}, {"cart", 1}, {"order", 2}, {"notify", 1}, {"review", 1},
	{"invoice", 1}, {"search", 1}, {"analytics", 1}, {"storefront", 1}, {"admin", 1},
}

// Service is one service of the layout.
type Service struct {
	Name     string
	Replicas int
}

// Options configure a cluster.
type Options struct {
	// Binary is the mercato binary every process runs.
	Binary string
	// Postgres is the URL of a PostgreSQL server; the cluster creates a
	// database of its own there and drops it at Close.
	Postgres string
	// RabbitMQ, when set, is the amqp:// URL of the bus; the cluster runs
	// in a virtual host of its own when rabbitmqctl can make one. Empty:
	// the cluster starts its own NATS server from NATSServer.
	RabbitMQ string
	// NATSServer and RedisServer are the binaries of the servers the
	// cluster starts (default: found on PATH or in /usr/sbin, /usr/bin).
	NATSServer, RedisServer string
	// Gateway puts `mercato -services=gateway` in front: the load goes
	// through it alone.
	Gateway bool
	// MaxConns, when above zero, is passed as -db.max-conns to every
	// process.
	MaxConns int
	// Dir holds the processes' data directories and logs; empty: a new
	// temporary directory, removed at Close.
	Dir string
	// Progress receives a line per step; nil discards.
	Progress io.Writer
}

// Cluster is a running cluster.
type Cluster struct {
	opts     Options
	dir      string
	ownDir   bool
	DBURL    string // the cluster's database
	dbName   string
	admin    *sql.DB // to the server, for CREATE/DROP DATABASE
	DB       *sql.DB // to the cluster's database, read-only use
	Bus      string
	vhost    string
	Redis    *Server
	NATS     *Server
	Procs    map[string][]*Proc
	Fronts   map[string]*Balancer // replicated services' addresses
	AdminTok string
	svcTok   string
	whsec    string
	// Entry is the base URL the load and the admin calls go to for a
	// service: the gateway when there is one, else the service's balancer
	// or process.
	entry map[string]string
	mu    sync.Mutex
}

// Proc is one process of the cluster: a replica of a service, or a server.
type Proc struct {
	Name string // "order-2", "nats"
	Addr string // host:port it serves on
	args []string
	bin  string
	env  []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Server is a NATS or Redis server process of the cluster.
type Server = Proc

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// findBinary returns name's path from given, PATH, /usr/sbin or /usr/bin.
func findBinary(given, name string) (string, error) {
	if given != "" {
		return given, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (on PATH, /usr/sbin, /usr/bin)", name)
}

// Binaries reports whether the servers the cluster starts are installed
// (nats-server only when natsToo).
func Binaries(natsToo bool) error {
	var errs []error
	if _, err := findBinary("", "redis-server"); err != nil {
		errs = append(errs, err)
	}
	if natsToo {
		if _, err := findBinary("", "nats-server"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, format+"\n", args...)
	}
}

// Start starts the servers and every process, and returns once each
// process answers /readyz. On error, what was started is stopped.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	c = &Cluster{opts: o, Procs: map[string][]*Proc{}, Fronts: map[string]*Balancer{}, entry: map[string]string{},
		AdminTok: "adm_" + randomHex(16), svcTok: "mcs_" + randomHex(24), whsec: "whsec_" + randomHex(24)}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	c.dir = o.Dir
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "mercato-cluster-"); err != nil {
			return c, err
		}
		c.ownDir = true
	}
	if err := c.createDatabase(ctx); err != nil {
		return c, err
	}
	redisBin, err := findBinary(o.RedisServer, "redis-server")
	if err != nil {
		return c, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return c, err
	}
	_, port, _ := net.SplitHostPort(addr)
	c.Redis = &Proc{Name: "redis", Addr: addr, bin: redisBin, log: filepath.Join(c.dir, "redis.log"),
		args: []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}}
	if err := c.Redis.start(); err != nil {
		return c, err
	}
	if err := waitTCP(ctx, c.Redis.Addr, 10*time.Second); err != nil {
		return c, fmt.Errorf("redis: %w", err)
	}
	if o.RabbitMQ != "" {
		if c.Bus, err = c.rabbitVhost(ctx, o.RabbitMQ); err != nil {
			return c, err
		}
	} else {
		natsBin, err := findBinary(o.NATSServer, "nats-server")
		if err != nil {
			return c, err
		}
		addr, err := FreeAddr()
		if err != nil {
			return c, err
		}
		_, port, _ := net.SplitHostPort(addr)
		c.NATS = &Proc{Name: "nats", Addr: addr, bin: natsBin, log: filepath.Join(c.dir, "nats.log"),
			args: []string{"-js", "-sd", filepath.Join(c.dir, "nats"), "-a", "127.0.0.1", "-p", port}}
		if err := c.NATS.start(); err != nil {
			return c, err
		}
		if err := waitTCP(ctx, c.NATS.Addr, 10*time.Second); err != nil {
			return c, fmt.Errorf("nats: %w", err)
		}
		c.Bus = "nats://" + c.NATS.Addr
	}

	// Every address first: each process is told all of them.
	urls := map[string]string{}
	for _, s := range Layout {
		var backends []string
		for i := range s.Replicas {
			addr, err := FreeAddr()
			if err != nil {
				return c, err
			}
			c.Procs[s.Name] = append(c.Procs[s.Name], &Proc{Name: fmt.Sprintf("%s-%d", s.Name, i+1), Addr: addr})
			backends = append(backends, addr)
		}
		if s.Replicas == 1 {
			urls[s.Name] = "http://" + backends[0]
			continue
		}
		b, err := newBalancer(s.Name, c.Procs[s.Name])
		if err != nil {
			return c, err
		}
		c.Fronts[s.Name] = b
		urls[s.Name] = "http://" + b.Addr
	}
	var urlList []string
	for _, s := range Layout {
		urlList = append(urlList, s.Name+"="+urls[s.Name])
	}
	for name, u := range urls {
		c.entry[name] = u
	}
	const pendingLease = 40 * time.Second // at least twice -payment.provider-timeout (20 s)
	common := []string{
		"-db=" + c.DBURL, "-bus=" + c.Bus, "-redis=redis://" + c.Redis.Addr + "/0",
		"-service-token=" + c.svcTok, "-admin-token=" + c.AdminTok,
		"-payment.fake=true", "-payment.fake-webhook-secret=" + c.whsec,
		// Authorizations whose outcome a fault hid are settled by the
		// payment sweep within the settle wait (sweeping every half lease).
		"-payment.pending-lease=" + pendingLease.String(),
		"-metrics.addr=", "-log.format=json", "-log.level=info", "-log.access=all",
	}
	for _, s := range Layout {
		for _, p := range c.Procs[s.Name] {
			p.bin = o.Binary
			p.log = filepath.Join(c.dir, p.Name+".log")
			p.args = append([]string{"-services=" + s.Name, "-addr=" + p.Addr, "-data=" + filepath.Join(c.dir, p.Name),
				"-urls=" + strings.Join(otherURLs(urlList, s.Name), ",")}, common...)
			if o.MaxConns > 0 {
				p.args = append(p.args, fmt.Sprintf("-db.max-conns=%d", o.MaxConns))
			}
		}
	}
	if o.Gateway {
		addr, err := FreeAddr()
		if err != nil {
			return c, err
		}
		g := &Proc{Name: "gateway-1", Addr: addr, bin: o.Binary, log: filepath.Join(c.dir, "gateway-1.log")}
		// The gateway balances the replicas itself ("|" between them);
		// the load is a test's, from one address: no rate limits.
		var gwURLs []string
		for _, s := range Layout {
			var reps []string
			for _, p := range c.Procs[s.Name] {
				reps = append(reps, "http://"+p.Addr)
			}
			gwURLs = append(gwURLs, s.Name+"="+strings.Join(reps, "|"))
		}
		g.args = append([]string{"-services=gateway", "-addr=" + addr, "-data=" + filepath.Join(c.dir, g.Name),
			"-urls=" + strings.Join(gwURLs, ","), "-gateway.rate.ip=0", "-gateway.rate.store=0"}, common...)
		if o.MaxConns > 0 {
			g.args = append(g.args, fmt.Sprintf("-db.max-conns=%d", o.MaxConns))
		}
		c.Procs["gateway"] = []*Proc{g}
		for name := range c.entry {
			c.entry[name] = "http://" + addr
		}
	}
	c.progress("starting %d processes (database %s, bus %s, redis %s) …", c.procCount(), c.dbName, redact(c.Bus), c.Redis.Addr)
	started := time.Now()
	// The tenant service first: it creates the default store the others
	// resolve. The rest start together (replicas take turns migrating).
	for _, group := range [][]string{{"tenant"}, names(Layout, "tenant")} {
		var all []*Proc
		for _, n := range group {
			all = append(all, c.Procs[n]...)
		}
		if slices.Contains(group, "order") && o.Gateway {
			all = append(all, c.Procs["gateway"]...)
		}
		for _, p := range all {
			if err := p.start(); err != nil {
				return c, err
			}
		}
		for _, p := range all {
			if _, err := p.WaitReady(ctx, 90*time.Second); err != nil {
				return c, err
			}
		}
	}
	c.progress("all %d processes ready in %s", c.procCount(), time.Since(started).Round(100*time.Millisecond))
	return c, nil
}

func names(l []Service, except string) []string {
	var out []string
	for _, s := range l {
		if s.Name != except {
			out = append(out, s.Name)
		}
	}
	return out
}

// otherURLs is the -urls list without the process's own service.
func otherURLs(list []string, self string) []string {
	var out []string
	for _, u := range list {
		if !strings.HasPrefix(u, self+"=") {
			out = append(out, u)
		}
	}
	return out
}

func (c *Cluster) procCount() int {
	n := 0
	for _, ps := range c.Procs {
		n += len(ps)
	}
	return n
}

// URL is the base URL the cluster's clients use for service name.
func (c *Cluster) URL(name string) string { return c.entry[name] }

// Dir is the directory of the processes' data and logs.
func (c *Cluster) Dir() string { return c.dir }

// Replica returns replica i (from 1) of service name.
func (c *Cluster) Replica(name string, i int) *Proc { return c.Procs[name][i-1] }

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = url.User(p.User.Username())
	return p.String()
}

// createDatabase creates the cluster's own database on the server.
func (c *Cluster) createDatabase(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(c.opts.Postgres)
	if err != nil {
		return fmt.Errorf("postgres url: %w", err)
	}
	c.admin = stdlib.OpenDB(*cfg)
	c.admin.SetMaxOpenConns(1)
	c.dbName = "mercato_cluster_" + randomHex(5)
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+c.dbName); err != nil {
		return fmt.Errorf("create the cluster's database: %w", err)
	}
	u, err := url.Parse(c.opts.Postgres)
	if err != nil {
		return err
	}
	u.Path = "/" + c.dbName
	c.DBURL = u.String()
	dcfg, err := pgx.ParseConfig(c.DBURL)
	if err != nil {
		return err
	}
	c.DB = stdlib.OpenDB(*dcfg)
	c.DB.SetMaxOpenConns(2)
	c.DB.SetConnMaxIdleTime(10 * time.Second)
	return nil
}

// rabbitVhost makes a virtual host of the cluster's own with rabbitmqctl
// and returns base's URL in it; without rabbitmqctl it returns base.
func (c *Cluster) rabbitVhost(ctx context.Context, base string) (string, error) {
	ctl, err := findBinary("", "rabbitmqctl")
	if err != nil {
		c.progress("rabbitmqctl not found: the cluster shares the virtual host of %s", redact(base))
		return base, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("rabbitmq url: %w", err)
	}
	vhost := "mercato-cluster-" + randomHex(5)
	user := u.User.Username()
	for _, args := range [][]string{{"add_vhost", vhost}, {"set_permissions", "-p", vhost, user, ".*", ".*", ".*"}} {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, ctl, args...).CombinedOutput()
		cancel()
		if err != nil {
			if args[0] == "add_vhost" {
				c.progress("rabbitmqctl add_vhost failed (%v): the cluster shares the virtual host of %s", err, redact(base))
				return base, nil
			}
			return "", fmt.Errorf("rabbitmqctl %s: %v: %s", args[0], err, out)
		}
		if args[0] == "add_vhost" {
			c.vhost = vhost
		}
	}
	u.Path = "/" + vhost
	return u.String(), nil
}

// SharedVhost reports whether the cluster runs on RabbitMQ in a virtual
// host others may use (no rabbitmqctl).
func (c *Cluster) SharedVhost() bool { return c.opts.RabbitMQ != "" && c.vhost == "" }

// Close stops every process (SIGKILL: nothing of the run is kept), the
// servers and balancers, and drops the database and virtual host.
func (c *Cluster) Close() error {
	var errs []error
	for _, ps := range c.Procs {
		for _, p := range ps {
			p.Kill()
		}
	}
	for _, b := range c.Fronts {
		b.Close()
	}
	if c.NATS != nil {
		c.NATS.Kill()
	}
	if c.Redis != nil {
		c.Redis.Kill()
	}
	if c.DB != nil {
		c.DB.Close()
	}
	if c.admin != nil && c.dbName != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+c.dbName+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop the cluster's database: %w", err))
		}
		cancel()
		c.admin.Close()
	}
	if c.vhost != "" {
		if ctl, err := findBinary("", "rabbitmqctl"); err == nil {
			if out, err := exec.Command(ctl, "delete_vhost", c.vhost).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("rabbitmqctl delete_vhost: %v: %s", err, out))
			}
		}
	}
	if c.ownDir {
		_ = os.RemoveAll(c.dir)
	}
	return errors.Join(errs...)
}

// start runs the process, appending its output to its log file.
func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is running", p.Name)
		}
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a signal to the harness's terminal does not
	// reach it, and the harness decides when it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// Restart starts a process that was killed or stopped.
func (p *Proc) Restart() error { return p.start() }

// Kill sends SIGKILL and waits until the process is gone.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits until the process is gone (SIGKILL after
// 30 s).
func (p *Proc) Stop() { p.signal(syscall.SIGTERM) }

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Log returns the process's log so far (every run of it).
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// WaitReady waits until the process answers /readyz with 200 and returns
// when it did.
func (p *Proc) WaitReady(ctx context.Context, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+"/readyz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		if p.Exited() {
			return time.Time{}, fmt.Errorf("%s exited before it was ready; its log ends:\n%s", p.Name, tail(p.Log(), 3000))
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s not ready within %s (%v); its log ends:\n%s", p.Name, limit, err, tail(p.Log(), 3000))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections within %s: %w", addr, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitServer waits until a restarted server accepts connections again.
func (c *Cluster) WaitServer(ctx context.Context, s *Server, limit time.Duration) error {
	return waitTCP(ctx, s.Addr, limit)
}
