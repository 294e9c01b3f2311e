package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/app"
)

// deadLettersCommand lists and replays the events a consumer group gave up
// on, across all stores: the operator's view (the admin API shows one store's).
func (c *cli) deadLettersCommand() *cobra.Command {
	var group string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dead-letters",
		Short: "List or replay dead-lettered events of a consumer group",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List a group's dead letters, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := app.NewPlatform(cmd.Context(), c.cfg, c.logger(), buildVersion())
			if err != nil {
				return err
			}
			defer p.Close()
			dls, err := p.Bus.DeadLetters(cmd.Context(), group, limit)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(dls)
			}
			if len(dls) == 0 {
				fmt.Fprintf(c.stdout, "no dead letters in group %s\n", group)
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSUBJECT\tTENANT\tATTEMPTS\tFAILED AT\tERROR")
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Subject, d.Header["tenant"], d.Attempts, d.FailedAt.Format("2006-01-02 15:04:05"), d.Error)
			}
			return tw.Flush()
		},
	}
	replay := &cobra.Command{
		Use:   "replay [ID…]",
		Short: "Deliver dead letters to their group again (all of the group's when no ID is given)",
		RunE: func(cmd *cobra.Command, ids []string) error {
			p, err := app.NewPlatform(cmd.Context(), c.cfg, c.logger(), buildVersion())
			if err != nil {
				return err
			}
			defer p.Close()
			n, err := p.Bus.Replay(cmd.Context(), group, ids...)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "replayed %d events to group %s\n", n, group)
			return nil
		},
	}
	for _, sub := range []*cobra.Command{list, replay} {
		sub.Flags().StringVar(&group, "group", "", "consumer group (required)")
		sub.PreRunE = func(*cobra.Command, []string) error {
			if group == "" {
				return errors.New("-group is required")
			}
			return nil
		}
	}
	list.Flags().IntVar(&limit, "limit", 100, "most dead letters to list")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, replay)
	return cmd
}
