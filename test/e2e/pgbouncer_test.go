package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mercato/mercato/test/harness"
)

// TestBehindPgBouncer runs every service behind PgBouncer in transaction
// pooling mode (-db=…?pool_mode=transaction): migrations, seeding,
// checkouts confirmed, and two stores that do not see each other's
// products, while the server holds no more connections than PgBouncer's
// pool. It starts a PgBouncer of its own; without one installed it skips,
// unless MERCATO_TEST_PGBOUNCER is set (CI sets it), when it fails.
func TestBehindPgBouncer(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set")
	}
	bin := pgbouncerBinary()
	if bin == "" {
		if os.Getenv("MERCATO_TEST_PGBOUNCER") != "" {
			t.Fatal("pgbouncer is not installed, and MERCATO_TEST_PGBOUNCER says this test must run (apt-get install pgbouncer)")
		}
		t.Skip("pgbouncer is not installed (set MERCATO_TEST_PGBOUNCER to fail instead)")
	}
	harness.HoldPostgres(t)
	direct := scratchDatabase(t, pg)
	const poolSize = 8
	pooled := startPgBouncer(t, bin, direct, poolSize)

	s := &shop{t: t, data: t.TempDir()}
	s.args = []string{"-data=" + s.data, "-db=" + pooled, "-payment.fake=true", "-tenant.signup-plan=pro"}
	if out, err := exec.Command(binary, append([]string{"seed", "-demo", "-log.level=warn"}, s.args...)...).CombinedOutput(); err != nil {
		t.Fatalf("seed -demo behind PgBouncer: %v\n%s", err, out)
	}
	s.p = harness.Start(t, binary, nil, s.args...)
	if s.p.Token == "" {
		raw, err := os.ReadFile(filepath.Join(s.data, "admin-token"))
		if err != nil {
			t.Fatalf("read admin token: %v", err)
		}
		s.p.Token = strings.TrimSpace(string(raw))
	}

	// Checkouts, each confirmed (reserve, authorize, confirm: every
	// checkout service's transactions, its outbox and consumers).
	sku := s.newSKU(10)
	for i := range 4 {
		r := s.checkout(checkoutBody(fmt.Sprintf("bouncer%d@example.com", i), "tok_visa", map[string]int{sku: 1}), "")
		if r.Status != http.StatusCreated {
			t.Fatalf("checkout %d: %d %s", i, r.Status, r.Body)
		}
		var o order
		r.JSON(t, &o)
		if o.Status != "confirmed" {
			t.Fatalf("checkout %d: order %s is %s, want confirmed", i, o.ID, o.Status)
		}
	}
	if st := s.stock(sku); st.Available != 6 {
		t.Errorf("stock of %s after 4 checkouts of one unit: %+v, want 6 available", sku, st)
	}
	if got := s.ordersOf("bouncer0@example.com"); len(got) != 1 {
		t.Errorf("orders of bouncer0@example.com: %d, want 1", len(got))
	}

	// Two stores: what one creates the other does not see (the tenant is
	// set per transaction, as the pooler lends each its own connection).
	north, south := signup(t, s.p, "north"), signup(t, s.p, "south")
	northSKU := "N-" + randomHex(4)
	r := s.p.Call("POST", "/api/v1/admin/products", map[string]any{
		"title": "North only " + northSKU, "status": "active",
		"variants": []map[string]any{{"sku": northSKU, "price": map[string]any{"amount": 500, "currency": "EUR"}}},
	}, north.as(north.owner))
	if r.Status != http.StatusCreated {
		t.Fatalf("create north's product: %d %s", r.Status, r.Body)
	}
	var created struct {
		ID string `json:"id"`
	}
	r.JSON(t, &created)
	if r := s.p.Call("GET", "/api/v1/admin/products/"+created.ID, nil, north.as(north.owner)); r.Status != http.StatusOK {
		t.Fatalf("north reads its product: %d %s", r.Status, r.Body)
	}
	if r := s.p.Call("GET", "/api/v1/admin/products/"+created.ID, nil, south.as(south.owner)); r.Status != http.StatusNotFound {
		t.Errorf("south reads north's product: %d %s, want 404", r.Status, r.Body)
	}
	r = s.p.Call("GET", "/api/v1/admin/products?limit=100", nil, south.as(south.owner))
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), northSKU) || strings.Contains(string(r.Body), created.ID) {
		t.Errorf("south's product list: %d, shows north's product: %s", r.Status, r.Body)
	}

	// Everything went through PgBouncer's pool of poolSize connections
	// (the process's budget is larger).
	if n := serverConnections(t, pg, direct); n > poolSize {
		t.Errorf("the server holds %d connections to the database, more than PgBouncer's pool of %d", n, poolSize)
	}
}

// pgbouncerBinary finds pgbouncer (Debian puts it in /usr/sbin).
func pgbouncerBinary() string {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer"
	}
	return ""
}

// startPgBouncer runs a PgBouncer of the test's own in transaction pooling
// mode in front of the server of direct, and returns the URL of direct's
// database through it, with pool_mode=transaction.
func startPgBouncer(t *testing.T, bin, direct string, poolSize int) string {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	user := u.User.Username()
	// Not under t.TempDir, whose parent only the test's user may enter:
	// run as root, PgBouncer runs as nobody.
	dir, err := os.MkdirTemp("", "mercato-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := freeAddr(t)
	_, listenPort, _ := net.SplitHostPort(addr)
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %s
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
logfile = %s
`, host, port, listenPort, filepath.Join(dir, "users.txt"), poolSize, filepath.Join(dir, "pgbouncer.log"))
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"`+user+`" ""`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root: it runs as nobody, who must
		// read its files and write its log.
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	logs := func() string {
		a, _ := os.ReadFile(filepath.Join(dir, "stdout"))
		b, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
		return string(a) + string(b)
	}
	pu := *u
	pu.Host = addr
	q := pu.Query()
	q.Set("pool_mode", "transaction")
	pu.RawQuery = q.Encode()
	// Ready when a query goes through (pool_mode is Mercato's: not sent).
	probe := *u
	probe.Host = addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := pingURL(probe.String())
		if err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("pgbouncer exited: %s", logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer does not answer on %s after 30 s: %v\n%s", addr, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgbouncer's log:\n%s", logs())
		}
	})
	return pu.String()
}

func pingURL(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol)
	return err
}

// serverConnections counts the client connections the server at pg has to
// the database of direct.
func serverConnections(t *testing.T, pg, direct string) int {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`,
		strings.TrimPrefix(u.Path, "/")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
