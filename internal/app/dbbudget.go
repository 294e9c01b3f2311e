package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The PostgreSQL connection budget (-db.max-conns): how a process's
// connections are split among the databases it opens. See docs/operating.md,
// "PostgreSQL connections".

// WebDB is the database every process opens besides its services': the
// outcomes of idempotent requests (web.IdempotencyStore).
const WebDB = "web"

// checkoutPath are the services a checkout waits on: they weigh three
// times as much as the others in the split of the budget.
var checkoutPath = []string{"order", "inventory", "cart", "payment", "pricing"}

// connWeight is service name's weight in the split of the budget.
func connWeight(name string) int {
	if slices.Contains(checkoutPath, name) {
		return 3
	}
	return 1
}

// pathRank orders the checkout path's services (order, the checkout's own,
// first) before the others, for the connections left after the split.
func pathRank(name string) int {
	if i := slices.Index(checkoutPath, name); i >= 0 {
		return i
	}
	return len(checkoutPath)
}

// MinConns is the smallest budget for a process running n services: one
// connection for each database (the services' and WebDB) and, at start,
// the migrations' pool (sqldb.AdminConns).
func MinConns(n int) int { return n + 1 + sqldb.AdminConns }

// ConnShares splits budget connections among the pools of a process
// running services (in the order given): WebDB gets a tenth (at least
// one), every service at least one, and the rest goes to the services by
// weight (connWeight), the largest remainders first. The shares add up to
// budget. A process running one service gives it all but WebDB's share.
func ConnShares(budget int, services []string) (map[string]int, error) {
	if len(services) == 0 {
		return nil, fmt.Errorf("no service to share connections among")
	}
	if need := MinConns(len(services)); budget < need {
		return nil, fmt.Errorf("-db.max-conns=%d is too small for the %d services of this process: it needs one connection for each of its %d databases (the services' and %s's) and %d for migrations at start, at least %d",
			budget, len(services), len(services)+1, WebDB, sqldb.AdminConns, need)
	}
	shares := make(map[string]int, len(services)+1)
	web := min(max(1, budget/10), budget-len(services))
	shares[WebDB] = web
	extra := budget - web - len(services)
	total := 0
	for _, s := range services {
		total += connWeight(s)
	}
	type rem struct {
		name            string
		rest, listIndex int
	}
	var rems []rem
	given := 0
	for i, s := range services {
		w := connWeight(s)
		q := extra * w / total
		shares[s] = 1 + q
		given += q
		rems = append(rems, rem{s, extra * w % total, i})
	}
	sort.SliceStable(rems, func(i, j int) bool {
		if rems[i].rest != rems[j].rest {
			return rems[i].rest > rems[j].rest
		}
		if ri, rj := pathRank(rems[i].name), pathRank(rems[j].name); ri != rj {
			return ri < rj // heavier first, order first of all
		}
		return rems[i].listIndex < rems[j].listIndex
	})
	for i := 0; i < extra-given; i++ {
		shares[rems[i].name]++
	}
	return shares, nil
}

// CheckServerRoom refuses to start when the PostgreSQL server at url has
// no room for budget more connections now, and warns when it has room for
// them but not for another process with the same budget.
func CheckServerRoom(ctx context.Context, url string, budget int, log *slog.Logger) error {
	c, err := sqldb.ServerCapacity(ctx, url)
	if err != nil {
		return err
	}
	free := c.Free()
	numbers := fmt.Sprintf("max_connections=%d, %d reserved (superuser_reserved_connections, reserved_connections), %d in use by other clients: %d free",
		c.MaxConnections, c.Reserved, c.InUse, free)
	if budget > free {
		return fmt.Errorf("PostgreSQL has no room for this process's connections: -db.max-conns=%d, but the server has %s. "+
			"Lower -db.max-conns (MERCATO_DB_MAX_CONNS), raise max_connections on the server, or put PgBouncer in front of it "+
			"(see docs/operating.md, PostgreSQL connections)", budget, numbers)
	}
	if 2*budget > free {
		log.Warn("PostgreSQL has room for this process's connections, but not for another process with the same budget",
			"db_max_conns", budget, "max_connections", c.MaxConnections, "reserved", c.Reserved, "in_use", c.InUse, "free", free)
	}
	return nil
}

// dbCollector reports the connections of the process's database pools (on
// SQLite, a file's writing and reading connections):
// mercato_db_connections{service,state} and mercato_db_max_connections{service};
// on PostgreSQL also mercato_db_round_trips_saved_total{service}.
type dbCollector struct{ p *Platform }

var (
	dbConnsDesc = prometheus.NewDesc("mercato_db_connections",
		"Connections open in this process's pool of a service's database (PostgreSQL; on SQLite, the file's writing and reading connections), by state (in_use, idle).",
		[]string{"service", "state"}, nil)
	dbMaxDesc = prometheus.NewDesc("mercato_db_max_connections",
		"The most connections the pool of a service's database may open (on PostgreSQL, its share of -db.max-conns).",
		[]string{"service"}, nil)
	dbSavedDesc = prometheus.NewDesc("mercato_db_round_trips_saved_total",
		"Round trips to PostgreSQL that pipelined statements saved (statements sent with the next one or with COMMIT), by service.",
		[]string{"service"}, nil)
)

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbConnsDesc
	ch <- dbMaxDesc
	ch <- dbSavedDesc
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	c.p.mu.Lock()
	dbs := append([]*sqldb.DB(nil), c.p.dbs...)
	c.p.mu.Unlock()
	for _, db := range dbs {
		s := db.PoolStats()
		ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(s.InUse), db.Name(), "in_use")
		ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(s.Idle), db.Name(), "idle")
		ch <- prometheus.MustNewConstMetric(dbMaxDesc, prometheus.GaugeValue, float64(s.Max), db.Name())
		if db.Dialect() == sqldb.Postgres {
			ch <- prometheus.MustNewConstMetric(dbSavedDesc, prometheus.CounterValue, float64(db.RoundTripsSaved()), db.Name())
		}
	}
}
