package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// storefrontGoal is the least acceptable ratio of the product page's
// throughput (HTML the storefront renders from the catalog's API) to the
// product JSON API's.
const storefrontGoal = 0.5

// StorefrontOptions are the settings of `mercato bench storefront` beyond
// the shared ones.
type StorefrontOptions struct {
	Options
	// Slug is the product whose page and JSON are loaded; empty means the
	// first product of the store's list.
	Slug string
}

// Storefront is `mercato bench storefront`: it loads a product's page
// (GET /p/{slug}, HTML) and the same product from the JSON API
// (GET /api/v1/products/{slug}) the same way, one after the other, and
// prints both rates and their ratio against the goal.
func (r *Runner) Storefront(ctx context.Context, o StorefrontOptions) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench storefront:\n%w", err)
	}
	if strings.ContainsAny(o.Slug, "/?#") {
		return fmt.Errorf("bench storefront: -slug %q is a product's slug, not a path", o.Slug)
	}
	if o.URL != "" {
		return r.storefront(ctx, strings.TrimSuffix(o.URL, "/"), o, "")
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, _ *app.System) error {
		return r.storefront(ctx, base, o, note)
	})
}

// storefront finds the product, checks that its page and its JSON answer,
// loads both and prints the comparison.
func (r *Runner) storefront(ctx context.Context, base string, o StorefrontOptions, note string) error {
	header := http.Header{"Host": {storeHost(base)}}
	slug := o.Slug
	if slug == "" {
		s, err := firstSlug(ctx, base, header, o.Load.Timeout)
		if err != nil {
			return err
		}
		slug = s
	}
	pagePath := "/p/" + url.PathEscape(slug)
	apiPath := "/api/v1/products/" + url.PathEscape(slug)
	api := Target{Name: "product API", URL: base + apiPath, Header: header.Clone()}
	api.Header.Set("Accept", "application/json")
	page := Target{Name: "product page", URL: base + pagePath, Header: header.Clone()}
	page.Header.Set("Accept", "text/html")

	apiRef, err := Record(ctx, api, o.Load.Timeout)
	if err != nil {
		return err
	}
	title, err := checkProduct(apiRef, slug)
	if err != nil {
		return fmt.Errorf("check the first answer of GET %s: %w (is %q a product of the default store at this host?)", apiPath, err, slug)
	}
	pageRef, err := Record(ctx, page, o.Load.Timeout)
	if err != nil {
		return err
	}
	marker, err := checkProductPage(pageRef, title)
	if err != nil {
		return fmt.Errorf("check the first answer of GET %s: %w: no product page to measure (does this Mercato run the storefront?)", pagePath, err)
	}
	api.Check = productCheck(apiRef, slug)
	page.Check = productPageCheck(marker)

	load := o.Load
	fmt.Fprintf(r.Stdout, "bench storefront: GET %s (%d bytes, %s) against GET %s (%d bytes), Host %s\n",
		pagePath, len(pageRef.Body), pageRef.Header.Get("Content-Type"), apiPath, len(apiRef.Body), header.Get("Host"))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target\n\n", load.Mode(), load.Warmup, load.Duration)

	pr, err := r.measure(ctx, page, load, o.CPUProfile)
	if err != nil {
		return err
	}
	ar, err := r.measure(ctx, api, load, "")
	if err != nil {
		return err
	}
	// A rate of error pages is no rate of product pages: refuse to
	// report one.
	for _, res := range []Result{pr, ar} {
		if res.OK == 0 {
			var b strings.Builder
			_ = WriteTable(&b, res)
			return fmt.Errorf("bench storefront: the %s answered no good response in the measured phase, so it has no rate:\n%s", res.Target, b.String())
		}
	}

	if err := WriteTable(r.Stdout, pr, ar); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	if err := (Comparison{Subject: pr, Baseline: ar, Goal: storefrontGoal, Rate: o.Load.Rate}).Write(r.Stdout); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	fmt.Fprintln(r.Stdout, "req/s counts good responses only: a 2xx HTML page naming the product, a 2xx JSON product.")
	fmt.Fprintln(r.Stdout, "The page is rendered from the catalog's and the inventory's APIs; the load sends no session cookie, so it")
	fmt.Fprintln(r.Stdout, "is a guest's page, rendered once and shared until a change or -storefront.page-cache-ttl (docs/decisions/0020);")
	fmt.Fprintln(r.Stdout, "a server run with -storefront.page-cache-ttl=0 renders every page, which is what a visitor with a session gets.")
	fmt.Fprintf(r.Stdout, "The load generator runs on this machine (%d CPUs) and competes with the server\n", runtime.NumCPU())
	fmt.Fprintln(r.Stdout, "for them; both targets are measured the same way, so read the ratio, not the absolute figures.")
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	if o.CPUProfile != "" {
		fmt.Fprintf(r.Stdout, "CPU profile of the product page's run: %s (go tool pprof -top %s)\n", o.CPUProfile, o.CPUProfile)
	}
	return nil
}

// storeHost is the Host header the store is asked for: base's host, or,
// when that is an IP address, localhost with base's port, the default
// store's name as a browser on this machine sends it.
func storeHost(base string) string {
	u, err := url.Parse(base)
	if err != nil || net.ParseIP(u.Hostname()) == nil {
		if err != nil {
			return "localhost"
		}
		return u.Host
	}
	if p := u.Port(); p != "" {
		return "localhost:" + p
	}
	return "localhost"
}

// firstSlug returns the slug of the first product the store lists.
func firstSlug(ctx context.Context, base string, header http.Header, timeout time.Duration) (string, error) {
	list := Target{Name: "product list", URL: base + "/api/v1/products?limit=1", Header: header}
	resp, err := Record(ctx, list, timeout)
	if err != nil {
		return "", err
	}
	if _, err := checkProductList(resp); err != nil {
		return "", fmt.Errorf("find a product to load: GET /api/v1/products?limit=1: %w (pass -slug, or seed the store)", err)
	}
	var page struct {
		Items []struct {
			Slug string `json:"slug"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil || page.Items[0].Slug == "" {
		return "", errors.New("find a product to load: the first product of the list has no slug (pass -slug)")
	}
	return page.Items[0].Slug, nil
}

// checkProduct checks that r is a 2xx JSON product with the slug and
// returns its title.
func checkProduct(r Response, slug string) (string, error) {
	if r.Status < 200 || r.Status > 299 {
		return "", fmt.Errorf("status %d", r.Status)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", fmt.Errorf("content type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var p struct {
		Slug  string `json:"slug"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return "", fmt.Errorf("decode product: %w", err)
	}
	if p.Slug != slug || p.Title == "" {
		return "", fmt.Errorf("a product with slug %q and title %q, want slug %q and a title", p.Slug, p.Title, slug)
	}
	return p.Title, nil
}

// productCheck accepts a response byte for byte ref (the common case, and
// cheap), or else a product with the slug.
func productCheck(ref Response, slug string) func(Response) error {
	return func(r Response) error {
		if r.Status == ref.Status && bytes.Equal(r.Body, ref.Body) {
			return nil
		}
		_, err := checkProduct(r, slug)
		return err
	}
}

// checkProductPage checks that r is a 2xx HTML page naming the product
// title, and returns the title as the page spells it (as is, or escaped as
// html/template or html.EscapeString escape it), for productPageCheck.
func checkProductPage(r Response, title string) ([]byte, error) {
	if r.Status < 200 || r.Status > 299 {
		return nil, fmt.Errorf("status %d", r.Status)
	}
	if err := isHTML(r); err != nil {
		return nil, err
	}
	spellings := []string{title, template.HTMLEscapeString(title)}
	if tmpl, err := template.New("").Parse("{{.}}"); err == nil {
		var escaped strings.Builder
		if tmpl.Execute(&escaped, title) == nil {
			spellings = append(spellings, escaped.String())
		}
	}
	for _, spelled := range spellings {
		if bytes.Contains(r.Body, []byte(spelled)) {
			return []byte(spelled), nil
		}
	}
	return nil, fmt.Errorf("the page does not name the product %q", title)
}

// productPageCheck accepts a 2xx HTML page holding marker, the product's
// title as the first page spelled it. Pages may differ from one request to
// the next (a nonce, a token), so they are not compared byte for byte.
func productPageCheck(marker []byte) func(Response) error {
	return func(r Response) error {
		if r.Status < 200 || r.Status > 299 {
			return fmt.Errorf("status %d", r.Status)
		}
		if err := isHTML(r); err != nil {
			return err
		}
		if !bytes.Contains(r.Body, marker) {
			return errors.New("the page does not name the product")
		}
		return nil
	}
}

func isHTML(r Response) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/html" {
		return fmt.Errorf("content type %q, want text/html", r.Header.Get("Content-Type"))
	}
	return nil
}
