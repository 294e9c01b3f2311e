// Package csvio is the one CSV import and export engine behind both
// `mercato import`/`mercato export` and the admin's Import / export page
// (docs/import-export.md, docs/decisions/0030-csv-import-export.md).
//
// It reads a file row by row (encoding/csv, never the whole file), checks
// every cell for personal data that must not be imported (pii.go), checks
// each row and column, and applies what passes through the services' own
// APIs, with their typed clients: it never touches a service's tables.
// Records are matched by their natural key (a product by any of its SKUs,
// a stock level by SKU and location), so importing the same file twice
// changes nothing the second time. Refused rows go to an error report
// (row, column, value, reason) in which a personal value is masked.
//
// An export pages through the same APIs and writes CSV with every cell that
// a spreadsheet would take for a formula neutralised.
package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Kind is what a file holds.
type Kind string

// The kinds of file the engine imports or exports.
const (
	Products  Kind = "products"
	Customers Kind = "customers"
	Stock     Kind = "stock"
	Orders    Kind = "orders"
)

// ImportKinds are the kinds that can be imported; ExportKinds those that
// can be exported.
var (
	ImportKinds = []Kind{Products, Customers, Stock}
	ExportKinds = []Kind{Products, Customers, Orders, Stock}
)

// ErrKind is returned for a kind the engine cannot import or export.
var ErrKind = errors.New("csvio: unknown kind")

// Catalog is what the engine needs of the catalog (catalogapi.Client).
type Catalog interface {
	AdminProducts(ctx context.Context, p catalogapi.AdminListParams) (catalogapi.ProductList, error)
	CreateProduct(ctx context.Context, p catalogapi.ProductCreate, idempotencyKey string) (catalogapi.Product, error)
	UpdateProduct(ctx context.Context, id string, u catalogapi.ProductUpdate) (catalogapi.Product, error)
}

// Inventory is what the engine needs of the inventory (inventoryapi.Client).
type Inventory interface {
	Stock(ctx context.Context, sku string) (inventoryapi.StockLevel, error)
	Adjust(ctx context.Context, sku string, a inventoryapi.Adjustment, idempotencyKey string) (inventoryapi.StockLevel, error)
	List(ctx context.Context, p inventoryapi.ListParams) (inventoryapi.StockList, error)
}

// OrderLister is what the engine needs of the order service (orderapi.Client).
type OrderLister interface {
	List(ctx context.Context, lp orderapi.ListParams) (orderapi.OrderList, error)
}

// Identity is what the engine needs of the identity service
// (identityapi.Client): customer accounts, whether the caller may see
// personal data, and the export audit log.
type Identity interface {
	ImportCustomer(ctx context.Context, in identityapi.CustomerImport) (identityapi.CustomerImported, error)
	ListCustomers(ctx context.Context, cursor string, limit int) (identityapi.CustomerList, error)
	RecordExport(ctx context.Context, r identityapi.ExportRecord) (identityapi.ExportAudit, error)
	FinishExport(ctx context.Context, id string, rows int64) (identityapi.ExportAudit, error)
}

// Stores is what the engine needs of the tenant service
// (tenantapi.Client): the store's currency, for prices without one.
type Stores interface {
	Store(ctx context.Context) (tenantapi.Store, error)
}

// Engine imports and exports CSV through the services' clients. Each
// client is needed only by the kinds that use it.
type Engine struct {
	Catalog   Catalog
	Inventory Inventory
	Orders    OrderLister
	Stores    Stores
	// Identity imports and exports customers, decides whether personal
	// data goes out unmasked, and keeps the export audit log: no export
	// runs without it.
	Identity Identity
	// Log receives one line per import or export; never a cell's value.
	Log *slog.Logger
}

// ImportOptions tune one import.
type ImportOptions struct {
	// DryRun checks every row and compares it with what the services hold,
	// changing nothing: the summary says what a real run would do.
	DryRun bool
	// Workers is how many records are applied at once (default 8).
	Workers int
	// Report receives the error report CSV (row, column, value, reason);
	// nil discards it.
	Report io.Writer
	// Progress, if set, is called with the rows read so far, at most every
	// 200 ms and once at the end.
	Progress func(rows int64)
	// Currency prices rows without a currency column; default the store's.
	Currency string
	// Invite sends each new customer account the link to set its password.
	Invite bool
}

// Summary is the outcome of an import.
type Summary struct {
	Kind Kind `json:"kind"`
	// Rows is the number of data rows read (the header not counted).
	Rows int64 `json:"rows"`
	// Records is the number of records the rows make (a product spans
	// several rows).
	Records   int64 `json:"records"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	// Refused is the number of records refused; each has at least one
	// line in the error report.
	Refused int64 `json:"refused"`
	// Skipped is the number of rows that carry nothing to import (a
	// Shopify image row in a stock import).
	Skipped int64 `json:"skipped"`
	// Issues is the number of lines written to the error report.
	Issues  int64         `json:"issues"`
	DryRun  bool          `json:"dry_run"`
	Elapsed time.Duration `json:"elapsed"`
	// Ignored lists the columns the kind has no use for.
	Ignored []string `json:"ignored,omitempty"`
}

// String is the one-line summary the CLI prints.
func (s Summary) String() string {
	verb := "imported"
	if s.DryRun {
		verb = "checked (dry run, nothing changed)"
	}
	return fmt.Sprintf("%s %s: %d rows, %d records: %d created, %d updated, %d unchanged, %d refused, %d rows skipped in %s",
		s.Kind, verb, s.Rows, s.Records, s.Created, s.Updated, s.Unchanged, s.Refused, s.Skipped, s.Elapsed.Round(time.Millisecond))
}

// Issue is one line of the error report. Value is safe to show: masked
// when the reason is personal data.
type Issue struct {
	Row    int64
	Column string
	Value  string
	Reason string
}

// ReportHeader is the error report's header row.
var ReportHeader = []string{"row", "column", "value", "reason"}

// report writes the error report; safe for concurrent use.
type report struct {
	mu sync.Mutex
	w  *csv.Writer
	n  atomic.Int64
}

func newReport(w io.Writer) (*report, error) {
	r := &report{}
	if w == nil {
		return r, nil
	}
	r.w = csv.NewWriter(w)
	if err := r.w.Write(ReportHeader); err != nil {
		return nil, fmt.Errorf("write error report: %w", err)
	}
	return r, nil
}

func (r *report) add(is ...Issue) error {
	r.n.Add(int64(len(is)))
	if r.w == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range is {
		// Every cell: a column name comes from the file, and a reason
		// may quote a service's words.
		rec := []string{Neutralize(fmt.Sprint(i.Row)), Neutralize(i.Column), Neutralize(cut(i.Value, 100)), Neutralize(i.Reason)}
		if err := r.w.Write(rec); err != nil {
			return fmt.Errorf("write error report: %w", err)
		}
	}
	return nil
}

func (r *report) flush() error {
	if r.w == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.Flush()
	return r.w.Error()
}

// cut shortens s to at most n runes, ending in … when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// Neutralize makes a cell safe to open in a spreadsheet: the platform's
// one rule of CSV cells (text.CSVCell).
func Neutralize(cell string) string { return text.CSVCell(cell) }

// unneutralize undoes Neutralize, so that an export reads back as it was.
func unneutralize(cell string) string { return text.CSVValue(cell) }

// NormalizeHeader turns a column name into the engine's form: lower case,
// runs of anything but letters and digits as one _, none at the ends
// ("Variant SKU" → variant_sku, "Body (HTML)" → body_html).
func NormalizeHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff") // a byte order mark from spreadsheets
	var b strings.Builder
	us := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			us = false
			continue
		}
		if !us && b.Len() > 0 {
			b.WriteByte('_')
			us = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// row is one data row of the input: its line in the file (the header is
// row 1) and its cells by field name.
type row struct {
	n     int64
	cells map[string]string
}

// get returns the row's value of field, trimmed.
func (r row) get(field string) string { return strings.TrimSpace(r.cells[field]) }

// source reads rows of a CSV file, mapping columns to fields and checking
// every cell for personal data.
type source struct {
	r       *csv.Reader
	lim     *recordLimit
	names   []string // the header as written
	fields  []string // the field of each column; "" for an ignored one
	secret  []bool   // whether each column is named for a password
	allow   map[string]Allowed
	n       int64
	ignored []string
}

// newSource reads the header. aliases maps normalized column names to
// fields; allow says which fields may carry emails or phone numbers.
func newSource(in io.Reader, aliases map[string]string, allow map[string]Allowed) (*source, error) {
	lim := &recordLimit{r: in, max: maxRecordBytes}
	r := csv.NewReader(lim)
	r.FieldsPerRecord = -1 // a short row is refused row by row, not the file
	r.LazyQuotes = true
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: a header row is needed")
	}
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	lim.reset()
	s := &source{r: r, lim: lim, allow: allow, n: 1}
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		// A header cell is a value too: a file whose first line is data
		// (or a column named after a customer) is refused whole, with the
		// finding masked, so that the value reaches no list, error or
		// report.
		if f, ok := scanValue(unneutralize(name), Allowed{}); ok {
			return nil, fmt.Errorf("column %d of the header row: %s: %s (%s); is the first line a header?", i+1, f.Kind, f.Reason, f.Masked)
		}
		name = cut(name, 100)
		s.names = append(s.names, name)
		f := aliases[NormalizeHeader(name)]
		if f != "" && seen[f] {
			return nil, fmt.Errorf("columns %q: two columns for %s", name, f)
		}
		seen[f] = true
		if f == "" && !IsPasswordColumn(name) {
			s.ignored = append(s.ignored, name)
		}
		s.fields = append(s.fields, f)
		s.secret = append(s.secret, IsPasswordColumn(name))
	}
	return s, nil
}

// has reports whether the header maps a column to field.
func (s *source) has(field string) bool {
	for _, f := range s.fields {
		if f == field {
			return true
		}
	}
	return false
}

// next returns the next row and the personal data found in it (the row
// must then be refused); io.EOF at the end.
func (s *source) next() (row, []Issue, error) {
	rec, err := s.r.Read()
	s.lim.reset()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			s.n++
			return row{n: s.n}, []Issue{{Row: s.n, Reason: "not valid CSV: " + pe.Err.Error()}}, nil
		}
		return row{}, nil, err
	}
	s.n++
	rw := row{n: s.n, cells: make(map[string]string, len(rec))}
	var issues []Issue
	if len(rec) > len(s.names) {
		issues = append(issues, Issue{Row: s.n, Reason: fmt.Sprintf("%d cells for %d columns", len(rec), len(s.names))})
	}
	for i, v := range rec {
		if i >= len(s.names) {
			break
		}
		v = unneutralize(v)
		f, ok := Finding{PIIPassword, "a password or secret column is never imported", "****"}, v != ""
		if !s.secret[i] {
			f, ok = scanValue(v, s.allow[s.fields[i]])
		}
		if ok {
			issues = append(issues, Issue{Row: s.n, Column: s.names[i], Value: f.Masked, Reason: string(f.Kind) + ": " + f.Reason})
			continue
		}
		if s.fields[i] != "" {
			rw.cells[s.fields[i]] = v
		}
	}
	return rw, issues, nil
}

// maxRecordBytes bounds one record (row) of a file: with LazyQuotes, an
// unclosed quote would otherwise pull the rest of the file into one cell,
// in memory.
const maxRecordBytes = 1 << 20

// ErrRecordTooLarge refuses a file with a record larger than
// maxRecordBytes: the rest of the file cannot be read row by row.
var ErrRecordTooLarge = fmt.Errorf("a row is larger than %d MiB (an unclosed quote?): the rest of the file is not read", maxRecordBytes>>20)

// recordLimit counts the bytes read since the last reset (one record, and
// the csv reader's read-ahead of at most a few KiB) and fails the read
// past max.
type recordLimit struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.n >= l.max {
		return 0, ErrRecordTooLarge
	}
	if rest := l.max - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

func (l *recordLimit) reset() { l.n = 0 }

// counters are a running import's outcome.
type counters struct {
	rows, records, created, updated, unchanged, refused, skipped atomic.Int64
}

func (c *counters) summary(k Kind, dry bool, rep *report, start time.Time, ignored []string) Summary {
	return Summary{Kind: k, Rows: c.rows.Load(), Records: c.records.Load(), Created: c.created.Load(), Updated: c.updated.Load(),
		Unchanged: c.unchanged.Load(), Refused: c.refused.Load(), Skipped: c.skipped.Load(), Issues: rep.n.Load(),
		DryRun: dry, Elapsed: time.Since(start), Ignored: ignored}
}

// outcome is what applying one record did.
type outcome int

const (
	created outcome = iota
	updated
	unchanged
	refused
)

func (c *counters) count(o outcome) {
	switch o {
	case created:
		c.created.Add(1)
	case updated:
		c.updated.Add(1)
	case unchanged:
		c.unchanged.Add(1)
	case refused:
		c.refused.Add(1)
	}
}
