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
	// Category is the product's category as it was at the change; nil
	// without one (and in events published before the field was added).
	Category *CategoryRef `json:"category,omitempty"`
}

// CategoryRef names a product's category in a product event, so that
// consumers (search) can show and match it without calling the catalog.
type CategoryRef struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// ProductUpdated is the data of catalog.product_updated.v1, published for
// every change but archiving (including a move back to draft).
type ProductUpdated struct {
	Product Product `json:"product"`
	// Category is as in ProductCreated.
	Category *CategoryRef `json:"category,omitempty"`
}

// ProductArchived is the data of catalog.product_archived.v1: the product
// left the public catalog for good (unless brought back as a draft).
type ProductArchived struct {
	Product Product `json:"product"`
	// Category is as in ProductCreated.
	Category *CategoryRef `json:"category,omitempty"`
}
