package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/bench"
)

func (c *cli) benchSoakCommand() *cobra.Command {
	var o bench.SoakOptions
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run guests' shopping for a while and report orders, errors, connections, memory, and log and data bytes per order",
		Long: `Boot Mercato in this process on 127.0.0.1 (SQLite and the embedded bus in a
temporary directory; -db and -bus with -yes) and have -workers guests shop
for -duration, each one flow after another: the product list, a product, a
cart of two products, a third added, the cart read back, and a guest
checkout paid with the fake provider (on -db/-bus too, unless -payment.fake
says otherwise). -rate caps the flows started per second.

The instance logs as a server started with the same flags would
(-log.level, -log.format, -log.access…); its log is counted and dropped, or
written to -log-file.

At the end it waits for the outbox to drain and reports: confirmed orders
and their rate, failed flows by step and cause, checkout latency; the peak
of database connections (PostgreSQL: the backends of the database in
pg_stat_activity, which counts every client of that database, so give the
soak a database of its own; SQLite: the open descriptors of the database
files) and of the process's descriptors; the peak RSS (VmHWM: the server
and the guests share the process) and Go heap; the log bytes written during
the run per order, with the lines by level and message; and the data per
order: the growth of the SQLite files (and apart, of the embedded bus's
files), or of the PostgreSQL tables of the database's schemas.`,
		Example: `  mercato bench soak -duration 10m
  mercato bench soak -duration 1m -workers 2 -rate 10 -log-file soak.log
  mercato bench soak -duration 2m -db postgres://postgres@127.0.0.1:5432/mercato_soak -yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flag("payment.fake"); f != nil && !f.Changed {
				if err := f.Value.Set("true"); err != nil {
					return err
				}
			}
			return c.benchRunner().Soak(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the guests shop (at most "+bench.MaxSoak.String()+")")
	fs.IntVar(&o.Workers, "workers", 4, "guests shopping at once, one flow at a time each (1 to 64)")
	fs.Float64Var(&o.Rate, "rate", 0, "flows started per second at most; 0: as fast as the guests go")
	fs.DurationVar(&o.Sample, "sample", time.Second, "how often connections and memory are read")
	fs.StringVar(&o.LogFile, "log-file", "", "write the instance's log to this file (default: count it and drop it)")
	fs.BoolVar(&o.Yes, "yes", false, "accept that demo data and orders are written to the -db database or -bus given")
	return cmd
}
