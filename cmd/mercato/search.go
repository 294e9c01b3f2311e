package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mercato/mercato/internal/search"
)

// searchCommand holds the operator's work on a search replica's indexes.
func (c *cli) searchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Work on this replica's search indexes",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "reindex",
		Short: "Rebuild this replica's search indexes (-search.index-dir) from the search projection, then exit; stop the replica first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, done, err := serviceOf[*search.Service](cmd.Context(), c, "search")
			if err != nil {
				return err
			}
			defer done()
			defer s.Close()
			start := time.Now()
			n, err := s.Rebuild(cmd.Context())
			if err != nil {
				return err
			}
			took := time.Since(start)
			size, err := s.IndexSize("")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "reindexed %d products in %s; the indexes take %d bytes\n", n, took.Round(time.Millisecond), size)
			return nil
		},
	})
	return cmd
}
