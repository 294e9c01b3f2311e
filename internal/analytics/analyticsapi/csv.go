package analyticsapi

import (
	"bytes"
	"encoding/csv"
	"strconv"

	"github.com/mercato/mercato/internal/platform/text"
)

// The CSV shape of each report: what GET …/<report>.csv answers and what
// the admin's "Download CSV" links serve. Amounts are minor units.

// EncodeCSV writes rows as CSV. A text cell that a spreadsheet would run
// as a formula (starting with =, +, -, @, tab or carriage return) is
// neutralised with a leading apostrophe; numbers are written as they are.
func EncodeCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, row := range rows {
		out := make([]string, len(row))
		for i, c := range row {
			out[i] = c
			if _, err := strconv.ParseFloat(c, 64); err != nil {
				out[i] = text.CSVCell(c)
			}
		}
		if err := w.Write(out); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// SummaryCSV is a Summary as rows: one per figure, this period and the
// previous.
func SummaryCSV(v Summary) [][]string {
	rows := [][]string{{"figure", "currency", v.From + ".." + v.To, v.PreviousFrom + ".." + v.PreviousTo}}
	c, p := v.Current, v.Previous
	add := func(name string, a, b string) { rows = append(rows, []string{name, v.Currency, a, b}) }
	add("orders", itoa(c.Orders), itoa(p.Orders))
	add("gross", itoa(c.Gross), itoa(p.Gross))
	add("refunded", itoa(c.Refunded), itoa(p.Refunded))
	add("net", itoa(c.Net), itoa(p.Net))
	add("tax", itoa(c.Tax), itoa(p.Tax))
	add("average_order_value", itoa(c.AverageOrderValue), itoa(p.AverageOrderValue))
	add("units", itoa(c.Units), itoa(p.Units))
	add("refunded_orders", itoa(c.RefundedOrders), itoa(p.RefundedOrders))
	add("refund_rate", ftoa(c.RefundRate), ftoa(p.RefundRate))
	add("returned_units", itoa(c.ReturnedUnits), itoa(p.ReturnedUnits))
	add("return_rate", ftoa(c.ReturnRate), ftoa(p.ReturnRate))
	add("new_customers", itoa(c.NewCustomers), itoa(p.NewCustomers))
	add("returning_customers", itoa(c.ReturningCustomers), itoa(p.ReturningCustomers))
	add("cost_of_goods_sold", itoa(c.Turnover.CostOfGoodsSold), itoa(p.Turnover.CostOfGoodsSold))
	add("opening_stock", itoa(c.Turnover.OpeningStock), itoa(p.Turnover.OpeningStock))
	add("closing_stock", itoa(c.Turnover.ClosingStock), itoa(p.Turnover.ClosingStock))
	add("average_stock", itoa(c.Turnover.AverageStock), itoa(p.Turnover.AverageStock))
	add("inventory_turnover", ftoa(c.Turnover.Ratio), ftoa(p.Turnover.Ratio))
	for _, r := range v.Rolling {
		add("gross_last_"+strconv.Itoa(r.Days)+"_days", itoa(r.Gross), "")
		add("net_last_"+strconv.Itoa(r.Days)+"_days", itoa(r.Net), "")
		add("tax_last_"+strconv.Itoa(r.Days)+"_days", itoa(r.Tax), "")
	}
	return rows
}

// SeriesCSV is a Series as rows, one per day.
func SeriesCSV(v Series) [][]string {
	rows := [][]string{{"date", "currency", "orders", "gross", "net", "tax", "units", "gross_7", "net_7", "gross_30", "net_30", "gross_90", "net_90"}}
	for _, d := range v.Items {
		rows = append(rows, []string{d.Date, v.Currency, itoa(d.Orders), itoa(d.Gross), itoa(d.Net), itoa(d.Tax), itoa(d.Units),
			itoa(d.Gross7), itoa(d.Net7), itoa(d.Gross30), itoa(d.Net30), itoa(d.Gross90), itoa(d.Net90)})
	}
	return rows
}

// TopCSV is a TopList as rows, best first.
func TopCSV(what string, v TopList) [][]string {
	rows := [][]string{{what + "_id", "name", "currency", "units", "revenue"}}
	for _, t := range v.Items {
		rows = append(rows, []string{t.ID, t.Name, v.Currency, itoa(t.Units), itoa(t.Revenue)})
	}
	return rows
}

// FunnelCSV is a Funnel as rows, one per step.
func FunnelCSV(v Funnel) [][]string {
	return [][]string{{"step", "carts", "share_of_carts"},
		{"cart_created", itoa(v.CartsCreated), ftoa(min(1, float64(v.CartsCreated)))},
		{"checkout_started", itoa(v.CheckoutsStarted), ftoa(v.CheckoutRate)},
		{"order_confirmed", itoa(v.OrdersConfirmed), ftoa(v.ConversionRate)}}
}

// CustomersCSV is a Customers as rows.
func CustomersCSV(v Customers) [][]string {
	return [][]string{{"customers", v.From + ".." + v.To, "previous period"},
		{"new", itoa(v.New), itoa(v.Previous.New)},
		{"returning", itoa(v.Returning), itoa(v.Previous.Returning)}}
}
