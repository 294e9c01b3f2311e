package media

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"gocloud.dev/gcerrors"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/web"
)

// cacheControl is how long browsers and proxies keep a file: a year, and
// never revalidated, since a file's URL names its content.
const cacheControl = "public, max-age=31536000, immutable"

// serveFile answers GET /media/{hash} and /media/{hash}/{size}: the
// cleaned image or one of its variants, with an ETag of the hash and a
// year's immutable caching. If-None-Match with that ETag is answered 304
// without reading the blob store. Files are shared by every store that
// uploaded the same bytes; nobody can list them, and the hash cannot be
// guessed.
func (s *Service) serveFile(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	key, etag := originalKey(hash), `"`+hash+`"`
	if sz := r.PathValue("size"); sz != "" {
		n, err := strconv.Atoi(sz)
		if err != nil || !mediaapi.IsSize(n) || strconv.Itoa(n) != sz {
			web.WriteProblem(w, http.StatusNotFound, "unknown_size", "sizes are 160, 320 and 640")
			return
		}
		key, etag = variantKey(hash, n), `"`+hash+"-"+sz+`"`
	}
	if !mediaapi.IsHash(hash) {
		web.WriteProblem(w, http.StatusNotFound, "media_not_found", "no such file")
		return
	}
	h := w.Header()
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		h.Set("ETag", etag)
		h.Set("Cache-Control", cacheControl)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rd, err := s.bucket.NewReader(r.Context(), key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		web.WriteProblem(w, http.StatusNotFound, "media_not_found", "no such file")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "media read failed", "hash", hash, "err", err)
		web.WriteProblem(w, http.StatusServiceUnavailable, "storage_unavailable", "the file store is not answering; retry shortly")
		return
	}
	defer rd.Close()
	ct := rd.ContentType()
	if ct != "image/png" && ct != "image/jpeg" {
		ct = "application/octet-stream" // never anything a browser would run
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rd); err != nil {
		s.log.DebugContext(r.Context(), "media copy ended", "hash", hash, "err", err)
	}
}

// etagMatch reports whether an If-None-Match header lists etag (or *),
// comparing weakly as RFC 9110 says for If-None-Match.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
