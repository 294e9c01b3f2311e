package sqldb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Capacity is what a PostgreSQL server has room for, as one connection
// sees it at one moment.
type Capacity struct {
	// MaxConnections is the server's max_connections.
	MaxConnections int
	// Reserved are the slots the user may not take: superuser_reserved_connections
	// and (PostgreSQL 16+) reserved_connections, for an ordinary role; none
	// for a superuser.
	Reserved int
	// InUse counts the client connections open, besides the one that asked.
	InUse int
}

// Free is how many more connections the user may open.
func (c Capacity) Free() int { return max(0, c.MaxConnections-c.Reserved-c.InUse) }

// ServerCapacity asks the PostgreSQL server at url how many connections it
// allows and how many are open, on a connection of its own that it closes.
func ServerCapacity(ctx context.Context, url string) (Capacity, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return Capacity{}, fmt.Errorf("sqldb: parse postgres URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return Capacity{}, fmt.Errorf("sqldb: connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var (
		c     Capacity
		su    int
		res   int
		super bool
	)
	// backend_type leaves out the server's own processes (autovacuum,
	// WAL writer…), which have slots of their own.
	err = conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int,
		coalesce(current_setting('reserved_connections', true), '0')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int - 1,
		coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)`).Scan(&c.MaxConnections, &su, &res, &c.InUse, &super)
	if err != nil {
		return Capacity{}, fmt.Errorf("sqldb: read the server's connection limits: %w", err)
	}
	if !super {
		c.Reserved = su + res
	}
	return c, nil
}
