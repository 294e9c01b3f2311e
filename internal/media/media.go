// Package media is the media service: it takes image uploads from the
// admin (product pictures, the store's logo), checks them by their bytes
// (never by their name), re-encodes them without metadata, resizes them,
// stores them content-addressed (by the SHA-256 of the cleaned bytes) in a
// blob store (files on a laptop, S3 in production) and serves them with
// immutable cache headers. Each upload is announced as media.uploaded.v1,
// which the catalog (product images) and the tenant service (logos)
// consume.
//
// An upload is checked whole before anything is stored: a body over the
// limit is refused as it streams in, the type comes from the bytes, the
// image's dimensions are read from its header and refused over the pixel
// limit before any pixel is decoded, and a file that does not decode is
// refused. Nothing of a refused upload reaches the blob store or the
// database.
package media

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/pflag"
	"gocloud.dev/blob"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/media/mediadb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the media database is migrated with: the
// outbox's, then the media table.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "media_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrInvalid         = errors.New("media: invalid upload")
	ErrNotMultipart    = errors.New("media: not a multipart/form-data body")
	ErrNoFile          = errors.New("media: no file")
	ErrFileTooLarge    = errors.New("media: file too large")
	ErrUnsupportedType = errors.New("media: not a PNG, JPEG or GIF image")
	ErrCorruptImage    = errors.New("media: the image does not decode")
	ErrTooManyPixels   = errors.New("media: the image has too many pixels")
	ErrFileName        = errors.New("media: invalid file name")
	ErrUnknownProduct  = errors.New("media: unknown product")
	ErrNotFound        = errors.New("media: not found")
	ErrUnavailable     = errors.New("media: the catalog is not answering")
)

// Config tunes the media service. The zero value takes the defaults, but
// for the storage: New needs Storage or Data.
type Config struct {
	// Storage is the blob store's URL (gocloud.dev/blob): file:///dir on
	// one machine, s3://bucket?region=… (with endpoint=… and
	// use_path_style=true for another S3-compatible server) in production.
	// Empty: files under Data/media.
	Storage string
	// Data is the data directory, where an empty Storage keeps the files.
	// Not a flag: cmd/mercato passes -data.
	Data string
	// MaxUpload bounds the uploaded file, in bytes.
	MaxUpload int64
	// MaxPixels bounds an image's width × height, read from its header
	// before any pixel is decoded.
	MaxPixels int64
}

// Defaults of Config.
const (
	DefaultMaxUpload = mediaapi.DefaultMaxUpload
	DefaultMaxPixels = 25_000_000
	// maxSide bounds either side of an image whatever its pixel count, so
	// that a 1 × 25,000,000 strip is no cheaper to sneak in.
	maxSide = 20_000
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "media."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.Storage, prefix+"storage", "", "blob store URL for uploads: file:///dir, or s3://bucket?region=… (endpoint=…&use_path_style=true for another S3-compatible server) (default: files under -data/media)")
	fs.Int64Var(&c.MaxUpload, prefix+"max-upload", DefaultMaxUpload, "largest file accepted by an upload, in bytes")
	fs.Int64Var(&c.MaxPixels, prefix+"max-pixels", DefaultMaxPixels, "largest image accepted by an upload, in pixels (width × height), checked before decoding")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.MaxUpload == 0 {
		c.MaxUpload = DefaultMaxUpload
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.Storage == "" && c.Data != "" {
		if dir, err := filepath.Abs(filepath.Join(c.Data, "media")); err == nil {
			c.Storage = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
		}
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.MaxUpload < 1<<10 || c.MaxUpload > 1<<30 {
		return fmt.Errorf("media: max-upload %d must be from 1 KiB to 1 GiB", c.MaxUpload)
	}
	if c.MaxPixels < 1 || c.MaxPixels > 200_000_000 {
		return fmt.Errorf("media: max-pixels %d must be from 1 to 200,000,000", c.MaxPixels)
	}
	if c.Storage != "" {
		u, err := url.Parse(c.Storage)
		if err != nil || (u.Scheme != "file" && u.Scheme != "s3" && u.Scheme != "mem") {
			return fmt.Errorf("media: storage %q must be a file://, s3:// or mem:// URL", c.Storage)
		}
	}
	return nil
}

// Products tells whether a product exists: catalogapi.Client's admin read,
// called with the service token.
type Products interface {
	AdminProduct(ctx context.Context, id string) (catalogapi.Product, error)
}

// Deps is what the media service is built from.
type Deps struct {
	kit.Deps
	// Products checks the product of a product image before anything is
	// stored (unknown_product). Nil: not checked, and the catalog ignores
	// an image of a product it does not have.
	Products Products
}

// Service is the media service. It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    *kit.Store[*mediadb.Queries]
	bucket   *blob.Bucket
	products Products
	log      *slog.Logger
	now      func() time.Time
	// cleaning bounds how many uploads are decoded and resized at once:
	// one per CPU, since each is CPU-bound and holds its decoded pixels
	// (up to 4 bytes × MaxPixels) while it runs.
	cleaning chan struct{}
}

// New returns the media service on deps.DB, migrated with Migrations, with
// its files in the blob store cfg.Storage names.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Storage == "" {
		return nil, errors.New("media: no storage (set -media.storage or -data)")
	}
	st, err := kit.Prepare(ctx, "media", deps.Deps, mediadb.Prepare)
	if err != nil {
		return nil, err
	}
	bucket, err := openBucket(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bucket: bucket, products: deps.Products, log: deps.Logger(), now: time.Now,
		cleaning: make(chan struct{}, runtime.GOMAXPROCS(0))}, nil
}

// Run waits for ctx, then closes the blob store.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return s.Close()
}

// Close closes the blob store.
func (s *Service) Close() error {
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("media: close storage: %w", err)
	}
	return nil
}
