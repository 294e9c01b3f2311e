package reviewapi

import "time"

// Status is where a review is: pending until staff approve it (in a store
// that approves reviews first), published (visible on the storefront),
// rejected (never shown) or hidden (taken down after being shown).
type Status string

// The review statuses.
const (
	StatusPending   Status = "pending"
	StatusPublished Status = "published"
	StatusRejected  Status = "rejected"
	StatusHidden    Status = "hidden"
)

// Moderation is a store's rule for new and edited reviews.
type Moderation string

// The moderation rules.
const (
	// ModerationPublish shows a review at once (the default).
	ModerationPublish Moderation = "publish"
	// ModerationApprove keeps a review pending until staff approve it.
	ModerationApprove Moderation = "approve"
)

// Limits on what a review holds. The body's limit is the service's
// -review.max-body (at most MaxBodyCeiling).
const (
	MaxTitle       = 120
	MaxAuthorName  = 60
	MaxReply       = 2000
	MaxReason      = 500
	MaxBodyCeiling = 20000
)

// Review is a product review by a buyer, with the store's reply. Title,
// body and reply are plain text: HTML in them is kept as typed and shown
// escaped.
type Review struct {
	ID         string `json:"id"`
	ProductID  string `json:"product_id"`
	OrderID    string `json:"order_id,omitempty" doc:"The order it was bought with: shown to its author and staff only."`
	SKU        string `json:"sku"`
	AuthorName string `json:"author_name"`
	Rating     int64  `json:"rating" minimum:"1" maximum:"5"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Status     Status `json:"status" enum:"pending,published,rejected,hidden"`
	// Reason is what staff gave for the last rejection or hiding; shown to
	// its author and staff only.
	Reason      string     `json:"reason,omitempty"`
	Reply       string     `json:"reply,omitempty" doc:"The store's public answer."`
	RepliedAt   *time.Time `json:"replied_at,omitempty"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// ReviewList is a page of reviews, newest first.
type ReviewList struct {
	Items      []Review `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last."`
}

// OrderReviews is what the buyer of an order reviewed of it, and what they
// may review now.
type OrderReviews struct {
	Items []Review `json:"items" doc:"The buyer's reviews of the order's lines, with their status and the reason staff gave."`
	// Reviewable lists the SKUs of the lines the buyer may review now: the
	// order is delivered and the line has no review yet.
	Reviewable []string `json:"reviewable"`
}

// ReviewCreate is the body of POST /api/v1/reviews: a review of one line
// of a delivered order.
type ReviewCreate struct {
	OrderID    string `json:"order_id" minLength:"1" maxLength:"100" doc:"The delivered order the product was bought with."`
	SKU        string `json:"sku" minLength:"1" maxLength:"64" doc:"The order line reviewed, by its SKU." example:"MUG-1"`
	Rating     int64  `json:"rating" minimum:"1" maximum:"5" doc:"Stars, 1 to 5." example:"5"`
	Title      string `json:"title" minLength:"1" maxLength:"120" example:"Keeps tea hot"`
	Body       string `json:"body,omitempty" maxLength:"20000" doc:"Plain text; at most the store's limit (-review.max-body, 5000 characters by default)."`
	AuthorName string `json:"author_name,omitempty" maxLength:"60" doc:"The name shown with the review; the order's shipping name (its first word) when absent."`
}

// ReviewUpdate is the body of PATCH /api/v1/reviews/{id}: absent fields
// stay.
type ReviewUpdate struct {
	Rating     *int64  `json:"rating,omitempty" minimum:"1" maximum:"5"`
	Title      *string `json:"title,omitempty" minLength:"1" maxLength:"120"`
	Body       *string `json:"body,omitempty" maxLength:"20000"`
	AuthorName *string `json:"author_name,omitempty" minLength:"1" maxLength:"60"`
}

// Rating is a product's aggregate over its published reviews.
type Rating struct {
	ProductID string  `json:"product_id"`
	Count     int64   `json:"count"`
	Average   float64 `json:"average" doc:"Mean rating rounded to two decimals; 0 without reviews."`
	// Histogram counts the published reviews per rating: [0] is 1 star.
	Histogram [5]int64 `json:"histogram"`
}

// RatingList is the ratings of several products, in the order asked; a
// product without reviews has count 0.
type RatingList struct {
	Items []Rating `json:"items"`
}

// Moderate is the body of the reject and hide operations: why, kept with
// the review and shown to its author.
type Moderate struct {
	Reason string `json:"reason" minLength:"1" maxLength:"500" example:"Off topic"`
}

// Approve is the body of the approve operation; the reason is optional.
type Approve struct {
	Reason string `json:"reason,omitempty" maxLength:"500"`
}

// Reply is the body of PUT /api/v1/admin/reviews/{id}/reply: the store's
// public answer; an empty body removes it.
type Reply struct {
	Body string `json:"body" maxLength:"2000"`
}

// Settings are a store's review settings.
type Settings struct {
	Moderation Moderation `json:"moderation" enum:"publish,approve" doc:"publish: reviews show at once; approve: staff approve each first."`
}
