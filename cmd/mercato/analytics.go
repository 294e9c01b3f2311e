package main

import (
	"errors"
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
			var entry *app.Service
			for i := range c.services {
				if c.services[i].Name == "analytics" {
					entry = &c.services[i]
				}
			}
			if entry == nil {
				return errors.New("no analytics service in this build")
			}
			p, err := app.NewPlatform(cmd.Context(), c.cfg, c.logger(), buildVersion())
			if err != nil {
				return err
			}
			defer p.Close()
			v, err := entry.New(cmd.Context(), p)
			if err != nil {
				return err
			}
			s, ok := v.(*analytics.Service)
			if !ok {
				return fmt.Errorf("analytics service is a %T", v)
			}
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
