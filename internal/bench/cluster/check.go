package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The checks read the services' schemas directly, read-only, as the
// database's superuser (row-level security does not apply to it). Service
// names are schema names; "order" needs its quotes.

// WatchConnections samples the connections to the cluster's database
// (pg_stat_activity) every 200 ms until ctx ends; peak returns the most
// seen at once.
func (c *Cluster) WatchConnections(ctx context.Context) (peak func() int) {
	var mu sync.Mutex
	most := 0
	go func() {
		for ctx.Err() == nil {
			var n int
			if err := c.admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", c.dbName).Scan(&n); err == nil {
				mu.Lock()
				most = max(most, n)
				mu.Unlock()
			}
			sleep(ctx, 200*time.Millisecond)
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

// unsettled counts orders still in a saga state, payments pending or with an
// authorization of unknown outcome, and
// unpublished outbox rows of every schema.
func (c *Cluster) unsettled(ctx context.Context) (orders, outbox int, err error) {
	if err = c.DB.QueryRowContext(ctx, `SELECT count(*) FROM "order".orders WHERE status NOT IN ('confirmed', 'cancelled')`).Scan(&orders); err != nil {
		return 0, 0, fmt.Errorf("count unsettled orders: %w", err)
	}
	// A payment left pending (its order gave up on the authorization), or
	// failed with its authorization's outcome unknown (auth_open: the answer
	// was lost to a fault), is settled by the payment service's sweep after
	// -payment.pending-lease, which voids what the provider holds: part of
	// settling.
	var payments int
	if err = c.DB.QueryRowContext(ctx, `SELECT count(*) FROM payment.payments WHERE status = 'pending' OR auth_open = 1`).Scan(&payments); err != nil {
		return 0, 0, fmt.Errorf("count pending payments: %w", err)
	}
	orders += payments
	pending, err := c.pendingOutbox(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, n := range pending {
		outbox += n
	}
	return orders, outbox, nil
}

// pendingOutbox counts unpublished outbox rows per schema.
func (c *Cluster) pendingOutbox(ctx context.Context) (map[string]int, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list outboxes: %w", err)
	}
	var schemas []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		schemas = append(schemas, s)
	}
	rows.Close()
	out := map[string]int{}
	for _, s := range schemas {
		var n int
		if err := c.DB.QueryRowContext(ctx, `SELECT count(*) FROM "`+s+`".outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s's outbox: %w", s, err)
		}
		out[s] = n
	}
	return out, nil
}

// Settle waits until no order is in a saga state and every outbox is
// drained, and returns how long that took.
func (c *Cluster) Settle(ctx context.Context, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	var orders, outbox int
	var err error
	werr := waitFor(ctx, limit, func() bool {
		orders, outbox, err = c.unsettled(ctx)
		return err == nil && orders == 0 && outbox == 0
	})
	if err != nil {
		return time.Since(t0), err
	}
	if werr != nil {
		return time.Since(t0), fmt.Errorf("%d orders in a saga state or payments pending, and %d events unpublished, after %s", orders, outbox, limit)
	}
	return time.Since(t0), nil
}

// Check is one invariant's outcome.
type Check struct {
	OK   bool
	Text string
}

// Report is what the checks found.
type Report struct {
	Checks               []Check
	Orders               int // every order in the order service
	Confirmed, Cancelled int
	// Unanswered counts confirmed orders whose checkout never got its 201
	// (the client gave up after its retries).
	Unanswered int
}

// Failed counts the checks that failed.
func (r Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// Write prints the checks, one a line.
func (r Report) Write(w io.Writer) {
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, c.Text)
	}
}

func (r *Report) add(ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{OK: ok, Text: fmt.Sprintf(format, args...)})
}

type orderRow struct {
	status string
	units  map[string]int64
}

func (c *Cluster) queryStrings(ctx context.Context, q string, args ...any) ([][]string, error) {
	rows, err := c.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Fields(q)[0:min(6, len(strings.Fields(q)))], err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// Check verifies the invariants of a run that sold stock: it reads the
// order, inventory, payment, invoice and analytics schemas, and the orders
// that answered 201 through the order API.
func (c *Cluster) Check(ctx context.Context, load *Load, stock *Stock) (Report, error) {
	var r Report
	// Orders.
	rows, err := c.queryStrings(ctx, `SELECT id, status, lines FROM "order".orders`)
	if err != nil {
		return r, err
	}
	orders := map[string]orderRow{}
	for _, row := range rows {
		var lines []struct {
			SKU      string `json:"sku"`
			Quantity int64  `json:"quantity"`
		}
		if err := json.Unmarshal([]byte(row[2]), &lines); err != nil {
			return r, fmt.Errorf("order %s's lines: %w", row[0], err)
		}
		o := orderRow{status: row[1], units: map[string]int64{}}
		for _, l := range lines {
			o.units[l.SKU] += l.Quantity
		}
		orders[row[0]] = o
		switch o.status {
		case "confirmed":
			r.Confirmed++
		case "cancelled":
			r.Cancelled++
		}
	}
	r.Orders = len(orders)
	created := load.Created()
	missing, unreadable, unsettled := 0, 0, 0
	cl := c.Client()
	for id := range created {
		o, ok := orders[id]
		if !ok {
			missing++
			continue
		}
		if o.status != "confirmed" && o.status != "cancelled" {
			unsettled++
		}
		var got struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if _, err := cl.Do(ctx, "order", http.MethodGet, "/api/v1/admin/orders/"+url.PathEscape(id), nil, &got); err != nil || got.ID != id || got.Status != o.status {
			unreadable++
		}
	}
	for id, o := range orders {
		if _, ok := created[id]; !ok && o.status == "confirmed" {
			r.Unanswered++
		}
	}
	r.add(missing == 0 && unreadable == 0, "every order that answered 201 is stored and readable through the API (%d of %d missing, %d unreadable)", missing, len(created), unreadable)
	r.add(unsettled == 0 && r.Confirmed+r.Cancelled == r.Orders, "every order ended confirmed or cancelled (%d confirmed, %d cancelled, %d of %d in a saga state)",
		r.Confirmed, r.Cancelled, r.Orders-r.Confirmed-r.Cancelled, r.Orders)

	// Stock.
	confirmedUnits := map[string]int64{}
	for _, o := range orders {
		if o.status == "confirmed" {
			for sku, q := range o.units {
				confirmedUnits[sku] += q
			}
		}
	}
	rows, err = c.queryStrings(ctx, `SELECT sku, sum(on_hand), sum(reserved), min(on_hand - reserved) FROM inventory.stock GROUP BY sku`)
	if err != nil {
		return r, err
	}
	type level struct{ onHand, reserved, minAvail int64 }
	levels := map[string]level{}
	for _, row := range rows {
		var l level
		fmt.Sscan(row[1], &l.onHand)
		fmt.Sscan(row[2], &l.reserved)
		fmt.Sscan(row[3], &l.minAvail)
		levels[row[0]] = l
	}
	var oversold, leftReserved, negative []string
	for _, sku := range stock.SKUs {
		l := levels[sku]
		if stock.Initial[sku] != l.onHand+confirmedUnits[sku] {
			oversold = append(oversold, fmt.Sprintf("%s: %d given, %d on hand, %d in confirmed orders", sku, stock.Initial[sku], l.onHand, confirmedUnits[sku]))
		}
		if l.reserved != 0 {
			leftReserved = append(leftReserved, fmt.Sprintf("%s: %d", sku, l.reserved))
		}
		if l.minAvail < 0 {
			negative = append(negative, sku)
		}
	}
	r.add(len(oversold) == 0, "per SKU, the stock given = on hand + units of confirmed orders (%d of %d SKUs differ) %s", len(oversold), len(stock.SKUs), strings.Join(oversold, "; "))
	r.add(len(leftReserved) == 0 && len(negative) == 0, "nothing left reserved, nothing available below zero (%d SKUs reserved, %d negative) %s", len(leftReserved), len(negative), strings.Join(leftReserved, "; "))
	rows, err = c.queryStrings(ctx, `SELECT s.sku FROM inventory.stock s LEFT JOIN
		(SELECT tenant_id, sku, location, sum(delta_on_hand) AS oh, sum(delta_reserved) AS rs FROM inventory.movements GROUP BY 1, 2, 3) m
		ON m.tenant_id = s.tenant_id AND m.sku = s.sku AND m.location = s.location
		WHERE coalesce(m.oh, 0) <> s.on_hand OR coalesce(m.rs, 0) <> s.reserved`)
	if err != nil {
		return r, err
	}
	r.add(len(rows) == 0, "stock agrees with the movement ledger (%d rows differ)", len(rows))
	rows, err = c.queryStrings(ctx, `SELECT order_id, status FROM inventory.reservations`)
	if err != nil {
		return r, err
	}
	var badRes []string
	for _, row := range rows {
		o, ok := orders[row[0]]
		want := map[string][]string{"confirmed": {"committed"}, "cancelled": {"released", "expired"}}[o.status]
		if ok && !slices.Contains(want, row[1]) {
			badRes = append(badRes, row[0]+" "+o.status+"/"+row[1])
		}
	}
	committed := 0
	for _, row := range rows {
		if row[1] == "committed" {
			committed++
		}
	}
	r.add(len(badRes) == 0 && committed == r.Confirmed, "a committed reservation per confirmed order, none held for a settled one (%d committed for %d confirmed, %d wrong) %s",
		committed, r.Confirmed, len(badRes), strings.Join(first(badRes, 5), "; "))

	// Payments.
	rows, err = c.queryStrings(ctx, `SELECT p.order_id, p.status, p.provider_ref, p.captured,
		(SELECT count(*) FROM payment.payment_operations o WHERE o.tenant_id = p.tenant_id AND o.payment_id = p.id AND o.kind = 'authorize' AND o.status = 'succeeded'),
		(SELECT count(*) FROM payment.payment_operations o WHERE o.tenant_id = p.tenant_id AND o.payment_id = p.id AND o.kind = 'capture' AND o.status = 'succeeded')
		FROM payment.payments p`)
	if err != nil {
		return r, err
	}
	paid := map[string]int{}
	var badPay, capturedTwice, heldForCancelled []string
	confirmedRefs := map[string]bool{}
	for _, row := range rows {
		id, status, ref := row[0], row[1], row[2]
		paid[id]++
		o := orders[id]
		if row[5] != "0" && row[5] != "1" {
			capturedTwice = append(capturedTwice, id)
		}
		switch o.status {
		case "confirmed":
			confirmedRefs[ref] = true
			if status != "authorized" || row[4] != "1" {
				badPay = append(badPay, fmt.Sprintf("%s %s with %s authorizations", id, status, row[4]))
			}
		case "cancelled":
			if status != "failed" && status != "voided" {
				heldForCancelled = append(heldForCancelled, id+" "+status)
			}
		}
	}
	for id, o := range orders {
		if o.status == "confirmed" && paid[id] != 1 {
			badPay = append(badPay, fmt.Sprintf("%s has %d payments", id, paid[id]))
		}
	}
	r.add(len(badPay) == 0, "exactly one authorization per confirmed order (%d wrong) %s", len(badPay), strings.Join(first(badPay, 5), "; "))
	r.add(len(capturedTwice) == 0, "no payment captured twice (%d)", len(capturedTwice))
	r.add(len(heldForCancelled) == 0, "no cancelled order's payment left authorized (%d) %s", len(heldForCancelled), strings.Join(first(heldForCancelled, 5), "; "))
	rows, err = c.queryStrings(ctx, `SELECT ref FROM payment.fake_authorizations WHERE voided = 0`)
	if err != nil {
		return r, err
	}
	var strayHolds []string
	for _, row := range rows {
		if !confirmedRefs[row[0]] {
			strayHolds = append(strayHolds, row[0])
		}
	}
	r.add(len(strayHolds) == 0 && len(rows) == r.Confirmed, "at the provider, one live authorization per confirmed order and none other (%d live for %d confirmed, %d stray)", len(rows), r.Confirmed, len(strayHolds))

	// Outboxes. Consumers that settled late (an invoice issued from an
	// order event) write events of their own: give their relays a while.
	var pending map[string]int
	_ = waitFor(ctx, 30*time.Second, func() bool {
		pending, err = c.pendingOutbox(ctx)
		if err != nil {
			return true
		}
		for _, n := range pending {
			if n > 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		return r, err
	}
	var undrained []string
	for s, n := range pending {
		if n > 0 {
			undrained = append(undrained, fmt.Sprintf("%s: %d", s, n))
		}
	}
	sort.Strings(undrained)
	r.add(len(undrained) == 0, "every outbox drained (%d schemas) %s", len(pending), strings.Join(undrained, "; "))

	// Effects of consumers, each once: the analytics facts and the
	// invoices. The consumers may still be catching up: wait a while for
	// the counts to meet before judging them.
	var aOrders, aConfirmed, aCommitted, dupInvoices, invoices int
	var wantCommitted int64
	for _, sku := range stock.SKUs {
		wantCommitted += confirmedUnits[sku]
	}
	skuList := "'" + strings.Join(stock.SKUs, "','") + "'"
	_ = waitFor(ctx, 60*time.Second, func() bool {
		q := func(query string, dst *int) {
			if err := c.DB.QueryRowContext(ctx, query).Scan(dst); err != nil {
				*dst = -1
			}
		}
		q(`SELECT count(*) FROM analytics.orders`, &aOrders)
		q(`SELECT count(*) FROM analytics.orders WHERE confirmed = 1`, &aConfirmed)
		q(`SELECT coalesce(-sum(delta), 0) FROM analytics.stock_moves WHERE kind = 'commit' AND sku IN (`+skuList+`)`, &aCommitted)
		q(`SELECT count(*) FROM (SELECT order_id FROM invoice.documents WHERE kind = 'invoice' GROUP BY order_id HAVING count(*) > 1) d`, &dupInvoices)
		q(`SELECT count(*) FROM invoice.documents WHERE kind = 'invoice'`, &invoices)
		return aConfirmed == r.Confirmed && int64(aCommitted) == wantCommitted && dupInvoices == 0
	})
	r.add(aConfirmed == r.Confirmed && int64(aCommitted) == wantCommitted,
		"analytics counted each confirmed order and its units once (%d confirmed of %d orders logged, want %d; %d units committed, want %d)",
		aConfirmed, aOrders, r.Confirmed, aCommitted, wantCommitted)
	r.add(dupInvoices == 0 && invoices <= r.Confirmed, "at most one invoice per order (%d invoices for %d confirmed orders, %d orders with two)", invoices, r.Confirmed, dupInvoices)
	return r, nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
