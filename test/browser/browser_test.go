// Package browser tests what a person sees in a real browser: the mercato
// binary, started on a loopback port with a fresh data directory, serving its
// pages to headless Chromium driven through the DevTools protocol (chromedp).
//
// Chromium is optional on a laptop: without it the tests skip. CI sets
// MERCATO_TEST_BROWSER=1, and then a missing Chromium is a failure, so the
// browser tests never skip silently there.
//
// kit_test.go is the toolkit the page tests share: newBrowser starts
// Chromium (JavaScript on or off), checkPage screenshots the open page at a
// phone's and a laptop's width, checks it does not scroll sideways and
// audits it with axe-core, read from $MERCATO_AXE_JS (without it the audit
// skips, except under MERCATO_TEST_BROWSER=1). Screenshots go to
// $MERCATO_TEST_ARTIFACTS, else to artifacts/ in this folder.
package browser

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mercato/mercato/test/harness"
)

var binary string

func TestMain(m *testing.M) { harness.Main(m, &binary) }

// chromium returns the path of Debian's chromium, or skips the test when it
// is missing, unless MERCATO_TEST_BROWSER=1 asks for the browser tests.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("MERCATO_TEST_BROWSER") == "1" {
		t.Fatalf("MERCATO_TEST_BROWSER=1 but chromium is not installed (%v); install it with: apt-get install -y chromium", err)
	}
	t.Skip("chromium is not installed: skipping the browser test (apt-get install -y chromium to run it; MERCATO_TEST_BROWSER=1 makes this a failure)")
	return ""
}

// request is one request the page made, with what became of it.
type request struct {
	URL    string
	Type   network.ResourceType
	Status int64  // 0 until a response arrives
	Failed string // the error text when loading failed
	Done   bool   // finished, failed or redirected
}

// recorder keeps every request of the page. Its event method runs on
// chromedp's event loop, so it only records under a lock.
type recorder struct {
	mu         sync.Mutex
	requests   []*request
	byID       map[network.RequestID]*request
	exceptions []string
}

func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		// A redirect reuses the request ID: the previous hop is done.
		if prev := r.byID[ev.RequestID]; prev != nil && ev.RedirectResponse != nil {
			prev.Status, prev.Done = ev.RedirectResponse.Status, true
		}
		req := &request{URL: ev.Request.URL, Type: ev.Type}
		r.requests = append(r.requests, req)
		r.byID[ev.RequestID] = req
	case *network.EventResponseReceived:
		if req := r.byID[ev.RequestID]; req != nil {
			req.Status = ev.Response.Status
		}
	case *network.EventLoadingFinished:
		if req := r.byID[ev.RequestID]; req != nil {
			req.Done = true
		}
	case *network.EventLoadingFailed:
		if req := r.byID[ev.RequestID]; req != nil {
			req.Failed, req.Done = ev.ErrorText, true
		}
	case *runtime.EventExceptionThrown:
		msg := ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			msg += " " + ex.Description
		}
		r.exceptions = append(r.exceptions, msg)
	}
}

func (r *recorder) snapshot() ([]request, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := make([]request, len(r.requests))
	for i, req := range r.requests {
		reqs[i] = *req
	}
	return reqs, slices.Clone(r.exceptions)
}

// settle waits, at most d, until every HTTP request of the page is done, so
// that a late one (the favicon) has its status. It returns the snapshot. A
// live-update stream (EventSource) never is done: it is not waited for.
func (r *recorder) settle(ctx context.Context, d time.Duration) ([]request, []string) {
	deadline := time.Now().Add(d)
	for {
		reqs, exceptions := r.snapshot()
		pending := slices.ContainsFunc(reqs, func(r request) bool {
			return !r.Done && strings.HasPrefix(r.URL, "http") && r.Type != network.ResourceTypeEventSource
		})
		if !pending || time.Now().After(deadline) || ctx.Err() != nil {
			return reqs, exceptions
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDocsOffline opens /docs/ in Chromium and checks that Swagger UI renders
// the API from assets in the binary, and that the page asks nothing of any
// origin but the server's: the docs work with no internet.
func TestDocsOffline(t *testing.T) {
	chromium(t)
	t.Parallel()
	base := harness.Start(t, binary, nil, "-data="+t.TempDir()).URL

	// Generously bounded: on a busy 2-core machine starting Chromium and
	// rendering every service's operations took more than 30 s.
	b := newBrowser(t, browserOptions{Timeout: 2 * time.Minute})
	bctx, rec := b.ctx, b.rec
	// Swagger UI's id for an operation is operations-<tag>-<operationId>.
	// The screenshot shows the catalog's product list operation, scrolled
	// into view: with every service's tags the page is taller than any
	// viewport.
	const op = "#operations-catalog-list-products"
	const width, height = 1280, 1600
	err := chromedp.Do(bctx,
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(base+"/docs/"),
		chromedp.WaitVisible(chromedp.CSS(op)),
		chromedp.WaitVisible(chromedp.CSS("#operations-tag-catalog")),
	)
	if err != nil {
		reqs, exc := rec.snapshot()
		t.Fatalf("render /docs/: %v\nrequests: %+v\nexceptions: %q", err, reqs, exc)
	}
	title, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".swagger-ui .info .title")))
	if err != nil || !strings.Contains(title, "Mercato API") {
		t.Errorf("info title = %q (%v), want Mercato API", title, err)
	}
	tag, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#operations-tag-catalog")))
	if err != nil || !strings.Contains(tag, "catalog") {
		t.Errorf("catalog tag heading = %q (%v)", tag, err)
	}
	opText, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(op)))
	if err != nil || !strings.Contains(opText, "GET") || !strings.Contains(opText, "/api/v1/products") {
		t.Errorf("list-products operation reads %q (%v), want GET /api/v1/products", opText, err)
	}
	n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll(".swagger-ui .opblock").length`))
	if err != nil || n < 10 {
		t.Errorf("Swagger UI shows %d operations (%v), want 10+", n, err)
	}

	if err := chromedp.Do(bctx, chromedp.ScrollIntoView(chromedp.CSS(op))); err != nil {
		t.Fatalf("scroll to %s: %v", op, err)
	}
	bottom, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.querySelector("`+op+`").getBoundingClientRect().bottom`))
	if err != nil || bottom <= 0 || bottom > height {
		t.Errorf("list-products operation ends at y=%v (%v): outside the %dpx screenshot", bottom, err, height)
	}

	shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(artifactDir(t), "docs.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of /docs/: %s (%d bytes)", file, len(shot))
	checkScreenshot(t, shot, width, height)

	// Every request the page made, from the document to the last fetch.
	// Settling returns as soon as no request is pending; the bound is for
	// a busy machine.
	reqs, exceptions := rec.settle(bctx, 30*time.Second)
	for _, e := range exceptions {
		t.Errorf("uncaught exception in the page: %s", e)
	}
	b.checkOrigin(t, base)
	var loaded []string
	for _, r := range reqs {
		if r.Failed != "" || (strings.HasPrefix(r.URL, "http") && (!r.Done || r.Status < 200 || r.Status >= 400)) {
			t.Errorf("request %s: status %d, done %t, failure %q", r.URL, r.Status, r.Done, r.Failed)
			continue
		}
		if u, err := url.Parse(r.URL); err == nil && strings.HasPrefix(u.Scheme, "http") {
			loaded = append(loaded, u.Path)
		}
	}
	// Prove the recorder saw the page load: the document, Swagger UI's own
	// assets from the binary, and the OpenAPI document.
	for _, want := range []string{"/docs/", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"} {
		if !slices.Contains(loaded, want) {
			t.Errorf("no successful request for %s; the page loaded %q", want, loaded)
		}
	}
	if t.Failed() {
		t.Logf("requests: %+v", reqs)
	}
}

// checkScreenshot checks that the screenshot is a PNG of the viewport with
// enough colours to be a rendered page, not a blank one.
func checkScreenshot(t *testing.T, shot []byte, width, height int) {
	t.Helper()
	if len(shot) < 10<<10 {
		t.Errorf("screenshot is %d bytes: too small for a rendered page", len(shot))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), width, height)
	}
	if n := colours(img, 256); n < 32 {
		t.Errorf("screenshot has %d colours: a blank or unstyled page", n)
	}
}

// colours counts the distinct colours of img, up to limit.
func colours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
