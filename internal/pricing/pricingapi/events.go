package pricingapi

// SubjectDiscountChanged is the one event the pricing service publishes: a
// discount was created, updated or deleted.
const SubjectDiscountChanged = "pricing.discount_changed.v1"

// Source is the envelope source of pricing events.
const Source = "pricing"

// The changes a DiscountChanged reports.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// DiscountChanged is the data of pricing.discount_changed.v1: the discount as
// it is after the change (as it was, for deleted).
type DiscountChanged struct {
	Change   string   `json:"change" enum:"created,updated,deleted"`
	Discount Discount `json:"discount"`
}
