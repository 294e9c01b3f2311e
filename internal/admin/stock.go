package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) stockRoutes(route routeFunc) {
	route("GET /admin/stock", s.stockList)
	route("GET /admin/stock/{sku}", s.stock)
	route("POST /admin/stock/{sku}/adjust", s.adjustStock)
	route("POST /admin/stock/{sku}/threshold", s.setThreshold)
}

// stockEditors are the roles inventory's access table lets adjust stock
// and set thresholds (admin-adjust-stock, admin-set-stock-threshold).
var stockEditors = []string{"owner", "manager", "staff"}

// skuPattern is the catalog's and inventory's SKU syntax: a path that is no
// SKU is no page.
var skuPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// stockListData is the stock list's own data.
type stockListData struct {
	Items      []inventoryapi.StockLevel
	NextCursor string
	Low        bool
}

// stockList lists stock by SKU; ?low=1 only the SKUs at or below their
// low-stock threshold.
func (s *Service) stockList(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	low := q.Get("low") != ""
	list, err := s.deps.Inventory.List(ctx, inventoryapi.ListParams{Low: low, Cursor: q.Get("cursor"), Limit: 50})
	if apiclient.IsCode(err, "invalid_cursor") {
		target := "/admin/stock"
		if low {
			target += "?low=1"
		}
		s.kit.Redirect(w, r, target, "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Stock")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = stockListData{Items: list.Items, NextCursor: list.NextCursor, Low: low}
	s.kit.Render(w, r, http.StatusOK, "stock-list", v)
}

// stockData is a SKU's stock page's own data.
type stockData struct {
	SKU   string
	Level inventoryapi.StockLevel
	// Recorded is false for a SKU the inventory has no stock of yet (an
	// adjustment records it).
	Recorded   bool
	Movements  []inventoryapi.Movement
	NextCursor string
	CanEdit    bool
	// AdjustForm and ThresholdForm are the forms of the page, one of them
	// shown again with its errors (nil: empty).
	AdjustForm, ThresholdForm *page.Form
}

func (s *Service) stock(w http.ResponseWriter, r *http.Request) {
	ctx, sku, ok := s.stockSKU(w, r)
	if !ok {
		return
	}
	s.renderStock(w, r, ctx, sku, http.StatusOK, nil, "")
}

// stockSKU checks the caller and the SKU of the path.
func (s *Service) stockSKU(w http.ResponseWriter, r *http.Request) (context.Context, string, bool) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return nil, "", false
	}
	sku := r.PathValue("sku")
	if !skuPattern.MatchString(sku) {
		s.kit.NotFound(w, r)
		return nil, "", false
	}
	return ctx, sku, true
}

// renderStock renders a SKU's stock page: its levels, the forms that
// change them, and a page of its ledger, newest first.
func (s *Service) renderStock(w http.ResponseWriter, r *http.Request, ctx context.Context, sku string, status int, f *page.Form, posted string) {
	level, err := s.deps.Inventory.Stock(ctx, sku)
	recorded := true
	if errors.Is(err, inventoryapi.ErrNotFound) {
		recorded, err = false, nil
		level = inventoryapi.StockLevel{SKU: sku}
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	var moves inventoryapi.MovementList
	if recorded {
		moves, err = s.deps.Inventory.Movements(ctx, inventoryapi.ListParams{SKU: sku, Cursor: r.URL.Query().Get("cursor"), Limit: 25})
		if apiclient.IsCode(err, "invalid_cursor") {
			moves, err = s.deps.Inventory.Movements(ctx, inventoryapi.ListParams{SKU: sku, Limit: 25})
		}
		if err != nil {
			s.kit.Fail(w, r, err)
			return
		}
	}
	v, err := s.view(r, "Stock of "+sku)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = f
	d := stockData{SKU: sku, Level: level, Recorded: recorded, Movements: moves.Items, NextCursor: moves.NextCursor,
		CanEdit: v.Can(stockEditors...)}
	switch posted {
	case "adjust":
		d.AdjustForm = f
	case "threshold":
		d.ThresholdForm = f
	}
	v.Data = d
	s.kit.Render(w, r, status, "stock", v)
}

// adjustStock adds units to or takes them off a SKU's stock on hand, with
// the reason the ledger keeps. The form's Idempotency-Key makes a resent
// form adjust once.
func (s *Service) adjustStock(w http.ResponseWriter, r *http.Request) {
	ctx, sku, ok := s.stockSKU(w, r)
	if !ok {
		return
	}
	f := page.ParseForm(w, r)
	delta, err := strconv.ParseInt(f.Get("delta"), 10, 64)
	switch {
	case f.Get("delta") == "":
		f.Fail("delta", "Enter the units to add (like 5) or take off (like -2).")
	case err != nil:
		f.Fail("delta", "Enter a whole number, like 5 or -2.")
	case delta == 0:
		f.Fail("delta", "Enter a change other than 0.")
	case delta > 1_000_000 || delta < -1_000_000:
		f.Fail("delta", "Change at most 1,000,000 units at a time.")
	}
	a := inventoryapi.Adjustment{Delta: delta, Reason: f.Get("reason"), Reference: f.Get("reference")}
	if a.Reason == "" {
		f.Fail("reason", "Say why, for the ledger: a stocktake, a delivery, damage…")
	}
	if f.Invalid() {
		s.renderStock(w, r, ctx, sku, http.StatusUnprocessableEntity, f, "adjust")
		return
	}
	level, err := s.deps.Inventory.Adjust(ctx, sku, a, f.Key())
	if err != nil {
		if f.Refused(err, map[string]string{"delta": "delta", "reason": "reason", "reference": "reference"}) {
			if apiclient.IsCode(err, "insufficient_stock") {
				f.Fail("delta", "On hand cannot fall below what is reserved for orders.")
			}
			s.renderStock(w, r, ctx, sku, http.StatusUnprocessableEntity, f, "adjust")
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/stock/"+url.PathEscape(sku),
		"Stock adjusted by "+strconv.FormatInt(delta, 10)+": "+strconv.FormatInt(level.OnHand, 10)+" on hand.")
}

// setThreshold sets the available stock at or below which a SKU is low.
func (s *Service) setThreshold(w http.ResponseWriter, r *http.Request) {
	ctx, sku, ok := s.stockSKU(w, r)
	if !ok {
		return
	}
	f := page.ParseForm(w, r)
	n, err := strconv.ParseInt(f.Get("threshold"), 10, 64)
	if err != nil || n < 0 || n > 1_000_000 {
		f.Fail("threshold", "Enter a whole number from 0 to 1,000,000.")
		s.renderStock(w, r, ctx, sku, http.StatusUnprocessableEntity, f, "threshold")
		return
	}
	if _, err := s.deps.Inventory.SetThreshold(ctx, sku, n); err != nil {
		if errors.Is(err, inventoryapi.ErrNotFound) && !apiclient.IsStatus(err, http.StatusForbidden) {
			f.Fail("threshold", "This SKU has no stock recorded yet: adjust its stock first.")
			s.renderStock(w, r, ctx, sku, http.StatusUnprocessableEntity, f, "threshold")
			return
		}
		if f.Refused(err, nil) {
			s.renderStock(w, r, ctx, sku, http.StatusUnprocessableEntity, f, "threshold")
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/stock/"+url.PathEscape(sku), "Low-stock threshold set to "+strconv.FormatInt(n, 10)+".")
}
