package csvio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
)

// nullServices answer like services that hold nothing and keep nothing:
// the benchmarks measure the engine (reading, checking, grouping, the
// workers), not a service, in constant memory whatever the row count.
type nullServices struct{ calls atomic.Int64 }

func (n *nullServices) AdminProducts(context.Context, catalogapi.AdminListParams) (catalogapi.ProductList, error) {
	n.calls.Add(1)
	return catalogapi.ProductList{}, nil
}

func (n *nullServices) CreateProduct(_ context.Context, c catalogapi.ProductCreate, _ string) (catalogapi.Product, error) {
	n.calls.Add(1)
	return catalogapi.Product{ID: "p"}, nil
}

func (n *nullServices) UpdateProduct(context.Context, string, catalogapi.ProductUpdate) (catalogapi.Product, error) {
	n.calls.Add(1)
	return catalogapi.Product{}, nil
}

func (n *nullServices) Stock(_ context.Context, sku string) (inventoryapi.StockLevel, error) {
	n.calls.Add(1)
	return inventoryapi.StockLevel{}, inventoryapi.ErrNotFound
}

func (n *nullServices) Adjust(context.Context, string, inventoryapi.Adjustment, string) (inventoryapi.StockLevel, error) {
	n.calls.Add(1)
	return inventoryapi.StockLevel{}, nil
}

func (n *nullServices) List(context.Context, inventoryapi.ListParams) (inventoryapi.StockList, error) {
	return inventoryapi.StockList{}, nil
}

// generate writes rows rows of kind as CSV to a pipe as they are read: no
// file, no memory growth.
func generate(kind Kind, rows int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		switch kind {
		case Stock:
			fmt.Fprintln(w, "sku,location,on_hand")
			for i := range rows {
				fmt.Fprintf(w, "SKU-%08d,default,%d\n", i, i%500)
			}
		case Products:
			fmt.Fprintln(w, "Handle,Title,Body (HTML),Vendor,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src")
			for i := range rows {
				// Two variants per product.
				if i%2 == 0 {
					fmt.Fprintf(w, "product-%d,Product %d,\"<p>A fine thing, number %d.</p>\",Acme,Size,S,SKU-%08d,%d.99,https://cdn.example.com/%d.jpg\n", i/2, i/2, i/2, i, i%90+1, i)
				} else {
					fmt.Fprintf(w, "product-%d,,,,,M,SKU-%08d,%d.99,\n", i/2, i, i%90+1)
				}
			}
		}
		_ = w.Flush()
		_ = pw.Close()
	}()
	return pr
}

// peakHeap samples the live heap every 10 ms until stop, and returns the
// largest sample.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-t.C:
			case <-done:
				return
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// benchmarkImport imports rows rows of kind b.N times and reports rows/s
// and the peak live heap: MERCATO_BENCH_ROWS is not needed, -benchtime=1x
// with the 1M-row benchmarks is one import of a million rows.
func benchmarkImport(b *testing.B, kind Kind, rows int) {
	svc := &nullServices{}
	e := &Engine{Catalog: svc, Inventory: svc, Stores: fakeStores{"EUR"}}
	runtime.GC()
	stop := peakHeap()
	start := time.Now()
	for range b.N {
		s, err := e.Import(context.Background(), kind, generate(kind, rows), ImportOptions{})
		if err != nil || s.Rows != int64(rows) || s.Refused != 0 {
			b.Fatalf("%+v, %v", s, err)
		}
	}
	took := time.Since(start)
	peak := stop()
	b.ReportMetric(float64(rows*b.N)/took.Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

func BenchmarkImportStock100k(b *testing.B)    { benchmarkImport(b, Stock, 100_000) }
func BenchmarkImportStock1M(b *testing.B)      { benchmarkImport(b, Stock, 1_000_000) }
func BenchmarkImportProducts100k(b *testing.B) { benchmarkImport(b, Products, 100_000) }
func BenchmarkImportProducts1M(b *testing.B)   { benchmarkImport(b, Products, 1_000_000) }

// BenchmarkExportProducts pages through 10,000 products of two variants.
func BenchmarkExportProducts(b *testing.B) {
	cat := &fakeCatalog{}
	for i := range 10_000 {
		cat.products = append(cat.products, catalogapi.Product{ID: fmt.Sprint(i), Slug: fmt.Sprintf("p-%d", i), Title: "Product",
			Options: []catalogapi.Option{{Name: "Size", Values: []string{"S", "M"}}},
			Variants: []catalogapi.Variant{{SKU: fmt.Sprintf("A-%d", i), Options: map[string]string{"Size": "S"}},
				{SKU: fmt.Sprintf("B-%d", i), Options: map[string]string{"Size": "M"}}}})
	}
	e := &Engine{Catalog: cat, Identity: &fakeIdentity{}}
	start := time.Now()
	var rows int64
	for range b.N {
		res, err := e.Export(context.Background(), Products, io.Discard, ExportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Rows
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
