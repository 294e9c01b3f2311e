// Package web holds the templates and static files of Mercato's pages (the
// storefront and the admin), embedded in the binary. Only the page kit
// (internal/platform/page) reads it.
package web

import "embed"

// Templates holds templates/<service>/*.html, each service's pages and
// layout, and templates/shared/*.html, the pieces every service uses.
//
//go:embed templates
var Templates embed.FS

// Static holds static/, served under /static/: the style sheet, the
// enhancement script and the icons.
//
//go:embed static
var Static embed.FS
