package csvio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
)

// stockImporter sets the stock on hand of a SKU at a location to the
// file's number, through inventory adjustments of the difference.
type stockImporter struct {
	inv Inventory
	run string // the import's run ID, in every idempotency key
}

func (*stockImporter) aliases() map[string]string {
	return map[string]string{
		"sku": "sku", "variant_sku": "sku",
		"on_hand": "on_hand", "quantity": "on_hand", "qty": "on_hand", "stock": "on_hand",
		"variant_inventory_qty": "on_hand", "inventory_quantity": "on_hand",
		"location": "location",
	}
}

func (*stockImporter) allow() map[string]Allowed { return nil }

func (*stockImporter) check(src *source) error {
	if !src.has("sku") || !src.has("on_hand") {
		return errors.New("a stock file needs a sku column and an on_hand (or quantity) column")
	}
	return nil
}

func (*stockImporter) key(row) string { return "" }

// shard: the rows of one SKU are applied in file order, by one worker.
func (*stockImporter) shard(r row) string { return r.get("sku") }

// skip: a row with neither SKU nor quantity (a Shopify image row).
func (*stockImporter) skip(r row) bool { return r.get("sku") == "" && r.get("on_hand") == "" }

var (
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	locationPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// maxStock is the most units the inventory takes in one adjustment.
const maxStock = 1_000_000

func (s *stockImporter) apply(ctx context.Context, rec record, dry bool) (outcome, []Issue, error) {
	r := rec.rows[0]
	sku, qty, loc := r.get("sku"), r.get("on_hand"), r.get("location")
	var issues []Issue
	if sku == "" || len(sku) > 64 || !skuPattern.MatchString(sku) {
		issues = append(issues, Issue{r.n, "sku", sku, "a SKU is required: up to 64 letters, digits, '.', '_' and '-'"})
	}
	n, err := strconv.ParseInt(qty, 10, 64)
	if err != nil || n < 0 || n > maxStock {
		issues = append(issues, Issue{r.n, "on_hand", qty, fmt.Sprintf("a whole number of units from 0 to %d is required", maxStock)})
	}
	if loc == "" {
		loc = "default"
	}
	if len(loc) > 64 || !locationPattern.MatchString(loc) {
		issues = append(issues, Issue{r.n, "location", loc, "a location code: lower-case letters, digits, '_' and '-'"})
	}
	if len(issues) > 0 {
		return refused, issues, nil
	}
	level, err := s.inv.Stock(ctx, sku)
	found := false
	if err != nil && !errors.Is(err, inventoryapi.ErrNotFound) {
		is, err := refusal(err, r.n, func(string) string { return "sku" })
		return refused, is, err
	}
	var have int64
	for _, l := range level.Locations {
		if l.Location == loc {
			have, found = l.OnHand, true
		}
	}
	delta := n - have
	switch {
	case delta == 0:
		return unchanged, nil, nil
	case delta > maxStock || delta < -maxStock:
		return refused, []Issue{{r.n, "on_hand", qty, fmt.Sprintf("a change of more than %d units at once", maxStock)}}, nil
	case dry:
	default:
		// The key names this run, this row and the change from what was
		// read to what is wanted: a retried request adjusts once, while
		// the same change again (later in the file, or in another run)
		// is applied, not answered from the first one. A second import of
		// the same file finds nothing to change and sends nothing.
		sum := sha256.Sum256(fmt.Appendf(nil, "csv-stock\x00%s\x00%d\x00%s\x00%s\x00%d\x00%d", s.run, r.n, sku, loc, have, n))
		_, err := s.inv.Adjust(ctx, sku, inventoryapi.Adjustment{Delta: delta, Reason: "csv import", Location: loc,
			Reference: "csv import"}, "csv-stock-"+hex.EncodeToString(sum[:16]))
		if err != nil {
			is, err := refusal(err, r.n, func(string) string { return "on_hand" })
			return refused, is, err
		}
	}
	if !found {
		return created, nil, nil
	}
	return updated, nil, nil
}
