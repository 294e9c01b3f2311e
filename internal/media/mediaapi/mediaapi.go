// Package mediaapi is the media service's contract: the uploaded file as
// the API answers it and as media.uploaded.v1 carries it, the URLs files
// are served at, and a typed client for the admin pages. Fields are only
// ever added.
package mediaapi

import (
	"strconv"
	"time"
)

// The subjects (event types) the media service publishes through its
// outbox.
const (
	// SubjectUploaded carries an Uploaded: a file was uploaded (again, when
	// the same bytes come twice) for a product or as the store's logo.
	SubjectUploaded = "media.uploaded.v1"
)

// Source is the envelope source of media events.
const Source = "media"

// Kind is what an upload is for.
type Kind string

// The kinds of upload.
const (
	// KindProductImage is a picture of a product: the catalog adds it to
	// the product's images.
	KindProductImage Kind = "product_image"
	// KindLogo is the store's logo: the tenant service makes it the
	// store's logo.
	KindLogo Kind = "logo"
)

// The widths of the resized variants of every image, in pixels: each is
// the image fitted in a square of that side, never enlarged.
const (
	SizeSmall  = 160
	SizeMedium = 320
	SizeLarge  = 640
)

// Sizes returns the variant widths, smallest first.
func Sizes() []int { return []int{SizeSmall, SizeMedium, SizeLarge} }

// IsSize reports whether n is one of Sizes.
func IsSize(n int) bool { return n == SizeSmall || n == SizeMedium || n == SizeLarge }

// PathPrefix starts the path of every file the media service serves.
const PathPrefix = "/media/"

// URL is the path the cleaned file of hash is served at.
func URL(hash string) string { return PathPrefix + hash }

// VariantURL is the path of hash's variant of width size (one of Sizes).
func VariantURL(hash string, size int) string { return PathPrefix + hash + "/" + strconv.Itoa(size) }

// HashOf returns the hash of a media URL made by URL or VariantURL (with or
// without a variant), or "" when u is not one.
func HashOf(u string) string {
	if len(u) < len(PathPrefix)+64 || u[:len(PathPrefix)] != PathPrefix {
		return ""
	}
	h := u[len(PathPrefix) : len(PathPrefix)+64]
	if !IsHash(h) {
		return ""
	}
	rest := u[len(PathPrefix)+64:]
	if rest == "" {
		return h
	}
	if rest[0] != '/' {
		return ""
	}
	if n, err := strconv.Atoi(rest[1:]); err != nil || !IsSize(n) {
		return ""
	}
	return h
}

// IsHash reports whether s is a media hash: 64 lowercase hex digits.
func IsHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Variant is one resized copy of an image.
type Variant struct {
	Size   int `json:"size" doc:"The side of the square the image was fitted in." example:"320"`
	Width  int `json:"width"`
	Height int `json:"height"`
	// ContentType may differ from the image's: an opaque PNG's variant is
	// a JPEG when that is smaller.
	ContentType string `json:"content_type" enum:"image/png,image/jpeg" doc:"The variant's type: an opaque PNG's variants are JPEG when that is smaller."`
	URL         string `json:"url" doc:"Path of the variant on this site." example:"/media/3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b/320"`
}

// Media is an uploaded image, as stored: metadata stripped, re-encoded,
// named by the SHA-256 of the stored bytes.
type Media struct {
	ID          string    `json:"id" doc:"Media ID (UUIDv7); the same bytes uploaded again keep it."`
	Hash        string    `json:"hash" doc:"SHA-256 (hex) of the stored bytes: the file's name."`
	URL         string    `json:"url" doc:"Path of the stored image on this site; served with a long, immutable cache lifetime." example:"/media/3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"`
	ContentType string    `json:"content_type" enum:"image/png,image/jpeg" doc:"The stored type: PNG for PNG and GIF uploads, JPEG for JPEG ones."`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Bytes       int64     `json:"bytes" doc:"Size of the stored image."`
	Variants    []Variant `json:"variants" doc:"Resized copies, smallest first."`
	// What this upload was for.
	Kind      Kind      `json:"kind" enum:"product_image,logo"`
	ProductID string    `json:"product_id,omitempty" doc:"The product a product_image was uploaded for."`
	Alt       string    `json:"alt,omitempty" doc:"Alternative text for screen readers."`
	CreatedAt time.Time `json:"created_at" doc:"When these bytes were first stored for the store."`
}

// Uploaded is the data of media.uploaded.v1: the upload, with what it is
// for. The same bytes uploaded twice are announced twice; consumers
// attach them once.
type Uploaded struct {
	Media Media `json:"media"`
	// UploadedAt is when this upload was made (Media.CreatedAt is when the
	// bytes were first stored).
	UploadedAt time.Time `json:"uploaded_at"`
}

// Limits bound uploads; the service's flags set them.
const (
	// MaxAlt is the longest alternative text, in characters.
	MaxAlt = 300
	// MaxFileName is the longest file name an upload may carry.
	MaxFileName = 255
	// DefaultMaxUpload is the largest file an upload takes unless the
	// service's -media.max-upload says otherwise.
	DefaultMaxUpload = 10 << 20
	// MultipartOverhead is what a multipart body may add around its
	// file: boundaries, part headers and the short fields.
	MultipartOverhead = 64 << 10
)
