package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/analytics"
	"github.com/mercato/mercato/internal/app"
)

// analyticsCommand holds the operator's work on the analytics read models.
func (c *cli) analyticsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analytics",
		Short: "Work on the analytics read models",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the analytics read models by replaying the analytics event log, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, done, err := serviceOf[*analytics.Service](cmd.Context(), c, "analytics")
			if err != nil {
				return err
			}
			defer done()
			start := time.Now()
			n, err := s.Rebuild(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "rebuilt the analytics of %d stores from %d events in %s\n", n.Stores, n.Events, time.Since(start).Round(time.Millisecond))
			return nil
		},
	})
	return cmd
}

// serviceOf builds this build's service name, of type T, on a platform of
// its own, for an operator's command that works on the service's data and
// exits (rebuild, reindex): nothing is served and no consumer runs. done
// closes the platform.
func serviceOf[T any](ctx context.Context, c *cli, name string) (svc T, done func(), err error) {
	var entry *app.Service
	for i := range c.services {
		if c.services[i].Name == name {
			entry = &c.services[i]
		}
	}
	if entry == nil {
		return svc, nil, fmt.Errorf("no %s service in this build", name)
	}
	p, err := app.NewPlatform(ctx, c.cfg, c.logger(), buildVersion())
	if err != nil {
		return svc, nil, err
	}
	v, err := entry.New(ctx, p)
	if err != nil {
		p.Close()
		return svc, nil, err
	}
	s, ok := v.(T)
	if !ok {
		p.Close()
		return svc, nil, fmt.Errorf("%s service is a %T", name, v)
	}
	return s, func() { p.Close() }, nil
}
