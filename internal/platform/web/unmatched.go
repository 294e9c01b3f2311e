package web

import (
	"net/http"
)

// unmatchedWriter turns the router's own answers to requests that match no
// route (404 Not Found, and 405 Method Not Allowed with its Allow header)
// into problems, like every other error of the server. The router sets
// r.Pattern before it calls a handler, and only the router's own handlers
// run with none. A route's own 404 is turned into a problem too when it is
// net/http's plain-text one (http.NotFound, http.Error: a file server's
// missing file); a route that answers 404 with its own content (a page of
// the store that does not exist) keeps its answer.
type unmatchedWriter struct {
	http.ResponseWriter
	r *http.Request
	// replaced: the problem is written; the router's text is dropped.
	replaced bool
}

func (w *unmatchedWriter) WriteHeader(code int) {
	if w.replaced {
		return
	}
	if (w.r.Pattern != "" && !plainError(w.Header())) || (code != http.StatusNotFound && code != http.StatusMethodNotAllowed) {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	w.Header().Del("Content-Length")
	if code == http.StatusNotFound {
		WriteProblem(w.ResponseWriter, code, "not_found", "no such endpoint")
		return
	}
	detail := w.r.Method + " is not allowed here"
	if allow := w.Header().Get("Allow"); allow != "" {
		detail += "; this path allows " + allow
	}
	WriteProblem(w.ResponseWriter, code, "method_not_allowed", detail)
}

func (w *unmatchedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *unmatchedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// plainError reports whether h is what http.Error sets before it writes
// its plain-text message.
func plainError(h http.Header) bool {
	return h.Get("Content-Type") == "text/plain; charset=utf-8" && h.Get("X-Content-Type-Options") == "nosniff"
}
