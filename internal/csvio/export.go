package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
)

// ExportOptions tune one export.
type ExportOptions struct {
	// Unmasked asks for personal data (emails, names, addresses) as it
	// is. The identity service decides: only the owner, managers and the
	// admin token get it; anyone else gets it masked.
	Unmasked bool
	// Via names the front end in the audit log: "cli" or "admin".
	Via string
	// Progress, if set, is called with the rows written so far after each
	// page.
	Progress func(rows int64)
}

// ExportResult says what an export wrote: what the audit log records.
type ExportResult struct {
	Kind    Kind          `json:"kind"`
	Rows    int64         `json:"rows"`
	Masked  bool          `json:"masked"`
	Elapsed time.Duration `json:"elapsed"`
}

// pageSize is the page an export asks for: the services' maximum.
const pageSize = 100

// ProductHeader is the header of a product export, which the product
// import reads back.
var ProductHeader = []string{"handle", "title", "description", "status", "vendor", "type", "tags",
	"option1_name", "option1_value", "option2_name", "option2_value", "option3_name", "option3_value",
	"sku", "price", "currency", "image_url", "image_alt", "cost_price"}

// StockHeader is the header of a stock export, which the stock import
// reads back (on_hand per location).
var StockHeader = []string{"sku", "location", "on_hand", "reserved", "available", "low_stock_threshold"}

// OrderHeader is the header of an order export: one row per order line.
var OrderHeader = []string{"order_id", "created_at", "status", "email", "ship_to_name", "ship_to_address", "ship_to_city",
	"ship_to_postal_code", "ship_to_country", "currency", "sku", "title", "quantity", "unit_price", "line_total",
	"order_subtotal", "order_discount", "order_shipping", "order_tax", "order_total", "order_refunded"}

// Export writes every record of kind as CSV to out, page by page.
func (e *Engine) Export(ctx context.Context, kind Kind, out io.Writer, opt ExportOptions) (ExportResult, error) {
	start := time.Now()
	res := ExportResult{Kind: kind, Masked: true}
	if e.Identity == nil {
		return res, errors.New("csvio: exports need the identity service, which keeps their audit log")
	}
	if opt.Unmasked {
		// The customer list says whether the caller may see personal data.
		l, err := e.Identity.ListCustomers(ctx, "", 1)
		if err != nil {
			return res, fmt.Errorf("ask whether personal data may be shown: %w", err)
		}
		opt.Unmasked = !l.Masked
	}
	res.Masked = !opt.Unmasked
	switch kind {
	case Products, Stock:
		res.Masked = false // nothing personal
	case Customers, Orders:
	default:
		return res, fmt.Errorf("%w %q: export products, customers, orders or stock", ErrKind, kind)
	}
	if kind == Products && e.Catalog == nil || kind == Stock && e.Inventory == nil || kind == Orders && e.Orders == nil {
		return res, fmt.Errorf("csvio: %s exports need their service", kind)
	}
	via := opt.Via
	if via == "" {
		via = "cli"
	}
	// Recorded before the first row goes out, or not run: an export that
	// stops short (a crash, a cut connection) is still in the log, in
	// progress, without its rows.
	entry, err := e.Identity.RecordExport(ctx, identityapi.ExportRecord{Kind: string(kind), Masked: res.Masked, Via: via, InProgress: true})
	if err != nil {
		return res, fmt.Errorf("record the export in the audit log (nothing was exported): %w", err)
	}
	w := &cellWriter{w: csv.NewWriter(out)}
	switch kind {
	case Products:
		err = e.exportProducts(ctx, w, opt)
	case Stock:
		err = e.exportStock(ctx, w, opt)
	case Customers:
		var masked bool
		masked, err = e.exportCustomers(ctx, w, opt)
		res.Masked = masked
	case Orders:
		err = e.exportOrders(ctx, w, opt)
	}
	w.w.Flush()
	if err == nil {
		err = w.w.Error()
	}
	res.Rows, res.Elapsed = w.rows, time.Since(start)
	// Finished whatever the outcome: rows may have gone out before a
	// failure.
	if _, aerr := e.Identity.FinishExport(context.WithoutCancel(ctx), entry.ID, res.Rows); aerr != nil {
		err = errors.Join(err, fmt.Errorf("record the export's rows in the audit log: %w", aerr))
	}
	if e.Log != nil {
		e.Log.Info("csv export", "kind", kind, "rows", res.Rows, "masked", res.Masked, "elapsed", res.Elapsed, "error", err)
	}
	return res, err
}

// cellWriter writes rows with every cell neutralised and counts them.
type cellWriter struct {
	w    *csv.Writer
	rows int64
	rec  []string
}

func (c *cellWriter) header(h []string) error { return c.w.Write(h) }

func (c *cellWriter) write(cells ...string) error {
	c.rec = c.rec[:0]
	for _, v := range cells {
		c.rec = append(c.rec, Neutralize(v))
	}
	c.rows++
	return c.w.Write(c.rec)
}

func (e *Engine) exportProducts(ctx context.Context, w *cellWriter, opt ExportOptions) error {
	if err := w.header(ProductHeader); err != nil {
		return err
	}
	cursor := ""
	for {
		l, err := e.Catalog.AdminProducts(ctx, catalogapi.AdminListParams{Cursor: cursor, Limit: pageSize})
		if err != nil {
			return fmt.Errorf("list products: %w", err)
		}
		for _, p := range l.Items {
			if err := writeProduct(w, p); err != nil {
				return err
			}
		}
		if opt.Progress != nil {
			opt.Progress(w.rows)
		}
		if l.NextCursor == "" {
			return nil
		}
		cursor = l.NextCursor
	}
}

// writeProduct writes a product as Shopify lays one out: the product's
// fields on its first row, a variant per row, images beyond the variants'
// count on rows of their own.
func writeProduct(w *cellWriter, p catalogapi.Product) error {
	n := max(len(p.Variants), len(p.Images))
	for i := range n {
		cells := make([]string, len(ProductHeader))
		cells[0] = p.Slug
		if i == 0 {
			cells[1], cells[2], cells[3] = p.Title, p.Description, string(p.Status)
			cells[4], cells[5], cells[6] = p.Attributes["vendor"], p.Attributes["type"], p.Attributes["tags"]
			for j, o := range p.Options {
				if j < 3 {
					cells[7+2*j] = o.Name
				}
			}
		}
		if i < len(p.Variants) {
			v := p.Variants[i]
			for j, o := range p.Options {
				if j < 3 {
					cells[8+2*j] = v.Options[o.Name]
				}
			}
			cells[13], cells[14], cells[15] = v.SKU, FormatPrice(v.Price.Amount, v.Price.Currency), v.Price.Currency
			if v.CostPrice != nil {
				cells[18] = FormatPrice(*v.CostPrice, v.Price.Currency)
			}
		}
		if i < len(p.Images) {
			cells[16], cells[17] = p.Images[i].URL, p.Images[i].Alt
		}
		if err := w.write(cells...); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) exportStock(ctx context.Context, w *cellWriter, opt ExportOptions) error {
	if err := w.header(StockHeader); err != nil {
		return err
	}
	cursor := ""
	for {
		l, err := e.Inventory.List(ctx, inventoryapi.ListParams{Cursor: cursor, Limit: pageSize})
		if err != nil {
			return fmt.Errorf("list stock: %w", err)
		}
		for _, s := range l.Items {
			for _, loc := range s.Locations {
				if err := w.write(s.SKU, loc.Location, i64(loc.OnHand), i64(loc.Reserved), i64(loc.Available), i64(s.LowStockThreshold)); err != nil {
					return err
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress(w.rows)
		}
		if l.NextCursor == "" {
			return nil
		}
		cursor = l.NextCursor
	}
}

func (e *Engine) exportOrders(ctx context.Context, w *cellWriter, opt ExportOptions) error {
	if err := w.header(OrderHeader); err != nil {
		return err
	}
	mask := func(s string) string {
		if opt.Unmasked {
			return s
		}
		return MaskText(s)
	}
	cursor := ""
	for {
		l, err := e.Orders.List(ctx, orderapi.ListParams{Cursor: cursor, Limit: pageSize})
		if err != nil {
			return fmt.Errorf("list orders: %w", err)
		}
		for _, o := range l.Items {
			email := o.Email
			if !opt.Unmasked {
				email = MaskEmail(email)
			}
			a := o.ShippingAddress
			addr := strings.TrimSpace(a.Line1 + " " + a.Line2)
			for _, ln := range o.Lines {
				err := w.write(o.ID, o.CreatedAt.UTC().Format(time.RFC3339), string(o.Status), email, mask(a.Name), mask(addr),
					a.City, mask(a.PostalCode), a.Country, o.Currency, ln.SKU, ln.Title, i64(ln.Quantity),
					FormatPrice(ln.UnitPrice.Amount, ln.UnitPrice.Currency), FormatPrice(ln.Total.Amount, ln.Total.Currency),
					FormatPrice(o.Subtotal.Amount, o.Currency), FormatPrice(o.Discount.Amount, o.Currency),
					FormatPrice(o.Shipping.Amount, o.Currency), FormatPrice(o.Tax.Amount, o.Currency),
					FormatPrice(o.Total.Amount, o.Currency), FormatPrice(o.Refunded.Amount, o.Currency))
				if err != nil {
					return err
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress(w.rows)
		}
		if l.NextCursor == "" {
			return nil
		}
		cursor = l.NextCursor
	}
}

// CustomerHeader is the header of a customer export, which the customer
// import reads back (when unmasked).
var CustomerHeader = []string{"email", "name", "phone", "email_verified", "created_at"}

// exportCustomers writes the customers as the identity service shows them
// to the caller: masked unless the caller may see them, and then only if
// asked. It returns whether they went out masked.
func (e *Engine) exportCustomers(ctx context.Context, w *cellWriter, opt ExportOptions) (bool, error) {
	if err := w.header(CustomerHeader); err != nil {
		return true, err
	}
	masked := !opt.Unmasked
	cursor := ""
	for {
		l, err := e.Identity.ListCustomers(ctx, cursor, pageSize)
		if err != nil {
			return true, fmt.Errorf("list customers: %w", err)
		}
		for _, c := range l.Items {
			email, name, phone := c.Email, c.Name, c.Phone
			if !opt.Unmasked && !l.Masked {
				// Visible to the caller, but not asked for: masked here.
				email, name, phone = MaskEmail(email), MaskText(name), maskPhone(phone)
			}
			masked = masked || l.Masked
			if err := w.write(email, name, phone, strconv.FormatBool(c.EmailVerified), c.CreatedAt.UTC().Format(time.RFC3339)); err != nil {
				return true, err
			}
		}
		if opt.Progress != nil {
			opt.Progress(w.rows)
		}
		if l.NextCursor == "" {
			return masked, nil
		}
		cursor = l.NextCursor
	}
}

func maskPhone(p string) string {
	if p == "" {
		return ""
	}
	return maskTail(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p))
}

// MaskText keeps the first character of each word of s and stars the rest:
// "Ada Lovelace" → "A** L*******"; digits are starred too.
func MaskText(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		switch {
		case r == ' ' || r == ',' || r == '-':
			b.WriteRune(r)
			start = true
		case start && !(r >= '0' && r <= '9'):
			b.WriteRune(r)
			start = false
		default:
			b.WriteByte('*')
			start = false
		}
	}
	return b.String()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
