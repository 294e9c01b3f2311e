package page

import (
	"mime"
	"net/http"
)

// Download sets the headers of an answer the browser saves as a file named
// name (an invoice, a CSV export, an error report): an attachment of
// contentType, never cached, since such files carry a store's private
// data, and never sniffed as something else. The name is quoted as
// RFC 6266 wants, non-ASCII names included.
func Download(w http.ResponseWriter, name, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
