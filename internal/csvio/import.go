package csvio

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// maxRowsPerRecord bounds the rows of one record (a product's variant and
// image rows), so that memory stays bounded whatever the file.
const maxRowsPerRecord = 200

// record is one thing to import: the rows that make it, and the issues
// found while reading them (personal data, broken CSV), which refuse it.
type record struct {
	rows   []row
	issues []Issue
}

// kindImporter is what one kind of import adds to the common loop.
type kindImporter interface {
	// aliases maps normalized column names to fields; allow says which
	// fields may carry emails or phone numbers.
	aliases() map[string]string
	allow() map[string]Allowed
	// check looks at the header before any row is read.
	check(src *source) error
	// key groups consecutive rows into one record: rows with the same
	// non-empty key belong together; "" makes a row a record of its own.
	key(r row) string
	// shard names what must be applied in file order: records whose
	// first rows have the same shard go to the same worker, one after the
	// other (two rows for one SKU must not race).
	shard(r row) string
	// skip reports whether a row carries nothing to import.
	skip(r row) bool
	// apply checks and applies (or, on a dry run, only compares) one
	// record. The issues refuse it; an error aborts the import.
	apply(ctx context.Context, rec record, dry bool) (outcome, []Issue, error)
}

// Import reads a CSV file of kind from in and applies it. The summary is
// valid even when an error (a service down, the context cancelled) cut the
// import short.
func (e *Engine) Import(ctx context.Context, kind Kind, in io.Reader, opt ImportOptions) (Summary, error) {
	start := time.Now()
	// run is in every idempotency key of this import: a retried request
	// inside the run is applied once, while the same change in a later
	// run (or later in the file) is a change of its own, not a replay.
	run := rand.Text()
	var imp kindImporter
	switch kind {
	case Products:
		if e.Catalog == nil {
			return Summary{Kind: kind}, errors.New("csvio: products need the catalog")
		}
		cur := opt.Currency
		imp = &productImporter{cat: e.Catalog, currency: cur, stores: e.Stores, run: run}
	case Customers:
		if e.Identity == nil {
			return Summary{Kind: kind}, errors.New("csvio: customers need the identity service")
		}
		imp = &customerImporter{ids: e.Identity, invite: opt.Invite}
	case Stock:
		if e.Inventory == nil {
			return Summary{Kind: kind}, errors.New("csvio: stock needs the inventory")
		}
		imp = &stockImporter{inv: e.Inventory, run: run}
	default:
		return Summary{Kind: kind}, fmt.Errorf("%w %q: import products, customers or stock", ErrKind, kind)
	}
	rep, err := newReport(opt.Report)
	if err != nil {
		return Summary{Kind: kind}, err
	}
	src, err := newSource(in, imp.aliases(), imp.allow())
	if err != nil {
		return Summary{Kind: kind}, err
	}
	if err := imp.check(src); err != nil {
		return Summary{Kind: kind, Ignored: src.ignored}, err
	}
	var c counters
	workers := opt.Workers
	if workers <= 0 {
		workers = 8
	}
	g, gctx := errgroup.WithContext(ctx)
	queues := make([]chan record, workers)
	for i := range queues {
		queues[i] = make(chan record, 4)
	}
	g.Go(func() error {
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		return readRecords(gctx, src, imp, &c, queues)
	})
	for _, queue := range queues {
		g.Go(func() error {
			for rec := range queue {
				if len(rec.issues) > 0 {
					// Personal data or a broken row: refused unread, so the
					// value goes nowhere but (masked) into the report.
					if err := rep.add(rec.issues...); err != nil {
						return err
					}
					c.count(refused)
					continue
				}
				o, issues, err := imp.apply(gctx, rec, opt.DryRun)
				if err != nil {
					return err
				}
				if len(issues) > 0 {
					o = refused
					if err := rep.add(issues...); err != nil {
						return err
					}
				}
				c.count(o)
			}
			return nil
		})
	}
	stopProgress := progress(opt.Progress, &c)
	err = g.Wait()
	stopProgress()
	if ferr := rep.flush(); err == nil {
		err = ferr
	}
	s := c.summary(kind, opt.DryRun, rep, start, src.ignored)
	log := e.Log
	if log != nil {
		log.Info("csv import", "kind", kind, "dry_run", opt.DryRun, "rows", s.Rows, "created", s.Created, "updated", s.Updated,
			"unchanged", s.Unchanged, "refused", s.Refused, "elapsed", s.Elapsed, "error", err)
	}
	return s, err
}

// readRecords reads src to the end, groups its rows into records and
// sends each to the queue of its shard.
func readRecords(ctx context.Context, src *source, imp kindImporter, c *counters, queues []chan record) error {
	var cur record
	curKey := ""
	send := func() error {
		if len(cur.rows) == 0 && len(cur.issues) == 0 {
			return nil
		}
		c.records.Add(1)
		out := queues[0]
		if len(cur.rows) > 0 && cur.rows[0].cells != nil {
			h := fnv.New32a()
			_, _ = h.Write([]byte(imp.shard(cur.rows[0])))
			out = queues[h.Sum32()%uint32(len(queues))]
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur, curKey = record{}, ""
		return nil
	}
	for {
		r, issues, err := src.next()
		if errors.Is(err, io.EOF) {
			return send()
		}
		if err != nil {
			return fmt.Errorf("read row %d: %w", src.n+1, err)
		}
		c.rows.Add(1)
		if r.cells != nil && len(issues) == 0 && imp.skip(r) {
			c.skipped.Add(1)
			continue
		}
		k := ""
		if r.cells != nil {
			k = imp.key(r)
		}
		if k == "" || k != curKey || len(cur.rows) >= maxRowsPerRecord {
			if err := send(); err != nil {
				return err
			}
		}
		curKey = k
		cur.rows = append(cur.rows, r)
		cur.issues = append(cur.issues, issues...)
	}
}

// progress calls report with the rows read every 200 ms until the
// returned stop is called, and once more then.
func progress(report func(int64), c *counters) (stop func()) {
	if report == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report(c.rows.Load())
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		report(c.rows.Load())
	}
}

// refusal turns a service's refusal into report lines on row n; any other
// error is returned, to abort the import (the service is down or the
// caller may not import).
func refusal(err error, n int64, column func(location string) string) ([]Issue, error) {
	ae, ok := apiclient.Refused(err)
	if !ok {
		return nil, err
	}
	if ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden && ae.Code != tenantapi.LimitCode {
		return nil, err // the credentials, not the row: every row would fail so
	}
	if len(ae.Errors) == 0 {
		return []Issue{{Row: n, Reason: ae.Code + ": " + ae.Detail}}, nil
	}
	var out []Issue
	for _, fe := range ae.Errors {
		out = append(out, Issue{Row: n, Column: column(fe.Location), Reason: ae.Code + ": " + fe.Location + " " + fe.Message})
	}
	return out, nil
}
