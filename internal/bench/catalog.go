package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"github.com/mercato/mercato/internal/app"
)

// catalogGoal is the least acceptable ratio of Mercato's product-list
// throughput to a bare net/http server's serving the same bytes.
const catalogGoal = 0.6

// Catalog is `mercato bench catalog`: it records the product list at
// o.Path once, serves the same bytes from a bare net/http server, hits both
// the same way and prints the comparison against the goal.
func (r *Runner) Catalog(ctx context.Context, o Options) error {
	if err := o.validate(r.Config); err != nil {
		return fmt.Errorf("bench catalog:\n%w", err)
	}
	if o.URL != "" {
		return r.catalog(ctx, strings.TrimSuffix(o.URL, "/"), o, "")
	}
	return r.withInstance(ctx, func(ctx context.Context, base, note string, _ *app.System) error {
		return r.catalog(ctx, base, o, note)
	})
}

// catalog records the product list at base, serves the same bytes from a
// bare net/http server, hits both the same way and prints the comparison.
func (r *Runner) catalog(ctx context.Context, base string, o Options, note string) error {
	target := Target{Name: "mercato", URL: base + o.Path}
	ref, err := Record(ctx, target, o.Load.Timeout)
	if err != nil {
		return err
	}
	items, err := checkProductList(ref)
	if err != nil {
		return fmt.Errorf("check the first answer of %s: %w (is it a Mercato serving the default store at this host?)", target.URL, err)
	}
	bare, err := StartBare(ref)
	if err != nil {
		return err
	}
	defer bare.Close()
	check := productListCheck(ref)
	target.Check = check
	baseline := Target{Name: "bare net/http", URL: bare.URL() + o.Path, Check: check}

	load := o.Load
	fmt.Fprintf(r.Stdout, "bench catalog: GET %s · %d products, %d bytes, %s\n", o.Path, items, len(ref.Body), ref.Header.Get("Content-Type"))
	fmt.Fprintf(r.Stdout, "load: %s · %s warm-up + %s measured per target\n\n", load.Mode(), load.Warmup, load.Duration)

	mr, err := r.measure(ctx, target, load, o.CPUProfile)
	if err != nil {
		return err
	}
	br, err := r.measure(ctx, baseline, load, "")
	if err != nil {
		return err
	}

	if err := WriteTable(r.Stdout, mr, br); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	if err := (Comparison{Subject: mr, Baseline: br, Goal: catalogGoal, Rate: o.Load.Rate}).Write(r.Stdout); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout)
	fmt.Fprintln(r.Stdout, "req/s counts good responses only (status 200 with a product list).")
	fmt.Fprintf(r.Stdout, "The load generator runs on this machine (%d CPUs) and competes with the server\n", runtime.NumCPU())
	fmt.Fprintln(r.Stdout, "for them; both targets are measured the same way, so read the ratio, not the absolute figures.")
	if note != "" {
		fmt.Fprintln(r.Stdout, note+".")
	}
	if o.CPUProfile != "" {
		fmt.Fprintf(r.Stdout, "CPU profile of the mercato run: %s (go tool pprof -top %s)\n", o.CPUProfile, o.CPUProfile)
	}
	return nil
}

// productListCheck accepts a 200 JSON response that is byte for byte ref
// (the common case, and cheap) or else a well-formed product list.
func productListCheck(ref Response) func(Response) error {
	return func(r Response) error {
		if r.Status == ref.Status && bytes.Equal(r.Body, ref.Body) {
			return nil
		}
		_, err := checkProductList(r)
		return err
	}
}

// checkProductList checks that r is a 200 JSON page of products, at least
// one, and returns how many it holds.
func checkProductList(r Response) (int, error) {
	if r.Status != http.StatusOK {
		return 0, fmt.Errorf("status %d", r.Status)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return 0, fmt.Errorf("content type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &page); err != nil {
		return 0, fmt.Errorf("decode product list: %w", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(page["items"], &items); err != nil || items == nil {
		return 0, errors.New("no items array in the product list")
	}
	if len(items) == 0 {
		return 0, errors.New("empty product list")
	}
	if c, ok := page["next_cursor"]; ok {
		var cursor string
		if err := json.Unmarshal(c, &cursor); err != nil || cursor == "" {
			return 0, errors.New("next_cursor is not a cursor")
		}
	}
	return len(items), nil
}
