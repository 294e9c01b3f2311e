// Package searchapi is the search service's contract: the query and its
// answers (GET /api/v1/search, GET /api/v1/search/suggestions) and the
// typed client the storefront calls them with. Search publishes no events:
// it only consumes the catalog's, the inventory's and the review service's.
package searchapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// Source names the search service in errors and client traces.
const Source = "search"

// The sort orders of a search.
const (
	SortRelevance = "relevance"
	SortPrice     = "price"
	SortPriceDesc = "price_desc"
	SortNewest    = "newest"
	SortRating    = "rating"
)

// Query is what a search asks: words (none lists every active product) and
// filters, each facet's value as its bucket names it.
type Query struct {
	Q string `query:"q" maxLength:"200" doc:"Words to find in the title, description, SKUs and category; a misspelt word still matches (one or two letters off) and the last word also matches as a prefix. Empty: every product."`
	// Category is a category ID (the category facet's values).
	Category string `query:"category" maxLength:"100" doc:"Only products of this category ID (a value of the category facet)."`
	PriceMin int64  `query:"price_min" minimum:"0" doc:"Only products whose lowest price is at least this, in minor units."`
	PriceMax int64  `query:"price_max" minimum:"0" doc:"Only products whose lowest price is below this, in minor units; 0: no upper bound."`
	InStock  bool   `query:"in_stock" doc:"Only products with at least one SKU in stock."`
	Rating   int64  `query:"rating" minimum:"0" maximum:"5" doc:"Only products rated at least this on average (1–5); 0: any."`
	Sort     string `query:"sort" enum:"relevance,price,price_desc,newest,rating" default:"relevance" doc:"relevance (best match first; newest when there are no words), price (lowest first), price_desc, newest, or rating (best rated first)."`
	Cursor   string `query:"cursor" doc:"next_cursor of the previous page."`
	Limit    int    `query:"limit" doc:"Results per page; above the maximum is capped."`
}

// Fragment is a piece of a field's text: Match marks the words the query
// found. Clients escape Text themselves; a fragment never holds markup.
type Fragment struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// Category names a product's category.
type Category struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Hit is one product found.
type Hit struct {
	ID          string      `json:"id"`
	Slug        string      `json:"slug"`
	Title       string      `json:"title"`
	Category    *Category   `json:"category,omitempty"`
	PriceFrom   money.Money `json:"price_from"`
	InStock     bool        `json:"in_stock" doc:"At least one of the product's SKUs can be bought."`
	Rating      float64     `json:"rating" doc:"Average rating (1–5) of its published reviews; 0 without reviews."`
	RatingCount int64       `json:"rating_count"`
	Image       string      `json:"image,omitempty" doc:"The product's first image URL."`
	ImageAlt    string      `json:"image_alt,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	// TitleHighlight is the whole title in fragments; DescriptionHighlight
	// a passage of the description around the first word found (or its
	// start), cut at word boundaries.
	TitleHighlight       []Fragment `json:"title_highlight"`
	DescriptionHighlight []Fragment `json:"description_highlight"`
}

// Bucket is one value of a facet with the number of products the search
// finds there.
type Bucket struct {
	Value string `json:"value" doc:"The filter value: a category ID; a price range as min-max in minor units (max empty: no bound); true for in stock; the least average rating."`
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// Facets count the products found per category, price range, stock and
// rating.
type Facets struct {
	Category []Bucket `json:"category"`
	Price    []Bucket `json:"price"`
	InStock  []Bucket `json:"in_stock"`
	Rating   []Bucket `json:"rating"`
}

// Results is a page of a search.
type Results struct {
	Total      int64  `json:"total" doc:"Products found over every page."`
	Items      []Hit  `json:"items"`
	Facets     Facets `json:"facets"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next page; absent on the last page."`
}

// Suggestion is a product whose title starts words the way the query does.
type Suggestion struct {
	ID    string `json:"id"`
	Slug  string `json:"slug"`
	Title string `json:"title"`
}

// Suggestions answers GET /api/v1/search/suggestions.
type Suggestions struct {
	Items []Suggestion `json:"items"`
}

// MaxSuggestions is the most suggestions one request gets.
const MaxSuggestions = 10
