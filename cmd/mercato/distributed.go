package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/bench/cluster"
)

// benchDistributedCommand is `mercato bench distributed`: the fault
// harness of test/distributed as a soak, from this binary.
func (c *cli) benchDistributedCommand() *cobra.Command {
	var (
		o       cluster.Options
		ro      cluster.RunOptions
		workers int
	)
	cmd := &cobra.Command{
		Use:   "distributed",
		Short: "Run every service as its own process under faults and check the invariants",
		Long: `Run Mercato in its production shape on this machine and keep breaking it.

Every service runs as its own process of this binary (-services=X; two
replicas of order, inventory and payment, reached through a round-robin
balancer of the command's), on a fresh database of the PostgreSQL server
given by -db (dropped at the end; row-level security on), on a NATS
server the command starts (or, with -bus=amqp://…, on RabbitMQ, in a
virtual host of its own when rabbitmqctl can make one), and on a Redis
server it starts. Everything listens on 127.0.0.1.

Guest checkouts run from -workers workers for -duration. Meanwhile, on a
cycle: kill -9 a replica of order, then inventory, then payment (and the
gateway with -gateway), each restarted after -pause; restart the NATS
server (same store) and kill Redis (nothing kept), once per cycle.

Then it waits for sagas, payments and outboxes to settle (an authorization
whose outcome a fault hid is voided by the payment sweep; the processes run
with -payment.pending-lease=40s) and checks, reading the
services' databases: every 201 order stored, readable and confirmed or
cancelled; per SKU the stock given = on hand + units of confirmed orders,
nothing left reserved, the ledger agreeing; one authorization per
confirmed order, none captured twice, none live for a cancelled order (at
the fake provider too); every outbox drained; analytics and invoices
counting each order once. It prints the checkouts by status, the recovery
time of each fault and the peak connections, and exits 1 if any check
failed.`,
		Example: `  mercato bench distributed -db postgres://postgres@127.0.0.1:5432/postgres
  mercato bench distributed -db postgres://postgres@127.0.0.1:5432/postgres -duration 10m -workers 8
  mercato bench distributed -db postgres://… -bus amqp://guest:guest@127.0.0.1:5672/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.cfg.DB == "" {
				return errors.New("bench distributed: -db must name a PostgreSQL server (the run creates and drops a database of its own there)")
			}
			if ro.Duration <= 0 || ro.Duration > 24*time.Hour {
				return fmt.Errorf("bench distributed: -duration must be between 0 and 24h, got %s", ro.Duration)
			}
			if workers < 1 || workers > 64 {
				return fmt.Errorf("bench distributed: -workers must be between 1 and 64, got %d", workers)
			}
			if ro.SKUs < 3 || ro.SKUs > 500 || ro.Scarce < 0 || ro.Scarce >= ro.SKUs {
				return fmt.Errorf("bench distributed: -skus must be between 3 and 500, and -scarce below it")
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			o.Binary = bin
			o.Postgres = c.cfg.DB
			switch {
			case c.cfg.Bus == "embedded" || c.cfg.Bus == "":
			case len(c.cfg.Bus) > 4 && c.cfg.Bus[:4] == "amqp":
				o.RabbitMQ = c.cfg.Bus
			default:
				return errors.New("bench distributed: -bus is embedded (the command starts a NATS server) or an amqp:// URL")
			}
			o.Progress = c.stderr
			ro.Workers = workers
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cl, err := cluster.Start(ctx, o)
			if err != nil {
				return err
			}
			defer cl.Close()
			res, err := cl.Run(ctx, ro, c.stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "bench distributed: %d processes · %s · %d workers · %s\n", cl.Processes(), busName(o), workers, ro.Duration)
			res.Write(c.stdout, cl.Processes())
			if res.Failed() {
				return errors.New("bench distributed: the run failed (see above)")
			}
			return context.Cause(ctx)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&ro.Duration, "duration", 10*time.Minute, "how long the load runs; the faults repeat on a cycle meanwhile")
	fs.IntVar(&workers, "workers", 4, "checkouts in flight at once")
	fs.DurationVar(&ro.Pause, "pause", time.Second, "how long a killed process stays down")
	fs.IntVar(&ro.SKUs, "skus", 12, "products sold")
	fs.IntVar(&ro.Scarce, "scarce", 2, "of those, products with 12 units only, so that some checkouts run out of stock")
	fs.DurationVar(&ro.Settle, "settle", 2*time.Minute, "how long sagas and outboxes may take to settle after the load")
	fs.IntVar(&o.MaxConns, "max-conns", 0, "-db.max-conns for every process (0: the processes' default)")
	fs.BoolVar(&o.Gateway, "gateway", false, "run the gateway in front; the load goes through it")
	fs.StringVar(&o.NATSServer, "nats-server", "", "the nats-server binary (default: on PATH or in /usr/sbin)")
	fs.StringVar(&o.RedisServer, "redis-server", "", "the redis-server binary (default: on PATH or in /usr/bin)")
	fs.StringVar(&o.Dir, "dir", "", "keep the processes' data and logs here (default: a temporary directory, removed)")
	return cmd
}

func busName(o cluster.Options) string {
	if o.RabbitMQ != "" {
		return "RabbitMQ"
	}
	return "NATS"
}
