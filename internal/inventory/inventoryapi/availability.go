package inventoryapi

// What a shopper may know of the stock: GET /api/v1/availability, public,
// answers whether each SKU can be bought and, only when few are left, how
// many. The levels themselves (on hand, reserved, per location) stay on
// the admin API.

// The availability statuses.
const (
	// AvailabilityInStock: more than a few units can be bought.
	AvailabilityInStock = "in_stock"
	// AvailabilityFewLeft: a few units are left; Availability.Available
	// says how many.
	AvailabilityFewLeft = "few_left"
	// AvailabilitySoldOut: nothing can be bought (also a SKU the inventory
	// never stocked).
	AvailabilitySoldOut = "sold_out"
)

// FewLeft is the most units a SKU may have left to count as few_left
// whatever its low-stock threshold: "only 3 left" is worth telling a
// shopper even of a SKU whose threshold is lower.
const FewLeft = 5

// MaxAvailabilitySKUs bounds the SKUs of one availability request (as many
// as a product has variants at most).
const MaxAvailabilitySKUs = 100

// Availability is a SKU's stock as a shopper sees it.
type Availability struct {
	SKU    string `json:"sku" example:"MUG-1"`
	Status string `json:"status" enum:"in_stock,few_left,sold_out" doc:"in_stock, few_left (available says how many) or sold_out (also for a SKU never stocked)."`
	// Available is set for few_left only.
	Available *int64 `json:"available,omitempty" doc:"Units one order line can get (a line is served from one location); given only when status is few_left."`
}

// AvailabilityList answers GET /api/v1/availability: one item per SKU
// asked, in the order asked.
type AvailabilityList struct {
	Items []Availability `json:"items"`
}
