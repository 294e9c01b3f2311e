package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// The analyzers besides bleve's "en": words lowercases without stemming
// (what a prefix is matched against: "coffee" must start with "coffe"),
// sku keeps a SKU whole, lowercased.
const (
	wordsAnalyzer = "words"
	skuAnalyzer   = "sku"
)

// The indexed fields of a product document.
const (
	fieldTitle       = "title"       // en: stemmed, with term vectors for highlights
	fieldTitleWords  = "title_words" // words: prefixes and suggestions
	fieldDescription = "description" // en, with term vectors
	fieldSKU         = "sku"         // sku: whole SKUs
	fieldCategory    = "category"    // en: the category's name
	fieldCategoryKey = "category_key"
	fieldPrice       = "price"    // the lowest variant price, minor units
	fieldInStock     = "in_stock" // "yes" or "no"
	fieldRating      = "rating"   // the average rating, 0 without reviews
	// The facets' keys: one keyword per document each, so that counting
	// them reads one term per hit (a numeric field holds many).
	fieldPriceBucket = "price_bucket" // the price range's value ("1000-2500")
	fieldRatingFloor = "rating_floor" // the whole stars of the average, "0" to "5"
	fieldCreated     = "created"      // unix microseconds
	fieldHit         = "hit"          // stored only: the searchapi.Hit as JSON
	// fieldKey is the product ID as a keyword: the last key of every sort,
	// so that a page ends at a keyset (cheaper to read than bleve's _id).
	fieldKey = "key"
)

// mappingVersion names the mapping and the document's fields; an index
// made with another is made again (from the projection) when opened.
// Change it with any change to newMapping or indexState.document.
const mappingVersion = "2"

// mappingKey is where an index keeps its mappingVersion.
var mappingKey = []byte("mercato.mapping")

// cursorKey is where an index keeps how far it has read the projection,
// written in the same batch as the documents, so that both persist
// together.
var cursorKey = []byte("mercato.cursor")

// doc is what is indexed of a product: one bleve document.
type doc map[string]any

// indexState is a product as the projection holds it: the catalog's
// snapshot, its rating and the available units of its SKUs.
type indexState struct {
	Snapshot    snapshot
	Known       bool // the catalog has spoken of the product
	RatingAvg   float64
	RatingCount int64
	Available   map[string]int64 // per SKU; absent: never stocked
}

// snapshot is the projection's copy of a product event: the product, its
// category then, and whether the event archived it.
type snapshot struct {
	Product  catalogapi.Product      `json:"product"`
	Category *catalogapi.CategoryRef `json:"category,omitempty"`
	Archived bool                    `json:"archived,omitempty"`
}

// searchable reports whether the product belongs in the index: only
// active products are found.
func (s indexState) searchable() bool {
	return s.Known && !s.Snapshot.Archived && s.Snapshot.Product.Status == catalogapi.StatusActive
}

// inStock reports whether one of the product's SKUs has a unit available.
func (s indexState) inStock() bool {
	for _, v := range s.Snapshot.Product.Variants {
		if s.Available[v.SKU] > 0 {
			return true
		}
	}
	return false
}

// document builds the product's bleve document: a pure function of the
// state, so indexing the same state twice leaves the same index.
func (s indexState) document() (doc, error) {
	p := s.Snapshot.Product
	h := searchapi.Hit{ID: p.ID, Slug: p.Slug, Title: p.Title, PriceFrom: p.PriceFrom, InStock: s.inStock(),
		Rating: s.RatingAvg, RatingCount: s.RatingCount, CreatedAt: p.CreatedAt.UTC()}
	if len(p.Images) > 0 {
		h.Image, h.ImageAlt = p.Images[0].URL, p.Images[0].Alt
	}
	d := doc{fieldTitle: p.Title, fieldTitleWords: p.Title, fieldDescription: p.Description,
		fieldPrice: float64(p.PriceFrom.Amount), fieldRating: s.RatingAvg, fieldCreated: float64(p.CreatedAt.UnixMicro()),
		fieldInStock: "no"}
	if h.InStock {
		d[fieldInStock] = "yes"
	}
	d[fieldKey] = p.ID
	d[fieldPriceBucket] = priceBucket(p.PriceFrom.Amount)
	d[fieldRatingFloor] = strconv.Itoa(int(math.Floor(s.RatingAvg)))
	skus := make([]string, 0, len(p.Variants))
	for _, v := range p.Variants {
		skus = append(skus, v.SKU)
	}
	d[fieldSKU] = skus
	if c := s.Snapshot.Category; c != nil {
		h.Category = &searchapi.Category{ID: c.ID, Slug: c.Slug, Name: c.Name}
		d[fieldCategory] = c.Name
		d[fieldCategoryKey] = c.ID + "|" + c.Name
	}
	// Description highlights are cut from the stored text, so the hit
	// keeps it whole; the API answers only a passage of it.
	stored := storedHit{Hit: h, Description: p.Description}
	b, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("encode hit %s: %w", p.ID, err)
	}
	d[fieldHit] = string(b)
	return d, nil
}

// storedHit is what a document stores: the hit and the full description.
type storedHit struct {
	searchapi.Hit
	Description string `json:"description"`
}

// newMapping is the index mapping of every tenant's index.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(wordsAnalyzer, map[string]any{
		"type": custom.Name, "tokenizer": unicode.Name, "token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("add analyzer %s: %w", wordsAnalyzer, err)
	}
	if err := im.AddCustomAnalyzer(skuAnalyzer, map[string]any{
		"type": custom.Name, "tokenizer": single.Name, "token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("add analyzer %s: %w", skuAnalyzer, err)
	}
	text := func(name, analyzer string, vectors bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Name, f.Analyzer, f.Store, f.IncludeTermVectors, f.IncludeInAll = name, analyzer, false, vectors, false
		f.DocValues = false
		return f
	}
	number := func(name string) *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Name, f.Store, f.IncludeInAll = name, false, false
		return f
	}
	facetable := func(name string) *mapping.FieldMapping {
		f := text(name, keyword.Name, false)
		f.DocValues = true
		return f
	}
	stored := bleve.NewTextFieldMapping()
	stored.Name, stored.Index, stored.Store, stored.IncludeInAll, stored.DocValues = fieldHit, false, true, false, false

	dm := bleve.NewDocumentMapping()
	dm.Dynamic = false
	dm.AddFieldMappingsAt(fieldTitle, text(fieldTitle, en.AnalyzerName, true), text(fieldTitleWords, wordsAnalyzer, true))
	dm.AddFieldMappingsAt(fieldDescription, text(fieldDescription, en.AnalyzerName, true))
	dm.AddFieldMappingsAt(fieldSKU, text(fieldSKU, skuAnalyzer, false))
	dm.AddFieldMappingsAt(fieldCategory, text(fieldCategory, en.AnalyzerName, false))
	dm.AddFieldMappingsAt(fieldCategoryKey, facetable(fieldCategoryKey))
	dm.AddFieldMappingsAt(fieldInStock, facetable(fieldInStock))
	dm.AddFieldMappingsAt(fieldKey, facetable(fieldKey))
	dm.AddFieldMappingsAt(fieldPriceBucket, facetable(fieldPriceBucket))
	dm.AddFieldMappingsAt(fieldRatingFloor, facetable(fieldRatingFloor))
	dm.AddFieldMappingsAt(fieldPrice, number(fieldPrice))
	dm.AddFieldMappingsAt(fieldRating, number(fieldRating))
	dm.AddFieldMappingsAt(fieldCreated, number(fieldCreated))
	dm.AddFieldMappingsAt(fieldHit, stored)
	im.DefaultMapping = dm
	im.DefaultAnalyzer = en.AnalyzerName
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

// indexes holds one bleve index per tenant under dir, opened on first use
// and kept open. It is safe for concurrent use.
type indexes struct {
	dir     string
	mapping *mapping.IndexMappingImpl

	mu   sync.Mutex
	open map[string]bleve.Index
}

func newIndexes(dir string) (*indexes, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create index directory: %w", err)
	}
	return &indexes{dir: dir, mapping: m, open: map[string]bleve.Index{}}, nil
}

// path is the directory of a tenant's index. Tenant IDs are DNS labels,
// so they are safe file names; anything else is refused.
func (x *indexes) path(tenant string) (string, error) {
	if !tenancy.Valid(tenant) {
		return "", fmt.Errorf("search: invalid tenant %q", tenant)
	}
	return filepath.Join(x.dir, tenant+".bleve"), nil
}

// errIndexBusy means another process holds the index open.
var errIndexBusy = errors.New("search: the index is in use by another process (stop it first)")

// get returns the tenant's index, creating it when create is set; without
// create, a tenant with no index yet returns nil.
func (x *indexes) get(tenant string, create bool) (bleve.Index, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if idx, ok := x.open[tenant]; ok {
		return idx, nil
	}
	path, err := x.path(tenant)
	if err != nil {
		return nil, err
	}
	idx, err := bleve.OpenUsing(path, indexConfig())
	if err == nil {
		if v, verr := idx.GetInternal(mappingKey); verr != nil || string(v) != mappingVersion {
			// Made by another version: made again, empty, as a damaged one is.
			_ = idx.Close()
			err = fmt.Errorf("mapping %q, want %q", v, mappingVersion)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist):
		if !create {
			return nil, nil
		}
		if idx, err = x.create(path); err != nil {
			return nil, fmt.Errorf("create index of %s: %w", tenant, err)
		}
	case err.Error() == "timeout":
		return nil, errIndexBusy
	default:
		// A damaged index (a crash while it was made) or one of another
		// mapping: it is only a copy of the projection, so it is made
		// again, empty, and its cursor (none) has the start read
		// everything into it.
		if !create {
			return nil, fmt.Errorf("open index of %s: %w", tenant, err)
		}
		if rerr := os.RemoveAll(path); rerr != nil {
			return nil, fmt.Errorf("open index of %s: %w (and delete it: %v)", tenant, err, rerr)
		}
		if idx, err = x.create(path); err != nil {
			return nil, fmt.Errorf("create index of %s again: %w", tenant, err)
		}
	}
	x.open[tenant] = idx
	return idx, nil
}

// create makes a new index at path. It is created with batches that wait
// for their files (so that its mapping is on disk before anything else),
// then opened again with indexConfig's.
func (x *indexes) create(path string) (bleve.Index, error) {
	idx, err := bleve.NewUsing(path, x.mapping, scorch.Name, scorch.Name, map[string]any{"bolt_timeout": "2s"})
	if err != nil {
		return nil, err
	}
	if err := idx.SetInternal(mappingKey, []byte(mappingVersion)); err != nil {
		_ = idx.Close()
		return nil, err
	}
	if err := idx.Close(); err != nil {
		return nil, err
	}
	return bleve.OpenUsing(path, indexConfig())
}

// persist writes internal value v under key into every open index and
// waits until each has its files written, with everything batched before.
func (x *indexes) persist(key, v []byte, timeout time.Duration) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for t, idx := range x.open {
		done := make(chan error, 1)
		b := idx.NewBatch()
		b.SetInternal(key, v)
		b.SetPersistedCallback(func(err error) { done <- err })
		if err := idx.Batch(b); err != nil {
			errs = append(errs, fmt.Errorf("persist index of %s: %w", t, err))
			continue
		}
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("persist index of %s: %w", t, err))
			}
		case <-time.After(timeout):
			errs = append(errs, fmt.Errorf("persist index of %s: not written after %s", t, timeout))
		}
	}
	return errors.Join(errs...)
}

// indexConfig is the scorch configuration of every index. A batch returns
// once it is searchable, without waiting for its files to be written
// (unsafe_batch): the projection in SQL is what survives a crash, and the
// cursor an index keeps is written in its batches, in order, so an index
// that lost its last batches also lost the cursor past them and reads them
// again on start. A lock held by another process fails after bolt_timeout
// instead of waiting for ever.
func indexConfig() map[string]any {
	return map[string]any{"unsafe_batch": true, "bolt_timeout": "2s",
		// The persister waits a little between writes, so that the small
		// segments of one-product batches are merged in memory and written
		// as one, rather than written each and merged again on disk.
		"scorchPersisterOptions": map[string]any{"PersisterNapTimeMSec": persisterNap}}
}

// persisterNap is how long (ms) an index's persister waits between writes.
const persisterNap = 500

// existing lists the tenants with an index on disk.
func (x *indexes) existing() ([]string, error) {
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := cutSuffix(e.Name(), ".bleve"); ok && e.IsDir() && tenancy.Valid(name) {
			out = append(out, name)
		}
	}
	return out, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// cursor returns how far the tenant's index has read the projection; the
// zero cursor for an index that never read (or was just made).
func (x *indexes) cursor(tenant string) (projCursor, error) {
	idx, err := x.get(tenant, true)
	if err != nil || idx == nil {
		return projCursor{}, err
	}
	b, err := idx.GetInternal(cursorKey)
	if err != nil {
		return projCursor{}, fmt.Errorf("read cursor of %s: %w", tenant, err)
	}
	var c projCursor
	if len(b) > 0 {
		if err := json.Unmarshal(b, &c); err != nil {
			return projCursor{}, fmt.Errorf("read cursor of %s: %w", tenant, err)
		}
	}
	return c, nil
}

// drop closes and deletes every index: a rebuild starts from nothing.
func (x *indexes) drop() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for t, idx := range x.open {
		if err := idx.Close(); err != nil {
			return fmt.Errorf("close index of %s: %w", t, err)
		}
		delete(x.open, t)
	}
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	for _, e := range entries {
		if _, ok := cutSuffix(e.Name(), ".bleve"); ok {
			if err := os.RemoveAll(filepath.Join(x.dir, e.Name())); err != nil {
				return fmt.Errorf("delete index %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// Close closes every open index.
func (x *indexes) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for t, idx := range x.open {
		if err := idx.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close index of %s: %w", t, err))
		}
		delete(x.open, t)
	}
	return errors.Join(errs...)
}

// size is the bytes a tenant's index takes on disk, every tenant's for "".
func (x *indexes) size(tenant string) (int64, error) {
	dir := x.dir
	if tenant != "" {
		p, err := x.path(tenant)
		if err != nil {
			return 0, err
		}
		dir = p
	}
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// projCursor is a position in the projection's change order (changed_at,
// tenant, product).
type projCursor struct {
	At     int64  `json:"at"`
	Tenant string `json:"tenant,omitempty"`
	ID     string `json:"id,omitempty"`
}

func (c projCursor) before(o projCursor) bool {
	if c.At != o.At {
		return c.At < o.At
	}
	if c.Tenant != o.Tenant {
		return c.Tenant < o.Tenant
	}
	return c.ID < o.ID
}
