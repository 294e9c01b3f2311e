package catalogapi

// The subjects (event types) the catalog publishes through its outbox. Each
// event's data is the full product snapshot after the change, so consumers
// (search, cart, order) never need to call back for the rest.
const (
	SubjectProductCreated  = "catalog.product_created.v1"
	SubjectProductUpdated  = "catalog.product_updated.v1"
	SubjectProductArchived = "catalog.product_archived.v1"
)

// Source is the envelope source of catalog events.
const Source = "catalog"

// ProductCreated is the data of catalog.product_created.v1.
type ProductCreated struct {
	Product Product `json:"product"`
}

// ProductUpdated is the data of catalog.product_updated.v1, published for
// every change but archiving (including a move back to draft).
type ProductUpdated struct {
	Product Product `json:"product"`
}

// ProductArchived is the data of catalog.product_archived.v1: the product
// left the public catalog for good (unless brought back as a draft).
type ProductArchived struct {
	Product Product `json:"product"`
}
