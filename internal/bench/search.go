package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// SearchOptions are the settings of `mercato bench search` beyond the
// shared ones.
type SearchOptions struct {
	Options
	// Products is how many generated products the second part indexes
	// and searches; 0 skips it.
	Products int
}

// MaxGeneratedProducts bounds -products.
const MaxGeneratedProducts = 1_000_000

// Search is `mercato bench search`. On the demo catalog it measures the
// search API (GET o.Path) and, in the same run, the same words asked of
// the tenant's bleve index directly (the service's own query, then a plain
// match query): what the API costs over bleve. Then, unless o.Products is
// 0, it signs up a store, indexes that many generated products through the
// search service's consumer path, and reports the build's time and size
// and the same three measurements on them.
func (r *Runner) Search(ctx context.Context, o SearchOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench search:\n%w", err)
	}
	if o.Products < 0 || o.Products > MaxGeneratedProducts {
		return fmt.Errorf("bench search: -products must be 0 to %d, got %d", MaxGeneratedProducts, o.Products)
	}
	if o.URL != "" {
		return errors.New("bench search: it compares the API with bleve queried in this process, so it boots its own Mercato: leave -url unset")
	}
	pu, err := url.Parse(o.Path)
	if err != nil || pu.Path != "/api/v1/search" {
		return fmt.Errorf("bench search: -path must be /api/v1/search?…, got %q", o.Path)
	}
	words := pu.Query().Get("q")
	return r.withInstance(ctx, func(ctx context.Context, base, note string, sys *app.System) error {
		svc, ok := sys.Service("search").(searchService)
		if !ok {
			return errors.New("bench search: this Mercato runs no search service (-services)")
		}
		if err := r.searchDemo(ctx, base, o, words, svc); err != nil {
			return err
		}
		if o.Products > 0 {
			if err := r.searchGenerated(ctx, base, o, svc); err != nil {
				return err
			}
		}
		fmt.Fprintln(r.Stdout)
		fmt.Fprintln(r.Stdout, "req/s counts good answers only. \"service query\" is the search service's own query (fuzzy and prefix")
		fmt.Fprintln(r.Stdout, "terms, facets, highlights) asked of bleve in process; \"plain match\" a bleve match query on the title")
		fmt.Fprintln(r.Stdout, "and description with neither: the difference is what the API adds (HTTP, JSON) and what the features cost.")
		fmt.Fprintf(r.Stdout, "The load generator runs on this machine (%d CPUs) and competes with the server for them.\n", runtime.NumCPU())
		fmt.Fprintln(r.Stdout, note+".")
		return nil
	})
}

// searchDemo waits for the demo catalog to be indexed, then measures.
// searchService is what bench search asks of the search service running in
// its process: its consumer path, its query, its index and its rebuild.
type searchService interface {
	Deliver(ctx context.Context, e outbox.Envelope) error
	Search(ctx context.Context, in searchapi.Query) (searchapi.Results, error)
	Rebuild(ctx context.Context) (int, error)
	Bleve(tenant string) (bleve.Index, error)
	IndexSize(tenant string) (int64, error)
}

func (r *Runner) searchDemo(ctx context.Context, base string, o SearchOptions, words string, svc searchService) error {
	header := http.Header{"Host": {storeHost(base)}, "Accept": {"application/json"}}
	n, took, err := waitIndexed(ctx, base, header, 2*time.Minute)
	if err != nil {
		return err
	}
	size, err := svc.IndexSize("default")
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "bench search: the demo catalog, %d products, indexed from the catalog's events %s after the seed; index %s\n",
		n, took.Round(time.Millisecond), formatBytes(size))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target · q=%q\n\n", o.Load.Mode(), o.Load.Warmup, o.Load.Duration, words)
	return r.searchCompare(ctx, base+o.Path, header, o, svc, "default", []string{words})
}

// searchCompare measures the API at apiURL, then the service's query and a
// plain match query on the tenant's index in process, and prints them.
func (r *Runner) searchCompare(ctx context.Context, apiURL string, header http.Header, o SearchOptions, svc searchService, tenant string, queries []string) error {
	api := Target{Name: "search API (HTTP)", URL: apiURL, Header: header, Check: searchCheck}
	ar, err := r.measure(ctx, api, o.Load, o.CPUProfile)
	if err != nil {
		return err
	}
	idx, err := svc.Bleve(tenant)
	if err != nil || idx == nil {
		return fmt.Errorf("bench search: open the index of %s: %v", tenant, err)
	}
	tctx := tenancy.WithID(ctx, tenant)
	var next atomic.Uint64
	pick := func() string { return queries[int(next.Add(1))%len(queries)] }
	fmt.Fprintln(r.Stderr, "measuring the service's query in process …")
	sr := direct(ctx, "service query (in process)", o.Load, func(ctx context.Context) error {
		_, err := svc.Search(tctx, searchapi.Query{Q: pick()})
		return err
	})
	fmt.Fprintln(r.Stderr, "measuring a plain bleve match query …")
	br := direct(ctx, "plain match (bleve)", o.Load, func(ctx context.Context) error {
		words := pick()
		title, desc := bleve.NewMatchQuery(words), bleve.NewMatchQuery(words)
		title.SetField("title")
		desc.SetField("description")
		req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(title, desc), 20, 0, false)
		_, err := idx.SearchInContext(ctx, req)
		return err
	})
	if err := WriteTable(r.Stdout, ar, sr, br); err != nil {
		return err
	}
	if br.Throughput > 0 {
		fmt.Fprintf(r.Stdout, "API ÷ plain bleve: %.2f · service query ÷ plain bleve: %.2f\n", ar.Throughput/br.Throughput, sr.Throughput/br.Throughput)
	}
	return nil
}

// searchCheck accepts a 200 with a results body.
func searchCheck(resp Response) error {
	if resp.Status != http.StatusOK {
		return fmt.Errorf("status %d", resp.Status)
	}
	if !strings.HasPrefix(string(resp.Body), `{"total":`) {
		return errors.New("not a search result")
	}
	return nil
}

// waitIndexed waits until the search API finds as many products as the
// catalog lists, and says how many and how long that took.
func waitIndexed(ctx context.Context, base string, header http.Header, limit time.Duration) (int, time.Duration, error) {
	start := time.Now()
	want, cursor := 0, ""
	for {
		resp, err := Record(ctx, Target{Name: "products", URL: base + "/api/v1/products?limit=100&cursor=" + url.QueryEscape(cursor), Header: header}, 10*time.Second)
		if err != nil {
			return 0, 0, err
		}
		var l struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(resp.Body, &l); err != nil {
			return 0, 0, fmt.Errorf("count the catalog's products: %w", err)
		}
		want += len(l.Items)
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	for {
		resp, err := Record(ctx, Target{Name: "search", URL: base + "/api/v1/search?limit=1", Header: header}, 10*time.Second)
		if err != nil {
			return 0, 0, err
		}
		var res struct {
			Total int `json:"total"`
		}
		if err := json.Unmarshal(resp.Body, &res); err != nil {
			return 0, 0, fmt.Errorf("read the search total: %w", err)
		}
		if res.Total >= want {
			return res.Total, time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, 0, fmt.Errorf("bench search: the index holds %d of the catalog's %d products after %s", res.Total, want, limit)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// searchGenerated signs up a store, indexes o.Products generated products
// into it through the search service's consumer path (each event applied
// once to the projection, then indexed), rebuilds the index from the
// projection, and measures it.
func (r *Runner) searchGenerated(ctx context.Context, base string, o SearchOptions, svc searchService) error {
	sub := fmt.Sprintf("bench-%d", time.Now().UnixNano()%1_000_000)
	header := http.Header{"Host": {storeHost(base)}}
	signup, _ := json.Marshal(map[string]string{"store_name": "Bench generated", "subdomain": sub,
		"email": "owner@" + sub + ".example", "password": "bench search generated store"})
	resp, err := Record(ctx, Target{Name: "signup", Method: http.MethodPost, URL: base + "/api/v1/tenants",
		Header: http.Header{"Host": header["Host"], "Content-Type": {"application/json"}}, Body: signup}, 30*time.Second)
	if err != nil {
		return err
	}
	var made struct {
		Store struct {
			ID string `json:"id"`
		} `json:"store"`
	}
	if err := json.Unmarshal(resp.Body, &made); err != nil || made.Store.ID == "" || resp.Status >= 300 {
		return fmt.Errorf("bench search: sign up the generated store: %d %s", resp.Status, resp.Body)
	}
	tenant := made.Store.ID

	fmt.Fprintf(r.Stderr, "indexing %d generated products …\n", o.Products)
	gen := newGenerator(tenant)
	start := time.Now()
	// As the bus delivers them: each of the two consumers (catalog,
	// inventory) applies searchapi.ConsumerConcurrency events at once.
	var next, done atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 2 * searchapi.ConsumerConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.Products || failed.Load() != nil || ctx.Err() != nil {
					return
				}
				for _, e := range gen.events(i) {
					if err := svc.Deliver(ctx, e); err != nil {
						err = fmt.Errorf("bench search: index generated product %d: %w", i, err)
						failed.CompareAndSwap(nil, &err)
						return
					}
				}
				done.Add(1)
			}
		})
	}
	progress := time.NewTicker(5 * time.Second)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-progress.C:
			fmt.Fprintf(r.Stderr, "  %d of %d …\n", done.Load(), o.Products)
		}
	}
	progress.Stop()
	if err := failed.Load(); err != nil {
		return *err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	applied := time.Since(start)
	// The index follows the projection: wait until it finds them all.
	sh := http.Header{"Host": {sub + "." + storeHost(base)}, "Accept": {"application/json"}}
	for {
		resp, err := Record(ctx, Target{Name: "search", URL: base + "/api/v1/search?limit=1", Header: sh}, 10*time.Second)
		if err != nil {
			return err
		}
		var res struct {
			Total int `json:"total"`
		}
		if err := json.Unmarshal(resp.Body, &res); err != nil {
			return fmt.Errorf("bench search: read the generated store's total: %d %s", resp.Status, resp.Body)
		}
		if res.Total >= o.Products {
			break
		}
		if time.Since(start) > applied+10*time.Minute {
			return fmt.Errorf("bench search: the index holds %d of %d products 10 minutes after the last event", res.Total, o.Products)
		}
		time.Sleep(10 * time.Millisecond)
	}
	built := time.Since(start)
	size, err := svc.IndexSize(tenant)
	if err != nil {
		return err
	}
	fresh, err := freshness(ctx, svc, gen, min(o.Products, 200))
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Stderr, "rebuilding every index from the projection …\n")
	rstart := time.Now()
	read, err := svc.Rebuild(ctx)
	if err != nil {
		return err
	}
	rebuilt := time.Since(rstart)

	fmt.Fprintf(r.Stdout, "\nbench search: %d generated products (2 events each: the product and its stock)\n", o.Products)
	fmt.Fprintf(r.Stdout, "build through the consumer path: every product searchable after %s (%.0f products/s; the projection had them after %s); index %s\n",
		built.Round(time.Millisecond), float64(o.Products)/built.Seconds(), applied.Round(time.Millisecond), formatBytes(size))
	fmt.Fprintf(r.Stdout, "freshness: %d product changes, one at a time, searchable after p50 %s · p99 %s · max %s\n",
		len(fresh), FormatDuration(pctl(fresh, 0.50)), FormatDuration(pctl(fresh, 0.99)), FormatDuration(fresh[len(fresh)-1]))
	fmt.Fprintf(r.Stdout, "rebuild of every index from the projection: %d products in %s (%.0f products/s)\n\n",
		read, rebuilt.Round(time.Millisecond), float64(read)/rebuilt.Seconds())
	qs := gen.queries()
	apiURL := base + "/api/v1/search?q=" + url.QueryEscape(qs[0])
	// The store answers at its subdomain of the base domain (localhost).
	h := sh
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target · API q=%q, in process %d queries in turn\n\n",
		o.Load.Mode(), o.Load.Warmup, o.Load.Duration, qs[0], len(qs))
	return r.searchCompare(ctx, apiURL, h, o, svc, tenant, qs)
}

// freshness renames n generated products one after the other, each with a
// word no product has, handing each change in as the bus would, and
// measures how long each took to be found: the time from the event to a
// searchable change. The durations come back sorted.
func freshness(ctx context.Context, svc searchService, gen *generator, n int) ([]time.Duration, error) {
	tctx := tenancy.WithID(ctx, gen.tenant)
	out := make([]time.Duration, 0, n)
	for i := range n {
		word := fmt.Sprintf("freshmark%06d", i)
		e := gen.renamed(i, word)
		start := time.Now()
		if err := svc.Deliver(ctx, e); err != nil {
			return nil, fmt.Errorf("bench search: change product %d: %w", i, err)
		}
		// Earlier marks are a typo or two away from this one: look for the
		// product among the first hits (the exact match ranks first).
		id := fmt.Sprintf("gen-%07d", i)
	poll:
		for {
			res, err := svc.Search(tctx, searchapi.Query{Q: word, Limit: 3})
			if err != nil {
				return nil, fmt.Errorf("bench search: find the change of product %d: %w", i, err)
			}
			for _, h := range res.Items {
				if h.ID == id {
					break poll
				}
			}
			if time.Since(start) > time.Minute {
				return nil, fmt.Errorf("bench search: the change of product %d is not found after a minute", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out, nil
}

// pctl is the p-th quantile of sorted durations.
func pctl(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// generator makes deterministic products from a small vocabulary, so that
// queries find many of them.
type generator struct {
	tenant string
	at     time.Time
}

var (
	genOrigins = []string{"Ethiopia", "Kenya", "Colombia", "Brazil", "Guatemala", "Sumatra", "Yunnan", "Darjeeling", "Assam", "Uji", "Rwanda", "Peru"}
	genKinds   = []string{"Coffee", "Espresso", "Tea", "Matcha", "Filter Roast", "Cold Brew", "Oolong", "Decaf", "Blend", "Sencha"}
	genThings  = []string{"Beans", "Ground", "Leaves", "Pods", "Sampler", "Gift Box", "Capsules", "Bag"}
	genWords   = strings.Fields("bright floral chocolate caramel citrus berry nutty smoky sweet earthy rich smooth bold light " +
		"balanced fruity honey jasmine malty roasted washed natural organic fresh single origin harvest")
	genCats = []string{"coffee", "espresso", "tea", "green-tea", "accessories", "gifts", "decaf", "samplers"}
)

func newGenerator(tenant string) *generator {
	return &generator{tenant: tenant, at: time.Now().UTC().Add(-time.Hour)}
}

// events are product i's catalog event and its stock event.
func (g *generator) events(i int) []outbox.Envelope {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	title := fmt.Sprintf("%s %s %s %d", genOrigins[rng.IntN(len(genOrigins))], genKinds[rng.IntN(len(genKinds))], genThings[rng.IntN(len(genThings))], i)
	desc := make([]string, 24)
	for j := range desc {
		desc[j] = genWords[rng.IntN(len(genWords))]
	}
	cat := genCats[rng.IntN(len(genCats))]
	at := g.at.Add(time.Duration(i) * time.Millisecond)
	sku := fmt.Sprintf("GEN-%07d", i)
	price := money.Money{Amount: int64(300 + rng.IntN(15000)), Currency: "EUR"}
	p := catalogapi.Product{ID: fmt.Sprintf("gen-%07d", i), Slug: fmt.Sprintf("gen-%07d", i), Title: title,
		Description: strings.Join(desc, " ") + ".", Status: catalogapi.StatusActive, CategoryID: "cat-" + cat,
		Variants: []catalogapi.Variant{{ID: "v-" + sku, SKU: sku, Price: price}}, PriceFrom: price, CreatedAt: at, UpdatedAt: at}
	available := int64(rng.IntN(3)) * 5
	return []outbox.Envelope{
		g.envelope(catalogapi.SubjectProductCreated, at, catalogapi.ProductCreated{Product: p,
			Category: &catalogapi.CategoryRef{ID: "cat-" + cat, Slug: cat, Name: strings.ReplaceAll(cat, "-", " ")}}),
		g.envelope(inventoryapi.SubjectStockAdjusted, at, inventoryapi.StockAdjusted{SKU: sku, Location: inventoryapi.DefaultLocation,
			Kind: inventoryapi.KindAdjustment, Delta: available, Reason: "bench", OnHand: available, At: at, Available: &available}),
	}
}

// renamed is product i's update event with word in its title, a second
// after its creation (so that it is the newest snapshot).
func (g *generator) renamed(i int, word string) outbox.Envelope {
	e := g.events(i)[0]
	var data catalogapi.ProductCreated
	_ = json.Unmarshal(e.Data, &data) // made above
	data.Product.Title += " " + word
	data.Product.UpdatedAt = data.Product.UpdatedAt.Add(time.Second)
	return g.envelope(catalogapi.SubjectProductUpdated, data.Product.UpdatedAt, catalogapi.ProductUpdated(data))
}

func (g *generator) envelope(typ string, at time.Time, data any) outbox.Envelope {
	raw, _ := json.Marshal(data) // plain structs always encode
	return outbox.Envelope{ID: kit.NewID(), Type: typ, Source: "bench", Tenant: g.tenant, Time: at, Data: raw}
}

// queries are what the generated catalog is searched with: single words,
// two words, a typo, a prefix.
func (g *generator) queries() []string {
	return []string{"coffee", "kenya tea", "espreso", "colom", "floral honey", "matcha gift box", "sumatra"}
}

// direct runs fn with l.Workers goroutines, as fast as they go, for the
// warm-up and then the measured phase, and returns the measured phase's
// figures as a Result.
func direct(ctx context.Context, name string, l Load, fn func(context.Context) error) Result {
	run := func(d time.Duration, record bool) ([]time.Duration, uint64, time.Duration) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var mu sync.Mutex
		var lat []time.Duration
		var errs atomic.Uint64
		start := time.Now()
		var wg sync.WaitGroup
		for range l.Workers {
			wg.Go(func() {
				var mine []time.Duration
				for ctx.Err() == nil {
					t := time.Now()
					if err := fn(ctx); err != nil {
						if ctx.Err() != nil {
							break
						}
						errs.Add(1)
					}
					if record {
						mine = append(mine, time.Since(t))
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return lat, errs.Load(), time.Since(start)
	}
	if l.Warmup > 0 {
		run(l.Warmup, false)
	}
	lat, errs, elapsed := run(l.Duration, true)
	res := Result{Target: name, Requests: uint64(len(lat)), Errors: errs, Elapsed: elapsed}
	if errs < res.Requests {
		res.OK = res.Requests - errs
	}
	if errs > 0 {
		res.ErrorKinds = []ErrorKind{{Kind: "query failed", Count: errs}}
	}
	if len(lat) == 0 {
		return res
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.Rate = float64(len(lat)) / elapsed.Seconds()
	res.Throughput = float64(res.OK) / elapsed.Seconds()
	res.Mean, res.P50, res.P95, res.P99, res.Max = sum/time.Duration(len(lat)), pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]
	return res
}

// formatBytes is n in KiB or MiB.
func formatBytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
