package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// outboxCommand sends again what the selected services' outboxes published
// since a time: after a broker lost events it had accepted (a wiped store),
// the outboxes still hold them for their retention (7 days), and the
// consumers' inboxes drop what they had already applied.
func (c *cli) outboxCommand() *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Work on the services' outboxes",
	}
	republish := &cobra.Command{
		Use:   "republish",
		Short: "Publish again the events the selected services published since -since, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			sys, err := c.build(cmd, c.logger())
			if err != nil {
				return err
			}
			defer sys.Close()
			var marked int64
			for _, r := range sys.Platform.Relays() {
				n, err := r.Republish(cmd.Context(), from)
				if err != nil {
					return fmt.Errorf("outbox of %s: %w", r.Name(), err)
				}
				marked += n
			}
			if err := sys.Flush(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "published again %d events written since %s\n", marked, from.UTC().Format(time.RFC3339))
			return nil
		},
	}
	republish.Flags().StringVar(&since, "since", "", "events written since this time: RFC 3339 (2026-12-04T10:00:00Z) or a duration back from now (2h)")
	cmd.AddCommand(republish)
	return cmd
}

// parseSince reads -since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("-since is required: a time (2026-12-04T10:00:00Z) or a duration back from now (2h)")
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-since %q is neither an RFC 3339 time nor a positive duration", s)
	}
	return t, nil
}
