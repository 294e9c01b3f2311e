package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// S3Env names the variable holding the S3-compatible test server's
// endpoint (http://host:port); the blob store tests run on it too when set.
const S3Env = "MERCATO_TEST_S3"

// storages are the blob stores the service is tested on: files always,
// the S3 server when MERCATO_TEST_S3 is set (each test its own bucket).
func runStorages(t *testing.T, body func(t *testing.T, storage string)) {
	t.Run("file", func(t *testing.T) {
		body(t, "file://"+t.TempDir())
	})
	t.Run("s3", func(t *testing.T) {
		ep := os.Getenv(S3Env)
		if ep == "" {
			t.Skip(S3Env + " is not set")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		body(t, "s3://mercato-test-"+hex.EncodeToString(b[:])+"?endpoint="+ep+"&region=us-east-1&use_path_style=true&anonymous=true")
	})
}

type fixture struct {
	t   *testing.T
	db  *sqldb.DB
	svc *Service
	url string
}

func newFixture(t *testing.T, db *sqldb.DB, storage string, cfg Config, products Products) *fixture {
	t.Helper()
	cfg.Storage = storage
	svc, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}, Products: products})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
	return &fixture{t: t, db: db, svc: svc, url: srv.URL}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problem(t *testing.T) (code string, fields []string) {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("not a problem (%d): %s", a.status, a.body)
	}
	for _, e := range p.Errors {
		fields = append(fields, e.Location)
	}
	return p.Code, fields
}

// send posts body as an upload with content type ct, as authz.
func (f *fixture) send(body io.Reader, ct, authz string) answer {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.url+mediaapi.UploadPath, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set(tenancy.Header, "default")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, raw}
}

func (f *fixture) upload(u mediaapi.Upload, authz string) answer {
	f.t.Helper()
	body, ct, err := mediaapi.EncodeUpload(u)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.send(bytes.NewReader(body), ct, authz)
}

func (f *fixture) get(path string, header http.Header) answer {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodGet, f.url+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, raw}
}

// stored counts what the service keeps: blobs, media rows, outbox events.
func (f *fixture) stored() (blobs, rows, events int) {
	f.t.Helper()
	it := f.svc.bucket.List(nil)
	for {
		_, err := it.Next(f.t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.t.Fatal(err)
		}
		blobs++
	}
	ctx := sqldb.AllTenants(f.t.Context())
	err := f.db.ReadTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM media").Scan(&rows); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&events)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return blobs, rows, events
}

var owner = webtest.Bearer

func admin() string { return "Bearer " + webtest.AdminToken }

func TestUploadStoreAndServe(t *testing.T) {
	runStorages(t, func(t *testing.T, storage string) {
		sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
			f := newFixture(t, db, storage, Config{}, nil)
			img := withJPEGExif(testJPEG(t, 800, 600))
			a := f.upload(mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: "p-1", Alt: "A mug", FileName: "mug.jpg", Content: bytes.NewReader(img)}, admin())
			if a.status != http.StatusCreated {
				t.Fatalf("upload = %d %s", a.status, a.body)
			}
			var m mediaapi.Media
			if err := json.Unmarshal(a.body, &m); err != nil {
				t.Fatal(err)
			}
			if m.URL != mediaapi.URL(m.Hash) || m.ContentType != "image/jpeg" || m.Width != 800 || m.Height != 600 ||
				m.Kind != mediaapi.KindProductImage || m.ProductID != "p-1" || m.Alt != "A mug" || len(m.Variants) != 3 {
				t.Errorf("media = %+v", m)
			}

			// Served: the bytes named by the hash, no EXIF, cached for a year.
			got := f.get(m.URL, nil)
			if got.status != 200 || got.header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("GET %s = %d %s", m.URL, got.status, got.header.Get("Content-Type"))
			}
			if h := sha256Hex(got.body); h != m.Hash {
				t.Errorf("served bytes hash to %s, want %s", h, m.Hash)
			}
			if bytes.Contains(got.body, []byte("Exif")) || bytes.Contains(got.body, []byte("GPSLatitude")) {
				t.Error("the served file carries the upload's EXIF")
			}
			// What the blob store holds, the original and every variant.
			for _, key := range []string{originalKey(m.Hash), variantKey(m.Hash, 160), variantKey(m.Hash, 320), variantKey(m.Hash, 640)} {
				stored, err := f.svc.bucket.ReadAll(t.Context(), key)
				if err != nil {
					t.Fatalf("read %s from the blob store: %v", key, err)
				}
				if bytes.Contains(stored, []byte("Exif")) || bytes.Contains(stored, []byte("GPSLatitude")) || bytes.Contains(stored, []byte("SecretPhone")) {
					t.Errorf("the stored %s carries the upload's EXIF", key)
				}
				if key == originalKey(m.Hash) && !bytes.Equal(stored, got.body) {
					t.Error("the served bytes are not the stored ones")
				}
			}
			if cc := got.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control = %q", cc)
			}
			etag := got.header.Get("ETag")
			if etag != `"`+m.Hash+`"` {
				t.Errorf("ETag = %q", etag)
			}
			if nm := f.get(m.URL, http.Header{"If-None-Match": {etag}}); nm.status != http.StatusNotModified || len(nm.body) != 0 {
				t.Errorf("If-None-Match = %d (%d bytes), want 304", nm.status, len(nm.body))
			}
			for _, v := range m.Variants {
				got := f.get(v.URL, nil)
				if got.status != 200 {
					t.Fatalf("GET %s = %d", v.URL, got.status)
				}
				cfg, _, err := image.DecodeConfig(bytes.NewReader(got.body))
				if err != nil || cfg.Width != v.Width || cfg.Height != v.Height || max(cfg.Width, cfg.Height) > v.Size {
					t.Errorf("variant %d is %d×%d (%v), recorded %d×%d", v.Size, cfg.Width, cfg.Height, err, v.Width, v.Height)
				}
				if ct := got.header.Get("Content-Type"); ct != v.ContentType {
					t.Errorf("variant %d is served as %s, recorded as %s", v.Size, ct, v.ContentType)
				}
				if nm := f.get(v.URL, http.Header{"If-None-Match": {got.header.Get("ETag")}}); nm.status != http.StatusNotModified {
					t.Errorf("If-None-Match on %s = %d", v.URL, nm.status)
				}
			}
			for path, code := range map[string]string{
				mediaapi.URL(strings.Repeat("0", 64)): "media_not_found",
				m.URL + "/161":                        "unknown_size",
				"/media/not-a-hash":                   "media_not_found",
				"/media/" + m.Hash + "/0160":          "unknown_size",
			} {
				if got := f.get(path, nil); got.status != 404 {
					t.Errorf("GET %s = %d, want 404", path, got.status)
				} else if c, _ := got.problem(t); c != code {
					t.Errorf("GET %s code = %s, want %s", path, c, code)
				}
			}

			// The same bytes again (another name): stored once, announced again.
			b1, r1, e1 := f.stored()
			if b1 != 4 || r1 != 1 || e1 != 1 {
				t.Errorf("after one upload: %d blobs, %d rows, %d events; want 4, 1, 1", b1, r1, e1)
			}
			again := f.upload(mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: "p-2", FileName: "copy.jpg", Content: bytes.NewReader(img)}, admin())
			var m2 mediaapi.Media
			_ = json.Unmarshal(again.body, &m2)
			if again.status != 200 || m2.ID != m.ID || m2.Hash != m.Hash || m2.ProductID != "p-2" {
				t.Errorf("the same upload again = %d %+v", again.status, m2)
			}
			if b, r, e := f.stored(); b != 4 || r != 1 || e != 2 {
				t.Errorf("after the same upload again: %d blobs, %d rows, %d events; want 4, 1, 2", b, r, e)
			}
			// The event carries what the consumers need.
			var env outbox.Envelope
			ctx := sqldb.AllTenants(t.Context())
			_ = db.ReadTx(ctx, func(tx *sql.Tx) error {
				var raw string
				if err := tx.QueryRowContext(ctx, "SELECT envelope FROM outbox WHERE subject = $1 ORDER BY id LIMIT 1", mediaapi.SubjectUploaded).Scan(&raw); err != nil {
					t.Fatal(err)
				}
				return json.Unmarshal([]byte(raw), &env)
			})
			var up mediaapi.Uploaded
			if err := json.Unmarshal(env.Data, &up); err != nil || env.Tenant != "default" || up.Media.Hash != m.Hash || up.Media.ProductID != "p-1" || up.Media.Kind != mediaapi.KindProductImage {
				t.Errorf("event = %+v %+v (%v)", env, up, err)
			}

			// The metadata, by hash, for the store that uploaded it.
			meta := f.get("/api/v1/admin/media/"+m.Hash, http.Header{"Authorization": {admin()}, tenancy.Header: {"default"}})
			if meta.status != 200 || !bytes.Contains(meta.body, []byte(m.ID)) {
				t.Errorf("GET metadata = %d %s", meta.status, meta.body)
			}
			other := f.get("/api/v1/admin/media/"+m.Hash, http.Header{"Authorization": {admin()}, tenancy.Header: {"other"}})
			if other.status != 404 {
				t.Errorf("another store's GET metadata = %d, want 404", other.status)
			}
		}, Migrations...)
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// countingReader produces n bytes of a PNG-looking stream and counts how
// many were read.
type countingReader struct {
	n, read int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > r.n-r.read {
		k = r.n - r.read
	}
	for i := range p[:k] {
		p[i] = 'x'
	}
	atomic.AddInt64(&r.read, k)
	return int(k), nil
}

// TestUploadRefusals: each bad upload is a 4xx with its code, and nothing
// of it is stored: no blob, no row, no event.
func TestUploadRefusals(t *testing.T) {
	runStorages(t, func(t *testing.T, storage string) {
		sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
			f := newFixture(t, db, storage, Config{MaxUpload: 1 << 20}, nil)
			good := testPNG(t, 64, 64)
			up := func(name string, data []byte) mediaapi.Upload {
				return mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: "p-1", FileName: name, Content: bytes.NewReader(data)}
			}
			for _, tc := range []struct {
				name   string
				u      mediaapi.Upload
				status int
				code   string
			}{
				{"a renamed executable", up("photo.png", elf()), 415, "unsupported_image_type"},
				{"a truncated PNG", up("cut.png", good[:len(good)/2]), 422, "corrupt_image"},
				{"a 50,000 × 50,000 PNG of a few KB", up("bomb.png", bombPNG(t, 50_000, 50_000)), 422, "image_too_large"},
				{"a path-traversal file name", up("../../etc/cron.d/x.png", good), 422, "invalid_file_name"},
				{"a Windows path", up(`..\..\boot.png`, good), 422, "invalid_file_name"},
				{"a control character in the name", up("a\tb.png", good), 422, "invalid_file_name"},
				{"a file over the limit", up("big.png", append(append([]byte{}, good...), make([]byte, 1<<20)...)), 413, "file_too_large"},
				{"no file", mediaapi.Upload{Kind: mediaapi.KindLogo}, 422, "no_file"},
				{"no kind", mediaapi.Upload{FileName: "a.png", Content: bytes.NewReader(good)}, 422, "validation_failed"},
				{"a product image without product", mediaapi.Upload{Kind: mediaapi.KindProductImage, FileName: "a.png", Content: bytes.NewReader(good)}, 422, "validation_failed"},
				{"a logo for a product", mediaapi.Upload{Kind: mediaapi.KindLogo, ProductID: "p-1", FileName: "a.png", Content: bytes.NewReader(good)}, 422, "validation_failed"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					a := f.upload(tc.u, admin())
					if a.status != tc.status {
						t.Fatalf("= %d %s, want %d", a.status, a.body, tc.status)
					}
					if code, _ := a.problem(t); code != tc.code {
						t.Errorf("code = %s, want %s: %s", code, tc.code, a.body)
					}
				})
			}
			t.Run("not multipart", func(t *testing.T) {
				a := f.send(bytes.NewReader(good), "image/png", admin())
				if code, _ := a.problem(t); a.status != 415 || code != "not_multipart" {
					t.Errorf("= %d %s", a.status, a.body)
				}
			})
			t.Run("100 MB streamed", func(t *testing.T) {
				// No Content-Length: the server cannot refuse it up front
				// and must stop reading at its limit.
				r := &countingReader{n: 100 << 20}
				body, ct, _ := mediaapi.EncodeUpload(mediaapi.Upload{Kind: mediaapi.KindLogo, FileName: "huge.png"})
				// The file part is the body's end: send the head, then the stream.
				head := body[:bytes.LastIndex(body, []byte("\r\n--"))]
				a := f.sendStream(io.MultiReader(bytes.NewReader(head), r), ct)
				if a.status != http.StatusRequestEntityTooLarge {
					t.Fatalf("= %d %s, want 413", a.status, a.body)
				}
				if read := atomic.LoadInt64(&r.read); read > 20<<20 {
					t.Errorf("the server read %d MB of a 100 MB body with a 1 MiB limit", read>>20)
				}
			})
			t.Run("100 MB announced", func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+mediaapi.UploadPath, &countingReader{n: 100 << 20})
				req.ContentLength = 100 << 20
				req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
				req.Header.Set("Authorization", admin())
				req.Header.Set(tenancy.Header, "default")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server may close before the client finished writing
				}
				res.Body.Close()
				if res.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("= %d, want 413", res.StatusCode)
				}
			})
			if b, r, e := f.stored(); b != 0 || r != 0 || e != 0 {
				t.Errorf("refused uploads left %d blobs, %d rows, %d events", b, r, e)
			}
		}, Migrations...)
	})
}

// sendStream posts r (of unknown length) as an upload.
func (f *fixture) sendStream(r io.Reader, ct string) answer {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.url+mediaapi.UploadPath, io.NopCloser(r))
	if err != nil {
		f.t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", admin())
	req.Header.Set(tenancy.Header, "default")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("send: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, raw}
}

// products is the catalog's answer to whether a product exists.
type products map[string]bool

func (p products) AdminProduct(_ context.Context, id string) (catalogapi.Product, error) {
	if !p[id] {
		return catalogapi.Product{}, catalogapi.ErrNotFound
	}
	return catalogapi.Product{ID: id}, nil
}

func TestUploadUnknownProduct(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), "file://"+t.TempDir(), Config{}, products{"p-1": true})
	a := f.upload(mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: "p-404", FileName: "a.png", Content: bytes.NewReader(testPNG(t, 10, 10))}, admin())
	if code, fields := a.problem(t); a.status != 422 || code != "unknown_product" || len(fields) != 1 || fields[0] != "body.product_id" {
		t.Errorf("= %d %s", a.status, a.body)
	}
	if b, r, e := f.stored(); b+r+e != 0 {
		t.Errorf("an upload for an unknown product left %d blobs, %d rows, %d events", b, r, e)
	}
	if a := f.upload(mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: "p-1", FileName: "a.png", Content: bytes.NewReader(testPNG(t, 10, 10))}, admin()); a.status != 201 {
		t.Errorf("upload for a product = %d %s", a.status, a.body)
	}
}

// TestAccess: owners and managers upload, staff read, support, customers
// and anonymous callers neither; the document says what the table says.
func TestAccess(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), "file://"+t.TempDir(), Config{}, nil)
	png := testPNG(t, 20, 20)
	for _, tc := range []struct {
		name  string
		authz string
		want  int
	}{
		{"owner", owner(t, auth.Principal{Tenant: "default", Subject: "o", Kind: auth.KindStaff, Role: auth.RoleOwner}), 201},
		{"manager", webtest.Staff(t, auth.RoleManager), 200},
		{"staff", webtest.Staff(t, auth.RoleStaff), 403},
		{"support", webtest.Staff(t, auth.RoleSupport), 403},
		{"customer", webtest.Customer(t), 403},
		{"anonymous", "", 401},
	} {
		if a := f.upload(mediaapi.Upload{Kind: mediaapi.KindLogo, FileName: "l.png", Content: bytes.NewReader(png)}, tc.authz); a.status != tc.want {
			t.Errorf("%s uploads: %d %s, want %d", tc.name, a.status, a.body, tc.want)
		}
	}
	c, _ := clean(png, DefaultMaxPixels)
	webtest.CheckCalls(t, f.url, []webtest.Call{
		{Name: "staff reads", Method: "GET", Path: "/api/v1/admin/media/" + c.hash, Authz: webtest.Staff(t, auth.RoleStaff), Want: 200},
		{Name: "support reads nothing", Method: "GET", Path: "/api/v1/admin/media/" + c.hash, Authz: webtest.Staff(t, auth.RoleSupport), Want: 403},
		{Name: "anyone gets the file", Method: "GET", Path: mediaapi.URL(c.hash), Want: 200},
	})
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}
