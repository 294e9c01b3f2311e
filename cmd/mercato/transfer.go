package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/csvio"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// remote is how import and export reach a running Mercato: its URL, the
// store and the credentials of the person or integration acting.
type remote struct {
	server, store, token string
}

func (r *remote) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&r.server, "server", "http://127.0.0.1:8080", "the running Mercato to work on (its API base URL)")
	fs.StringVar(&r.store, "store", tenancy.DefaultID, "the store: its ID or subdomain")
	fs.StringVar(&r.token, "token", "", "a staff access token, a secret API key (sk_…) of the store or the admin token; best set as MERCATO_TOKEN")
}

// engine returns the CSV engine on the server's APIs and the context that
// carries the store and the credentials.
func (r *remote) engine(ctx context.Context, c *cli) (*csvio.Engine, context.Context, error) {
	if r.token == "" {
		return nil, nil, errors.New("no credentials: set -token or MERCATO_TOKEN to a staff token or a secret API key")
	}
	if !tenancy.Valid(r.store) {
		return nil, nil, fmt.Errorf("-store %q is not a store ID or subdomain", r.store)
	}
	base := strings.TrimRight(r.server, "/")
	hc := &http.Client{Timeout: 30 * time.Second}
	ctx = apiclient.WithToken(tenancy.WithID(ctx, r.store), r.token)
	return &csvio.Engine{
		Catalog:   catalogapi.NewClient(base, hc),
		Inventory: inventoryapi.NewClient(base, hc),
		Orders:    orderapi.NewClient(base, hc),
		Stores:    tenantapi.NewClient(base, hc),
		Identity:  identityapi.NewClient(base, hc),
	}, ctx, nil
}

func kindNames(ks []csvio.Kind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, "|")
}

func parseKind(arg string, allowed []csvio.Kind) (csvio.Kind, error) {
	k := csvio.Kind(arg)
	if !slices.Contains(allowed, k) {
		return "", fmt.Errorf("%w %q: say %s", csvio.ErrKind, arg, kindNames(allowed))
	}
	return k, nil
}

func (c *cli) importCommand() *cobra.Command {
	var (
		r        remote
		dryRun   bool
		errsPath string
		workers  int
		currency string
		invite   bool
	)
	cmd := &cobra.Command{
		Use:   "import " + kindNames(csvio.ImportKinds) + " FILE.csv",
		Short: "Import a CSV file into a running Mercato through its API, row by row, then exit",
		Long: `Import reads the file row by row, refuses rows with personal data that must not be
imported (card numbers, IBANs, national IDs, passwords; emails and phone numbers
outside their columns) and rows that do not check, and creates or updates the
rest through the services' APIs of the running Mercato at -server. Products are
matched by SKU, customers by email (new accounts have no password until the
customer sets one: -invite sends the link), stock by SKU and location:
importing the same file again changes nothing. Refused rows are listed in an
error report (row, column, value, reason; personal values masked). A Shopify
product export imports as it is. See docs/import-export.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := parseKind(args[0], csvio.ImportKinds)
			if err != nil {
				return err
			}
			eng, ctx, err := r.engine(cmd.Context(), c)
			if err != nil {
				return err
			}
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if errsPath == "" {
				errsPath = strings.TrimSuffix(args[1], filepath.Ext(args[1])) + ".errors.csv"
			}
			ef, err := os.Create(errsPath)
			if err != nil {
				return fmt.Errorf("error report: %w", err)
			}
			defer ef.Close()
			in := &countingReader{r: f}
			show := c.progress("importing", st.Size(), func() int64 { return in.n.Load() })
			sum, err := eng.Import(ctx, kind, in, csvio.ImportOptions{DryRun: dryRun, Workers: workers, Report: ef,
				Currency: currency, Invite: invite, Progress: func(rows int64) { show(rows, "rows") }})
			if cerr := ef.Close(); err == nil {
				err = cerr
			}
			fmt.Fprintln(c.stdout, sum)
			if len(sum.Ignored) > 0 {
				fmt.Fprintf(c.stdout, "columns not imported: %s\n", strings.Join(sum.Ignored, ", "))
			}
			if sum.Issues == 0 {
				_ = os.Remove(errsPath)
			} else {
				fmt.Fprintf(c.stdout, "%d problems listed in %s\n", sum.Issues, errsPath)
			}
			return err
		},
	}
	r.register(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&dryRun, "dry-run", false, "check every row and compare it with the store, changing nothing")
	fs.StringVar(&errsPath, "errors", "", "where to write the error report (default: beside the file, NAME.errors.csv)")
	fs.IntVar(&workers, "workers", 8, "records applied at once")
	fs.StringVar(&currency, "currency", "", "the currency of prices in a file without a currency column (default: the store's)")
	fs.BoolVar(&invite, "invite", false, "email each new customer account the link to set its password")
	return cmd
}

func (c *cli) exportCommand() *cobra.Command {
	var (
		r        remote
		out      string
		unmasked bool
	)
	cmd := &cobra.Command{
		Use:   "export " + kindNames(csvio.ExportKinds),
		Short: "Export CSV from a running Mercato through its API, then exit",
		Long: `Export pages through the services' APIs and writes CSV to standard output or -o.
Cells a spreadsheet would take for formulas are neutralised. Personal data in
customer and order exports is masked unless -unmasked is asked for and the
caller may see it (owners, managers and the admin token). Every export is recorded in the store's
audit log. See docs/import-export.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := parseKind(args[0], csvio.ExportKinds)
			if err != nil {
				return err
			}
			eng, ctx, err := r.engine(cmd.Context(), c)
			if err != nil {
				return err
			}
			w := c.stdout
			var f *os.File
			if out != "" && out != "-" {
				// 0600: an export may hold personal data.
				if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			show := c.progress("exporting", -1, nil)
			res, err := eng.Export(ctx, kind, w, csvio.ExportOptions{Unmasked: unmasked, Via: "cli", Progress: func(rows int64) { show(rows, "rows") }})
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return err
			}
			masked := ""
			if res.Masked {
				masked = ", personal data masked"
			}
			fmt.Fprintf(c.stderr, "exported %d %s rows in %s%s\n", res.Rows, kind, res.Elapsed.Round(time.Millisecond), masked)
			return nil
		},
	}
	r.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&unmasked, "unmasked", false, "ask for personal data in the clear (granted to owners and managers only)")
	return cmd
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress returns what shows an import's or export's progress: a bar on
// a terminal (over the file's bytes when size > 0), a plain line every 5
// seconds otherwise.
func (c *cli) progress(verb string, size int64, bytesRead func() int64) func(n int64, unit string) {
	if f, ok := c.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(verb),
			progressbar.OptionShowBytes(size > 0), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		return func(n int64, unit string) {
			bar.Describe(fmt.Sprintf("%s: %d %s", verb, n, unit))
			if bytesRead != nil {
				_ = bar.Set64(bytesRead())
			} else {
				_ = bar.Set64(n)
			}
		}
	}
	var last time.Time
	return func(n int64, unit string) {
		if time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		if size > 0 && bytesRead != nil {
			fmt.Fprintf(c.stderr, "%s: %d %s (%d%% of the file)\n", verb, n, unit, bytesRead()*100/size)
			return
		}
		fmt.Fprintf(c.stderr, "%s: %d %s\n", verb, n, unit)
	}
}
