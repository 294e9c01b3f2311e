package page

import (
	"mime"
	"net/http/httptest"
	"testing"
)

// TestDownload: the file's name comes back as given from any browser's
// parser, quotes, spaces and non-ASCII included, and the file is never
// cached or sniffed.
func TestDownload(t *testing.T) {
	for _, name := range []string{"INV-2026-000001.pdf", `a "quoted"; name.csv`, "Rechnung Müller.pdf"} {
		w := httptest.NewRecorder()
		Download(w, name, "text/csv; charset=utf-8")
		h := w.Header()
		_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil || params["filename"] != name {
			t.Errorf("%q: Content-Disposition %q: %v %v", name, h.Get("Content-Disposition"), params, err)
		}
		if h.Get("Cache-Control") != "private, no-store" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("%q: headers %v", name, h)
		}
	}
}
