// Package catalogapi is the catalog service's contract: the JSON bodies of
// its REST operations (huma validates requests against these types and builds
// the OpenAPI document from them), the payloads of the events it publishes,
// and a typed HTTP client for other services and the storefront and admin
// UI. Fields are only ever added.
package catalogapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// Status is where a product is in its life: only active products are public.
type Status string

// The product statuses.
const (
	StatusDraft    Status = "draft"
	StatusActive   Status = "active"
	StatusArchived Status = "archived"
)

// Option is a dimension a product's variants differ in, with the values it
// may take, e.g. {"name": "Size", "values": ["250 g", "1 kg"]}.
type Option struct {
	Name   string   `json:"name" minLength:"1" maxLength:"50" doc:"Option name, e.g. Size." example:"Size"`
	Values []string `json:"values" minItems:"1" maxItems:"50" doc:"The values variants may take, in display order."`
}

// Image is a reference to a picture of the product; the bytes live in the
// media service or elsewhere on the web.
type Image struct {
	URL string `json:"url" minLength:"1" maxLength:"2048" doc:"Absolute http(s) URL, or a path starting with / on this site." example:"/media/mug.jpg"`
	Alt string `json:"alt,omitempty" maxLength:"300" doc:"Alternative text for screen readers."`
	// Width and Height are the image's size in pixels, when known (the
	// media service's uploads have them), so that pages reserve its room.
	Width  int `json:"width,omitempty" minimum:"0" maximum:"20000" doc:"Width in pixels, when known."`
	Height int `json:"height,omitempty" minimum:"0" maximum:"20000" doc:"Height in pixels, when known."`
}

// Variant is one buyable version of a product, identified by its SKU.
type Variant struct {
	ID      string            `json:"id" doc:"Variant ID (UUIDv7); kept across updates while the SKU stays."`
	SKU     string            `json:"sku" doc:"Stock keeping unit, unique within the shop." example:"MUG-1"`
	Title   string            `json:"title" doc:"Variant title; defaults to its option values."`
	Price   money.Money       `json:"price"`
	Options map[string]string `json:"options" doc:"The variant's value for each of the product's options."`
	// CostPrice is what one unit costs the store, in minor units of the
	// price's currency; nil when unknown. Staff answers and product events
	// carry it; public answers never do.
	CostPrice *int64 `json:"cost_price,omitempty" doc:"What one unit costs the store, in minor units of the price's currency (staff only; absent when unknown)." example:"450"`
}

// Product is a catalog product with its variants: the response body of every
// product operation and the snapshot carried by every product event.
type Product struct {
	ID          string            `json:"id" doc:"Product ID (UUIDv7)."`
	Slug        string            `json:"slug" doc:"URL name, unique within the shop." example:"mug"`
	Title       string            `json:"title" example:"Mug"`
	Description string            `json:"description"`
	Status      Status            `json:"status" enum:"draft,active,archived"`
	CategoryID  string            `json:"category_id,omitempty" doc:"The product's category, if any."`
	Options     []Option          `json:"options"`
	Variants    []Variant         `json:"variants"`
	Attributes  map[string]string `json:"attributes" doc:"Free-form facts, e.g. {\"origin\": \"Ethiopia\"}."`
	Images      []Image           `json:"images"`
	PriceFrom   money.Money       `json:"price_from" doc:"The lowest variant price: what the price filters and sorts use."`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// VariantInput is a variant as a client sends it. Sending the SKU of one of
// the product's existing variants updates that variant and keeps its ID.
type VariantInput struct {
	SKU       string            `json:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" doc:"Stock keeping unit, unique within the shop: letters, digits, '.', '_' and '-', starting with a letter or digit." example:"MUG-1"`
	Title     string            `json:"title,omitempty" maxLength:"200"`
	Price     money.Money       `json:"price"`
	Options   map[string]string `json:"options,omitempty" doc:"A value for each of the product's options."`
	CostPrice *int64            `json:"cost_price,omitempty" minimum:"0" maximum:"100000000000" doc:"What one unit costs the store, in minor units of the price's currency; absent: unknown (analytics leaves the variant out of stock value and cost of goods sold)." example:"450"`
}

// ProductCreate is the body of POST /api/v1/admin/products. Only the title
// and one variant are required; the slug is made from the title when absent.
type ProductCreate struct {
	Title       string            `json:"title" minLength:"1" maxLength:"200" example:"Mug"`
	Slug        string            `json:"slug,omitempty" maxLength:"100" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$" patternDescription:"lowercase letters and digits separated by single dashes" doc:"Defaults to one made from the title (with -2, -3… on a clash)."`
	Description string            `json:"description,omitempty" maxLength:"20000"`
	Status      Status            `json:"status,omitempty" enum:"draft,active" default:"draft" doc:"New products are drafts unless made active."`
	CategoryID  string            `json:"category_id,omitempty" doc:"A category ID."`
	Options     []Option          `json:"options,omitempty" maxItems:"5" doc:"Defaults to the option names and values the variants use."`
	Variants    []VariantInput    `json:"variants" minItems:"1" maxItems:"100"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Images      []Image           `json:"images,omitempty" maxItems:"20"`
}

// ProductUpdate is the body of PATCH /api/v1/admin/products/{id}: absent
// fields stay as they are. Variants, options, attributes and images, when
// given, replace the whole list.
type ProductUpdate struct {
	Title       *string           `json:"title,omitempty" minLength:"1" maxLength:"200"`
	Slug        *string           `json:"slug,omitempty" maxLength:"100" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$" patternDescription:"lowercase letters and digits separated by single dashes"`
	Description *string           `json:"description,omitempty" maxLength:"20000"`
	Status      *Status           `json:"status,omitempty" enum:"draft,active,archived" doc:"archived products may only go back to draft."`
	CategoryID  *string           `json:"category_id,omitempty" doc:"A category ID; the empty string removes the category."`
	Options     []Option          `json:"options,omitempty" maxItems:"5"`
	Variants    []VariantInput    `json:"variants,omitempty" minItems:"1" maxItems:"100" doc:"Replaces every variant; variants keep their IDs by SKU."`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Images      []Image           `json:"images,omitempty" maxItems:"20"`
}

// ProductList is one page of products.
type ProductList struct {
	Items []Product `json:"items"`
	// NextCursor fetches the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next page; absent on the last page."`
}

// Category is a node of the shop's category tree.
type Category struct {
	ID          string     `json:"id" doc:"Category ID (UUIDv7)."`
	ParentID    string     `json:"parent_id,omitempty" doc:"The parent category; absent for a root."`
	Slug        string     `json:"slug" example:"coffee"`
	Name        string     `json:"name" example:"Coffee"`
	Description string     `json:"description"`
	Position    int64      `json:"position" doc:"Sort order among siblings."`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Children    []Category `json:"children,omitempty" doc:"Child categories, in tree listings only."`
}

// CategoryCreate is the body of POST /api/v1/admin/categories.
type CategoryCreate struct {
	Name        string `json:"name" minLength:"1" maxLength:"100" example:"Coffee"`
	Slug        string `json:"slug,omitempty" maxLength:"100" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$" patternDescription:"lowercase letters and digits separated by single dashes" doc:"Defaults to one made from the name."`
	ParentID    string `json:"parent_id,omitempty" doc:"The parent category; absent for a root."`
	Description string `json:"description,omitempty" maxLength:"5000"`
	Position    int64  `json:"position,omitempty"`
}

// CategoryUpdate is the body of PATCH /api/v1/admin/categories/{id}: absent
// fields stay as they are.
type CategoryUpdate struct {
	Name        *string `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Slug        *string `json:"slug,omitempty" maxLength:"100" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$" patternDescription:"lowercase letters and digits separated by single dashes"`
	ParentID    *string `json:"parent_id,omitempty" doc:"The new parent; the empty string makes the category a root."`
	Description *string `json:"description,omitempty" maxLength:"5000"`
	Position    *int64  `json:"position,omitempty"`
}

// CategoryList is a list of categories: the roots of the tree, each with
// its children, in GET /api/v1/categories; a flat list in the admin API.
type CategoryList struct {
	Items []Category `json:"items"`
}
