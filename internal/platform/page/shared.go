package page

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/maypok86/otter/v2"

	"github.com/mercato/mercato/internal/platform/cache"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// SharedOptions configure the cache of shared pages (Kit.Shared): pages
// that are the same for every visitor without a session, such as a
// storefront's product pages for a guest, rendered once and served to
// each such visitor with fresh form keys.
type SharedOptions struct {
	// TTL bounds how long a rendered page is served. Zero or less: no
	// cache, every page is rendered for its request.
	TTL time.Duration
	// Bytes bounds the memory of the cache; zero means 32 MiB.
	Bytes int
	// Changes and Sources tell when the data a page shows changed: a
	// page is current while Changes.Version(tenant, Sources...) is the
	// version read before it was rendered. Nil Changes: the TTL alone
	// bounds how old a page may be (the services it reads run in other
	// processes, whose commits this process does not see).
	Changes *cache.Changes
	Sources []string
}

// DefaultSharedBytes bounds the shared page cache when SharedOptions.Bytes
// is zero.
const DefaultSharedBytes = 32 << 20

// keyPlaceholder stands for a form's Idempotency-Key in a shared page: as
// long as a key (22 characters of base64url), so replacing it keeps the
// page's length, and in no key NewKey makes (those are random).
const keyPlaceholder = "KEYxSHAREDxPAGExFORMxK"

// sharedRender marks the context of a request whose page is rendered for
// the shared cache: form keys are placeholders and the body is not
// compressed (each answer compresses its own copy).
type sharedRender struct{}

type sharedPage struct {
	version     uint64
	contentType string
	body        []byte
	keys        bool
}

type sharedCache struct {
	opts    SharedOptions
	entries *otter.Cache[string, sharedPage]
}

func newSharedCache(o SharedOptions) *sharedCache {
	if o.TTL <= 0 {
		return nil
	}
	if o.Bytes <= 0 {
		o.Bytes = DefaultSharedBytes
	}
	return &sharedCache{opts: o, entries: otter.Must(&otter.Options[string, sharedPage]{
		MaximumWeight:    uint64(o.Bytes),
		Weigher:          func(k string, p sharedPage) uint32 { return uint32(min(len(k)+len(p.body), 1<<31)) },
		ExpiryCalculator: otter.ExpiryWriting[string, sharedPage](o.TTL),
	})}
}

// Shared serves the GET page h renders from a cache shared by every
// visitor who has no session (no session cookie): a guest's first visit, a
// crawler, a load test. A visitor with a session (signed in, a cart, a
// flash message to show) always gets a page rendered for them, as does
// every request when the kit has no shared cache (SharedOptions.TTL).
//
// Only a 200 page is kept, and only when rendering it changed no session.
// A page is rendered again once its TTL has passed or once a commit of
// one of the Sources databases for its store (SharedOptions.Changes) has
// happened since it was rendered. The cache key is the store, the host and
// the path with its query. Each answer fills the page's form keys afresh,
// so two visitors never submit a form with the same Idempotency-Key.
func (k *Kit) Shared(h http.HandlerFunc) http.HandlerFunc {
	c := k.shared
	if c == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead || k.hasSessionCookie(r) {
			h(w, r)
			return
		}
		tenant, err := tenancy.ID(r.Context())
		if err != nil {
			h(w, r)
			return
		}
		key := tenant + "\x00" + r.Host + "\x00" + r.URL.RequestURI()
		version := c.opts.Changes.Version(tenant, c.opts.Sources...)
		if p, ok := c.entries.GetIfPresent(key); ok && p.version == version {
			servePage(w, r, http.StatusOK, p)
			return
		}
		rec := &recorder{header: http.Header{}}
		rr := r.WithContext(context.WithValue(r.Context(), sharedRender{}, true))
		h(rec, rr)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		p := sharedPage{version: version, contentType: rec.header.Get("Content-Type"), body: rec.body.Bytes(),
			keys: bytes.Contains(rec.body.Bytes(), []byte(keyPlaceholder))}
		if status == http.StatusOK && k.opts.Sessions.Status(rr.Context()) == scs.Unmodified {
			c.entries.Set(key, p)
		}
		for name, vs := range rec.header {
			if name != "Content-Length" && name != "Content-Type" {
				w.Header()[name] = vs
			}
		}
		servePage(w, r, status, p)
	}
}

func (k *Kit) hasSessionCookie(r *http.Request) bool {
	_, err := r.Cookie(k.opts.Sessions.Cookie.Name)
	return err == nil
}

// servePage writes p with its form keys filled, compressed when the
// client takes gzip, as render does.
func servePage(w http.ResponseWriter, r *http.Request, status int, p sharedPage) {
	body := p.body
	if p.keys {
		body = fillKeys(body)
	}
	if p.contentType != "" {
		w.Header().Set("Content-Type", p.contentType)
	}
	writeBody(w, r, status, body, true)
}

// fillKeys returns a copy of body with a new form key for each
// placeholder.
func fillKeys(body []byte) []byte {
	out := make([]byte, 0, len(body))
	for {
		i := bytes.Index(body, []byte(keyPlaceholder))
		if i < 0 {
			return append(out, body...)
		}
		out = append(out, body[:i]...)
		out = append(out, NewKey()...)
		body = body[i+len(keyPlaceholder):]
	}
}

// recorder keeps what a handler answers, for the shared cache.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
