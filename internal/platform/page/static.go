package page

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	assets "github.com/mercato/mercato/web"
)

// staticFiles serves web/static from memory, each file also gzipped once
// at start, and cacheable for a year when asked for by its versioned URL.
type staticFiles struct {
	prefix string
	files  map[string]staticFile
}

type staticFile struct {
	body, gz []byte
	typ      string
	version  string
}

func newStaticFiles(prefix string) (*staticFiles, error) {
	s := &staticFiles{prefix: prefix, files: map[string]staticFile{}}
	err := fs.WalkDir(assets.Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(assets.Static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := staticFile{body: body, version: hex.EncodeToString(sum[:5]), typ: mime.TypeByExtension(path.Ext(p))}
		if f.typ == "" {
			f.typ = "application/octet-stream"
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if z.Len() < len(body) {
			f.gz = z.Bytes()
		}
		s.files[strings.TrimPrefix(p, "static/")] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("page: read static files: %w", err)
	}
	return s, nil
}

// url is the versioned URL of a static file; a name that is not one is
// a template bug, answered with a URL that 404s.
func (s *staticFiles) url(name string) string {
	f, ok := s.files[name]
	if !ok {
		return s.prefix + name
	}
	return s.prefix + name + "?v=" + f.version
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, s.prefix)
	f, ok := s.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.typ)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == f.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	h.Set("ETag", `"`+f.version+`"`)
	if r.Header.Get("If-None-Match") == `"`+f.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		body = f.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// BrandCSS serves the store's colours as CSS custom properties (--brand,
// --accent): the Content-Security-Policy allows no inline style, so the
// colours come as a style sheet of their own. Mount it, inside Handler,
// at Prefix + "/brand.css".
func (k *Kit) BrandCSS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := k.viewFor(r, "")
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = fmt.Fprintf(w, ":root{--brand:%s;--accent:%s}\n", cssColor(v.Store.BrandColor, "#1f5f4a"), cssColor(v.Store.AccentColor, "#b4461f"))
	})
}

// cssColor returns c when it is a #rrggbb colour, else def.
func cssColor(c, def string) string {
	if len(c) != 7 || c[0] != '#' {
		return def
	}
	for _, x := range c[1:] {
		if !(x >= '0' && x <= '9' || x >= 'a' && x <= 'f' || x >= 'A' && x <= 'F') {
			return def
		}
	}
	return c
}
