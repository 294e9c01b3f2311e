package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the inventory's authorization table: the staff roles that may
// call each operation, by huma OperationID; the platform enforces it
// (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. Reservations and restocks are the
// order service's steps (it calls with the service token): no staff role
// drives them by hand; people change stock with adjustments.
var access = map[string][]auth.Role{
	"admin-reserve-stock":       {},
	"admin-commit-reservation":  {},
	"admin-release-reservation": {},
	"admin-restock":             {},
	"admin-get-reservation":     {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-list-stock":          {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-inventory-audit":     {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-list-movements":      {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-get-stock":           {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"admin-adjust-stock":        {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
	"admin-set-stock-threshold": {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
}

// Routes registers the inventory's operations: the public availability a
// shopper may read (GET /api/v1/availability), and the admin operations,
// all guarded by their roles in access (other services call them with the
// token the platform's client adds). The ledger is GET /api/v1/admin/inventory/movements?sku=…: a path
// /inventory/{sku}/movements would overlap the fixed paths under
// /inventory/. For the same reason the SKUs "audit" and "movements" cannot
// be read through GET /inventory/{sku}, and an order's reservation is under
// /inventory/orders/{order_id}/reservation: its first path,
// /inventory/reservations/{order_id}, was ambiguous with
// /inventory/{sku}/adjustments (and still answers, out of the document).
func (s *Service) Routes(api *web.API) {
	api.Tag("inventory admin", "Stock per SKU and location: levels, adjustments, low-stock thresholds, the "+
		"movement ledger, and the reservations the checkout holds for orders. Stock never goes negative.")
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"inventory admin"}
		// A copy: web.Roles keeps the slice; none is the tokens' only.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	api.Tag("inventory", "Whether a SKU can be bought, as a shopper may know it: in stock, a few left (with how "+
		"many) or sold out. Anyone may read it; stock levels stay on the admin API.")
	huma.Register(api, web.Public(huma.Operation{
		OperationID: "get-availability",
		Method:      http.MethodGet,
		Path:        "/api/v1/availability",
		Summary:     "Tell whether SKUs can be bought",
		Description: "For each sku asked (repeat the parameter, at most 100): in_stock, few_left with available " +
			"(the units one order line can get, told only at or below the SKU's low-stock threshold or 5) or " +
			"sold_out, which a SKU never stocked is too. Items come in the order asked, once per SKU; no sku, no items.",
		Tags: []string{"inventory"},
	}), s.getAvailability)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-reserve-stock",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/inventory/reservations",
		Summary:     "Reserve stock for an order",
		Description: "Holds every line or none: each line from the default location if it has enough, else from " +
			"any single location that does. Idempotent on order_id: a repeat answers 200 with the existing " +
			"reservation, a new one 201. A line no location can serve answers 409 out_of_stock naming the SKU " +
			"(errors[0].value) and what is available (errors[0].message \"only N available\").",
		DefaultStatus: http.StatusCreated,
	}), ansOutOfStock, ansConflict), s.reserve)
	web.Moved(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-reservation",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/inventory/orders/{order_id}/reservation",
		Summary:     "Get an order's reservation",
		Description: "The order's reservation with its lines, where each is held, its status (held, committed, " +
			"released, expired) and its expiry.",
	}), ansReservationNotFound), "/api/v1/admin/inventory/reservations/{order_id}", s.getReservation)
	web.Moved(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-commit-reservation",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/inventory/orders/{order_id}/reservation/commit",
		Summary:     "Commit a reservation (order confirmed)",
		Description: "Takes the held units off the shelf. Idempotent: a committed reservation answers 200 as it is. " +
			"A released or expired one (or a held one past its expiry) answers 409 reservation_closed.",
	}), ansReservationNotFound, ansReservationClosed, ansConflict), "/api/v1/admin/inventory/reservations/{order_id}/commit", s.commit)
	web.Moved(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-release-reservation",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/inventory/orders/{order_id}/reservation/release",
		Summary:     "Release a reservation (order cancelled, payment failed)",
		Description: "Frees the held units. Idempotent: a released or expired reservation answers 200 as it is. " +
			"A committed one answers 409 reservation_closed: return its units with a restock.",
	}), ansReservationNotFound, ansReservationClosed, ansConflict), "/api/v1/admin/inventory/reservations/{order_id}/release", s.release)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-restock",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/inventory/restocks",
		Summary:     "Put returned units back on hand",
		Description: "Idempotent on reference (e.g. the return ID): the first request answers 201 with applied " +
			"true, repeats 200 with applied false and change nothing.",
		DefaultStatus: http.StatusCreated,
	}), ansConflict), s.restock)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-list-stock",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/inventory",
		Summary:     "List stock levels by SKU",
		Description: "A page at a time, by SKU: pass next_cursor back as cursor. low=true lists only SKUs at or below their threshold.",
	}), ansInvalidCursor), s.list)
	huma.Register(api, adm(huma.Operation{
		OperationID: "admin-inventory-audit",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/inventory/audit",
		Summary:     "Count violations of the inventory's invariants",
		Description: "Counts what must be zero: stock below zero or reserved above on hand, levels that differ from " +
			"their movement ledger or from the held reservations, and held reservations past their expiry (which the " +
			"sweeper releases within its interval). For monitoring.",
	}), s.audit)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-list-movements",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/inventory/movements",
		Summary:     "List the stock ledger, newest first",
		Description: "Every change of on_hand or reserved with its reason and reference. sku restricts it to one SKU.",
	}), ansInvalidCursor), s.movements)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-stock",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/inventory/{sku}",
		Summary:     "Get a SKU's stock level",
		Description: "On hand, reserved and available units of the SKU, in total and per location, with its low-stock threshold.",
	}), ansStockNotFound), s.getStock)
	// A SKU's stock is created by its first adjustment or threshold.
	huma.Register(api, web.Answers(web.PathMayNotExist(adm(huma.Operation{
		OperationID: "admin-adjust-stock",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/inventory/{sku}/adjustments",
		Summary:     "Adjust a SKU's stock on hand",
		Description: "Adds (delta > 0) or takes off (delta < 0) units at a location (default \"default\", created on " +
			"first use). Taking on_hand below what is reserved there answers 409 insufficient_stock.",
	})), ansInsufficientStock, ansConflict), s.adjust)
	huma.Register(api, web.Answers(web.PathMayNotExist(adm(huma.Operation{
		OperationID: "admin-set-stock-threshold",
		Method:      http.MethodPut,
		Path:        "/api/v1/admin/inventory/{sku}/threshold",
		Summary:     "Set a SKU's low-stock threshold",
		Description: "When available stock falls to or below the threshold, inventory.stock_low.v1 is announced " +
			"and the SKU is listed by GET /api/v1/admin/inventory?low=true.",
	})), ansConflict), s.setThreshold)
}

// The answers of inventory operations beyond the platform's (see problems).
var (
	ansOutOfStock          = web.Answer{Status: http.StatusConflict, Code: "out_of_stock", When: "no location has enough of a line: errors[0] names the SKU and what is available"}
	ansInsufficientStock   = web.Answer{Status: http.StatusConflict, Code: "insufficient_stock", When: "on hand would fall below what is reserved at the location"}
	ansReservationNotFound = web.Answer{Status: http.StatusNotFound, Code: "reservation_not_found", When: "the order has no reservation"}
	ansReservationClosed   = web.Answer{Status: http.StatusConflict, Code: "reservation_closed", When: "the reservation is no longer held (committed, released or expired)"}
	ansStockNotFound       = web.Answer{Status: http.StatusNotFound, Code: "stock_not_found", When: "no stock was ever recorded for the SKU"}
	ansInvalidCursor       = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
	ansConflict            = web.Answer{Status: http.StatusConflict, Code: web.CodeConflict, When: "a concurrent change got there first: send the request again"}
)

type orderPath struct {
	OrderID string `path:"order_id" minLength:"1" maxLength:"100"`
}

type skuPath struct {
	SKU string `path:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
}

type reservationOutput struct {
	Status int
	Body   inventoryapi.Reservation
}

type stockOutput struct {
	Body inventoryapi.StockLevel
}

func (s *Service) reserve(ctx context.Context, in *struct {
	Body inventoryapi.ReserveRequest
}) (*reservationOutput, error) {
	res, created, err := s.Reserve(ctx, in.Body)
	if err != nil {
		return nil, problem(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &reservationOutput{Status: status, Body: res}, nil
}

func (s *Service) getReservation(ctx context.Context, in *orderPath) (*reservationOutput, error) {
	res, err := s.Reservation(ctx, in.OrderID)
	if err != nil {
		return nil, problem(err)
	}
	return &reservationOutput{Status: http.StatusOK, Body: res}, nil
}

func (s *Service) commit(ctx context.Context, in *orderPath) (*reservationOutput, error) {
	res, err := s.Commit(ctx, in.OrderID)
	if err != nil {
		return nil, problem(err)
	}
	return &reservationOutput{Status: http.StatusOK, Body: res}, nil
}

func (s *Service) release(ctx context.Context, in *struct {
	OrderID string                       `path:"order_id" minLength:"1" maxLength:"100"`
	Body    *inventoryapi.ReleaseRequest `required:"false"`
}) (*reservationOutput, error) {
	var reason string
	if in.Body != nil {
		reason = in.Body.Reason
	}
	res, err := s.Release(ctx, in.OrderID, reason)
	if err != nil {
		return nil, problem(err)
	}
	return &reservationOutput{Status: http.StatusOK, Body: res}, nil
}

func (s *Service) restock(ctx context.Context, in *struct {
	Body inventoryapi.RestockRequest
}) (*struct {
	Status int
	Body   inventoryapi.RestockResult
}, error) {
	applied, err := s.Restock(ctx, in.Body)
	if err != nil {
		return nil, problem(err)
	}
	status := http.StatusOK
	if applied {
		status = http.StatusCreated
	}
	return &struct {
		Status int
		Body   inventoryapi.RestockResult
	}{Status: status, Body: inventoryapi.RestockResult{Reference: in.Body.Reference, Applied: applied}}, nil
}

func (s *Service) getAvailability(ctx context.Context, in *struct {
	SKU []string `query:"sku,explode" maxItems:"100" doc:"A SKU; repeat for more."`
}) (*struct{ Body inventoryapi.AvailabilityList }, error) {
	l, err := s.Availability(ctx, in.SKU)
	if err != nil {
		return nil, problem(err)
	}
	return &struct{ Body inventoryapi.AvailabilityList }{Body: l}, nil
}

type listInput struct {
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (200) is capped."`
	Low    bool   `query:"low" doc:"Only SKUs at or below their low-stock threshold."`
}

func (s *Service) list(ctx context.Context, in *listInput) (*struct{ Body inventoryapi.StockList }, error) {
	l, err := s.List(ctx, ListQuery{Cursor: in.Cursor, Limit: in.Limit, Low: in.Low})
	if err != nil {
		return nil, problem(err)
	}
	return &struct{ Body inventoryapi.StockList }{Body: l}, nil
}

type movementsInput struct {
	SKU    string `query:"sku" maxLength:"64" pattern:"^([A-Za-z0-9][A-Za-z0-9._-]*)?$" doc:"Only this SKU's movements."`
	Cursor string `query:"cursor" maxLength:"100" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (200) is capped."`
}

func (s *Service) movements(ctx context.Context, in *movementsInput) (*struct{ Body inventoryapi.MovementList }, error) {
	l, err := s.Movements(ctx, ListQuery{Cursor: in.Cursor, Limit: in.Limit, SKU: in.SKU})
	if err != nil {
		return nil, problem(err)
	}
	return &struct{ Body inventoryapi.MovementList }{Body: l}, nil
}

func (s *Service) audit(ctx context.Context, _ *struct{}) (*struct{ Body inventoryapi.Audit }, error) {
	a, err := s.Audit(ctx)
	if err != nil {
		return nil, problem(err)
	}
	return &struct{ Body inventoryapi.Audit }{Body: a}, nil
}

func (s *Service) getStock(ctx context.Context, in *skuPath) (*stockOutput, error) {
	l, err := s.Stock(ctx, in.SKU)
	if err != nil {
		return nil, problem(err)
	}
	return &stockOutput{Body: l}, nil
}

func (s *Service) adjust(ctx context.Context, in *struct {
	SKU  string `path:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	Body inventoryapi.Adjustment
}) (*stockOutput, error) {
	l, err := s.Adjust(ctx, in.SKU, in.Body)
	if err != nil {
		return nil, problem(err)
	}
	return &stockOutput{Body: l}, nil
}

func (s *Service) setThreshold(ctx context.Context, in *struct {
	SKU  string `path:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	Body inventoryapi.Threshold
}) (*stockOutput, error) {
	l, err := s.SetThreshold(ctx, in.SKU, in.Body.Threshold)
	if err != nil {
		return nil, problem(err)
	}
	return &stockOutput{Body: l}, nil
}

// problems maps the service's errors to HTTP answers, with problem:
// the one place that does. Anything not listed is returned as it is: the
// web platform answers a bare 500 (no internal text) and logs the cause
// once.
var problems = kit.Problems{
	{Err: ErrStockNotFound, Status: http.StatusNotFound, Code: "stock_not_found", Detail: "no stock was ever recorded for this SKU"},
	{Err: ErrReservationNotFound, Status: http.StatusNotFound, Code: "reservation_not_found", Detail: "no reservation for this order"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "the reservation changed concurrently; retry"},
}

// problem answers the errors whose answer needs their data (what is out
// of stock, what is on hand, how a reservation ended), and the rest by
// problems.
func problem(err error) error {
	var oos *OutOfStockError
	if errors.As(err, &oos) {
		msg := fmt.Sprintf("only %d available", oos.Available)
		return web.Error(http.StatusConflict, "out_of_stock",
			fmt.Sprintf("%s is out of stock: %d requested, %s", oos.SKU, oos.Requested, msg),
			web.Field(fmt.Sprintf("lines[%d].sku", oos.Index), msg, oos.SKU))
	}
	var ise *InsufficientStockError
	if errors.As(err, &ise) {
		return web.Error(http.StatusConflict, "insufficient_stock",
			fmt.Sprintf("%s at %s has %d on hand and %d reserved: on hand cannot change by %d", ise.SKU, ise.Location, ise.OnHand, ise.Reserved, ise.Delta),
			web.Field("body.delta", fmt.Sprintf("at least %d", ise.Reserved-ise.OnHand), ise.Delta))
	}
	if errors.Is(err, ErrReservationClosed) {
		return web.Error(http.StatusConflict, "reservation_closed", closedDetail(err))
	}
	return problems.Map(err)
}

// closedDetail says how a closed reservation ended.
func closedDetail(err error) string {
	var ce *ClosedError
	if errors.As(err, &ce) && ce.Status == inventoryapi.StatusCommitted {
		return "the reservation was committed: return its stock with a restock"
	}
	if errors.As(err, &ce) {
		return "the reservation is " + ce.Status + ": its stock is no longer held"
	}
	return "the reservation is no longer held"
}
