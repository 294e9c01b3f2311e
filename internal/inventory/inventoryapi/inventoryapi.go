// Package inventoryapi is the inventory service's contract: the request and
// response bodies of its REST operations, the payloads of the events it
// publishes, and a typed client for other services (the order service
// reserves, commits, releases and restocks through it).
//
// Fields are only ever added.
package inventoryapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Source is the service name events carry.
const Source = "inventory"

// Event subjects (and types) the inventory publishes.
const (
	SubjectStockLow       = "inventory.stock_low.v1"
	SubjectStockReserved  = "inventory.stock_reserved.v1"
	SubjectStockReleased  = "inventory.stock_released.v1"
	SubjectStockCommitted = "inventory.stock_committed.v1"
	SubjectStockAdjusted  = "inventory.stock_adjusted.v1"
)

// DefaultLocation is the location every tenant has; requests that name no
// location use it.
const DefaultLocation = "default"

// MaxLineQuantity bounds the quantity of one line of a reservation or a
// restock.
const MaxLineQuantity = 10000

// Reservation statuses. held is the only open one: each of the others is
// final.
const (
	StatusHeld      = "held"
	StatusCommitted = "committed"
	StatusReleased  = "released"
	StatusExpired   = "expired"
)

// Movement kinds: why a ledger row changed on_hand or reserved.
const (
	KindAdjustment = "adjustment"
	KindReserve    = "reserve"
	KindRelease    = "release"
	KindExpire     = "expire"
	KindCommit     = "commit"
	KindRestock    = "restock"
)

// ErrNotFound matches (with errors.Is) the client's error for a 404: no
// such reservation, or no stock ever recorded for the SKU.
var ErrNotFound = errors.New("inventoryapi: not found")

// ErrReservationClosed matches (with errors.Is) the client's error for a 409
// reservation_closed: committing a released or expired reservation, or
// releasing a committed one.
var ErrReservationClosed = errors.New("inventoryapi: reservation is no longer held")

// OutOfStockError is the client's error for a 409 out_of_stock: a line of a
// reservation could not be served from any single location.
type OutOfStockError struct {
	SKU       string
	Requested int64
	// Available is the most a single location could serve when the request
	// was made.
	Available int64
	// Err is the service's answer (a 409 out_of_stock) the client made the
	// error from: a caller classing errors by status or code sees it.
	Err *apiclient.Error
}

// Unwrap returns the service's answer the error was made from, if any.
func (e *OutOfStockError) Unwrap() error {
	if e.Err == nil {
		return nil // not a typed nil: errors.As must not match it
	}
	return e.Err
}

func (e *OutOfStockError) Error() string {
	return fmt.Sprintf("inventoryapi: %s out of stock: %d requested, %d available", e.SKU, e.Requested, e.Available)
}

// Line is a quantity of one SKU.
type Line struct {
	SKU      string `json:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" doc:"Stock keeping unit, as in the catalog." example:"MUG-1"`
	Quantity int64  `json:"quantity" minimum:"1" maximum:"10000" doc:"Units, 1 to 10000." example:"2"`
}

// ReserveRequest reserves stock for an order.
type ReserveRequest struct {
	OrderID string `json:"order_id" minLength:"1" maxLength:"100" doc:"The order the stock is held for; a repeat with the same order ID returns the existing reservation."`
	Lines   []Line `json:"lines" minItems:"1" maxItems:"100" doc:"SKUs and quantities; lines of the same SKU are merged."`
	// TTLSeconds is how long the stock is held; 0 takes the service's default.
	TTLSeconds int64 `json:"ttl_seconds,omitempty" minimum:"0" maximum:"86400" doc:"How long to hold the stock, in seconds; 0 or absent takes the service default (15 minutes). The service may allow less than the schema's maximum."`
}

// ReservedLine is one line of a reservation: a quantity of a SKU held at
// one location.
type ReservedLine struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
	Quantity int64  `json:"quantity"`
}

// Reservation is stock held for an order.
type Reservation struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status" enum:"held,committed,released,expired"`
	// Reason is why a reservation was released (empty otherwise).
	Reason    string         `json:"reason,omitempty"`
	Lines     []ReservedLine `json:"lines"`
	ExpiresAt time.Time      `json:"expires_at"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ReleaseRequest is the body of a release.
type ReleaseRequest struct {
	Reason string `json:"reason,omitempty" maxLength:"200" doc:"Why, e.g. payment_declined; recorded in the ledger."`
}

// RestockRequest puts returned units back on hand.
type RestockRequest struct {
	Reference string `json:"reference" minLength:"1" maxLength:"100" doc:"What the units come back from, e.g. a return ID; a repeat with the same reference changes nothing."`
	Lines     []Line `json:"lines" minItems:"1" maxItems:"100"`
	Reason    string `json:"reason,omitempty" maxLength:"200" doc:"Recorded in the ledger; default \"restock\"."`
	Location  string `json:"location,omitempty" maxLength:"64" pattern:"^[a-z0-9][a-z0-9_-]*$" doc:"Where the units go; default \"default\", created on first use."`
	OrderID   string `json:"order_id,omitempty" maxLength:"100" doc:"The order the units were sold by: without a location, each line goes back to the location its reservation took it from (a SKU the reservation does not have goes to the default location)."`
}

// RestockResult answers a restock.
type RestockResult struct {
	Reference string `json:"reference"`
	// Applied is false when the reference had been restocked before and
	// this request changed nothing.
	Applied bool `json:"applied"`
}

// Adjustment changes the stock on hand of a SKU at a location by Delta.
type Adjustment struct {
	Delta     int64  `json:"delta" minimum:"-1000000" maximum:"1000000" doc:"Units to add (positive) or take off (negative); never 0."`
	Reason    string `json:"reason" minLength:"1" maxLength:"200" doc:"Why, recorded in the ledger, e.g. \"stocktake\"."`
	Location  string `json:"location,omitempty" maxLength:"64" pattern:"^[a-z0-9][a-z0-9_-]*$" doc:"Location code; default \"default\", created on first use."`
	Reference string `json:"reference,omitempty" maxLength:"100" doc:"A reference for the ledger, e.g. a delivery note number."`
}

// Threshold sets a SKU's low-stock threshold.
type Threshold struct {
	Threshold int64 `json:"threshold" minimum:"0" maximum:"1000000" doc:"inventory.stock_low.v1 is announced when available stock falls to or below this."`
}

// LocationStock is a SKU's stock at one location.
type LocationStock struct {
	Location  string `json:"location"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// StockLevel is a SKU's stock over every location.
type StockLevel struct {
	SKU               string          `json:"sku"`
	OnHand            int64           `json:"on_hand"`
	Reserved          int64           `json:"reserved"`
	Available         int64           `json:"available" doc:"on_hand minus reserved: what can still be reserved."`
	LowStockThreshold int64           `json:"low_stock_threshold"`
	Low               bool            `json:"low" doc:"available is at or below low_stock_threshold."`
	Locations         []LocationStock `json:"locations"`
}

// StockList is a page of stock levels, by SKU.
type StockList struct {
	Items      []StockLevel `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next page; absent on the last page."`
}

// Movement is one ledger row: a change of a SKU's on_hand or reserved at a
// location, with the values after it.
type Movement struct {
	ID            string    `json:"id"`
	SKU           string    `json:"sku"`
	Location      string    `json:"location"`
	Kind          string    `json:"kind" enum:"adjustment,reserve,release,expire,commit,restock"`
	DeltaOnHand   int64     `json:"delta_on_hand"`
	DeltaReserved int64     `json:"delta_reserved"`
	Reason        string    `json:"reason"`
	Reference     string    `json:"reference" doc:"Order ID, return ID or admin reference."`
	OnHandAfter   int64     `json:"on_hand_after"`
	ReservedAfter int64     `json:"reserved_after"`
	At            time.Time `json:"at"`
}

// MovementList is a page of the ledger, newest first.
type MovementList struct {
	Items      []Movement `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next (older) page; absent on the last page."`
}

// Audit counts violations of the inventory's invariants for a tenant; all
// are zero in a healthy system.
type Audit struct {
	NegativeStock      int64 `json:"negative_stock" doc:"Stock rows with on_hand or reserved below 0, or reserved above on_hand."`
	LedgerMismatches   int64 `json:"ledger_mismatches" doc:"Stock rows whose on_hand or reserved differ from the sum of their ledger."`
	ExpiredHeld        int64 `json:"expired_held" doc:"Held reservations past their expiry (the sweeper releases them within its interval)."`
	ReservedMismatches int64 `json:"reserved_mismatches" doc:"Stock rows whose reserved differs from the lines of held reservations."`
}

// StockReserved is the payload of inventory.stock_reserved.v1.
type StockReserved struct {
	OrderID   string         `json:"order_id"`
	Lines     []ReservedLine `json:"lines"`
	ExpiresAt time.Time      `json:"expires_at"`
	At        time.Time      `json:"at"`
	// Levels are the reserved SKUs' available units after the change.
	// Absent in events published before the field was added.
	Levels []SKULevel `json:"levels,omitempty"`
}

// SKULevel is a SKU's available units (on hand minus reserved) over every
// location, as an event left them: what a projection of "in stock or not"
// keeps without calling the inventory.
type SKULevel struct {
	SKU       string `json:"sku"`
	Available int64  `json:"available"`
}

// StockReleased is the payload of inventory.stock_released.v1: a held
// reservation was released (Status released) or expired (Status expired).
type StockReleased struct {
	OrderID string         `json:"order_id"`
	Status  string         `json:"status" enum:"released,expired"`
	Reason  string         `json:"reason,omitempty"`
	Lines   []ReservedLine `json:"lines"`
	At      time.Time      `json:"at"`
	// Levels are the released SKUs' available units after the change.
	// Absent in events published before the field was added.
	Levels []SKULevel `json:"levels,omitempty"`
}

// StockCommitted is the payload of inventory.stock_committed.v1: reserved
// stock left the shelf for a confirmed order.
type StockCommitted struct {
	OrderID string         `json:"order_id"`
	Lines   []ReservedLine `json:"lines"`
	At      time.Time      `json:"at"`
}

// StockAdjusted is the payload of inventory.stock_adjusted.v1: on_hand
// changed by an adjustment or a restock.
type StockAdjusted struct {
	SKU       string    `json:"sku"`
	Location  string    `json:"location"`
	Kind      string    `json:"kind" enum:"adjustment,restock"`
	Delta     int64     `json:"delta"`
	Reason    string    `json:"reason"`
	Reference string    `json:"reference,omitempty"`
	OnHand    int64     `json:"on_hand"`
	Reserved  int64     `json:"reserved"`
	At        time.Time `json:"at"`
	// Available is the SKU's available units over every location after
	// the change (OnHand and Reserved are the one location's). Nil in
	// events published before the field was added.
	Available *int64 `json:"available,omitempty"`
}

// StockLow is the payload of inventory.stock_low.v1: a SKU's available
// stock (over every location) fell to or below its threshold. It is
// announced once per crossing: again only after the SKU went back above.
type StockLow struct {
	SKU       string    `json:"sku"`
	Available int64     `json:"available"`
	Threshold int64     `json:"threshold"`
	At        time.Time `json:"at"`
}
