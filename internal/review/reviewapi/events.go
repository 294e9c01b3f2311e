// Package reviewapi is the review service's contract: its events here, its
// requests, answers and client beside them.
package reviewapi

import "time"

// The subjects (event types) the review service publishes through its
// outbox.
const (
	// SubjectPublished carries a Published: a review became visible on the
	// storefront (at once or once approved, as the store is set).
	SubjectPublished = "review.published.v1"
	// SubjectRatingChanged carries a RatingChanged: a product's rating
	// aggregate after a review was published, edited, hidden or deleted.
	SubjectRatingChanged = "review.rating_changed.v1"
)

// Source is the envelope source of review events.
const Source = "review"

// RatingChanged is the data of review.rating_changed.v1: the product's
// aggregate over its published reviews, whole (not a delta), so a consumer
// keeps the newest it has seen for the product.
type RatingChanged struct {
	ProductID string `json:"product_id"`
	// Count is the number of published reviews.
	Count int64 `json:"count"`
	// Average is the mean rating (1–5) rounded to two decimals; 0 when
	// Count is 0.
	Average float64 `json:"average"`
	// Histogram counts the published reviews per rating: Histogram[0] is
	// the number of 1-star reviews, Histogram[4] of 5-star ones.
	Histogram [5]int64 `json:"histogram"`
	// Version increases with every change of this product's aggregate, so
	// a consumer ignores one older than what it holds.
	Version int64 `json:"version"`
}

// Published is the data of review.published.v1: a review as the storefront
// shows it, sent when it becomes visible (created in a store that publishes
// at once, approved, or edited while visible).
type Published struct {
	ID          string    `json:"id"`
	ProductID   string    `json:"product_id"`
	Rating      int64     `json:"rating"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	AuthorName  string    `json:"author_name"`
	PublishedAt time.Time `json:"published_at"`
}
