package browser

import (
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The toolkit's own tests run on small pages served here, so that they can
// hold what no Mercato page should: a page that scrolls sideways, a field
// without a label, an image from another origin.

const goodPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A good page</title>
<style>body { font: 16px/1.5 sans-serif; margin: 1rem; color: #111; background: #fff } main { max-width: 40rem }</style>
</head><body><main>
<h1>A good page</h1>
<p>It fits a phone's width and every field has a label.</p>
<form action="/done" method="get">
<label for="q">Search</label> <input id="q" name="q" type="search">
<button type="submit">Search</button>
</form>
</main></body></html>`

// badPage scrolls sideways (a 2000px banner) and has a field without a
// label: axe-core's rule "label", of impact critical.
const badPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A bad page</title>
</head><body><main>
<h1>A bad page</h1>
<div class="hero-banner wide" style="width: 2000px; height: 40px; background: #ddd"></div>
<form action="/done" method="get"><input type="text" name="q"> <button type="submit">Go</button></form>
</main></body></html>`

// formPage tells whether its script ran, and has a form to fill in with
// the keyboard: a link first, then a text field, a checkbox, a button.
const formPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A form</title>
<script>document.documentElement.dataset.js = "on"</script>
</head><body><main>
<h1>A form</h1>
<p><a href="/elsewhere">A link first</a></p>
<form action="/done" method="get">
<p><label for="name">Name</label> <input id="name" name="name" autocomplete="name"></p>
<p><input id="agree" name="agree" type="checkbox"> <label for="agree">I agree</label></p>
<p><button type="submit">Send</button></p>
</form>
</main></body></html>`

// kitServer serves the pages above, /done echoing the form's fields, and
// /foreign, which loads an image from other.
func kitServer(t *testing.T, other string) *httptest.Server {
	t.Helper()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// The toolkit evaluates through DevTools: a strict policy
			// must not stop axe-core.
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'")
			fmt.Fprint(w, body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /good", page(goodPage))
	mux.Handle("GET /bad", page(badPage))
	mux.Handle("GET /form", page(formPage))
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		page(`<!doctype html><html lang="en"><head><title>Done</title></head><body><main><h1>Done</h1><p id="done">name=`+
			html.EscapeString(r.FormValue("name"))+`; agree=`+html.EscapeString(r.FormValue("agree"))+`</p></main></body></html>`)(w, r)
	})
	mux.HandleFunc("GET /foreign", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Foreign</title></head><body><img src="%s/pixel.png" alt="a pixel"></body></html>`, other)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestKitChecksPages: checkPage passes a good page and writes its
// screenshots; on a bad page the checks report the sideways scrolling with
// the element that causes it, and the field without a label; checkOrigin's
// list names a request to another origin.
func TestKitChecksPages(t *testing.T) {
	t.Parallel()
	b := newBrowser(t, browserOptions{})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	srv := kitServer(t, other.URL)

	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatalf("open /good: %v", err)
	}
	checkPage(t, b.ctx, "kit-good")
	for _, vp := range viewports {
		file := filepath.Join(artifactDir(t), fmt.Sprintf("kit-good-%d.png", vp.width))
		f, err := os.Open(file)
		if err != nil {
			t.Fatalf("checkPage wrote no screenshot at %dpx: %v", vp.width, err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if b := img.Bounds(); b.Dx() != int(vp.width) || b.Dy() != int(vp.height) {
			t.Errorf("%s is %dx%d, want the viewport's %dx%d (the page is shorter than it)", file, b.Dx(), b.Dy(), vp.width, vp.height)
		}
		if n := colours(img, 16); n < 3 {
			t.Errorf("%s has %d colours: the page's text is missing", file, n)
		}
	}

	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatalf("open /bad: %v", err)
	}
	axe := axeScript(t)
	for _, vp := range viewports {
		r, err := inspectPage(b.ctx, vp, axe)
		if err != nil {
			t.Fatalf("inspect /bad at %dpx: %v", vp.width, err)
		}
		problems := strings.Join(r.problems(), "\n")
		if !strings.Contains(problems, "scrolls sideways") || !strings.Contains(problems, `<div class="hero-banner wide"> (2000px wide`) {
			t.Errorf("at %dpx the checks do not report the 2000px banner; they report:\n%s", vp.width, problems)
		}
		if r.shotWidth <= int(vp.width) {
			t.Errorf("at %dpx the full-page screenshot is %dpx wide: it should show the overflow", vp.width, r.shotWidth)
		}
		if axe == "" {
			continue
		}
		if !r.audited || !strings.Contains(problems, "axe-core label (critical, 1 elements): Form elements must have labels; at input") {
			t.Errorf("at %dpx the checks do not report the field without a label; they report:\n%s", vp.width, problems)
		}
	}
	b.checkOrigin(t, srv.URL)

	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/foreign")); err != nil {
		t.Fatalf("open /foreign: %v", err)
	}
	reqs, _ := b.rec.settle(b.ctx, 30*time.Second)
	foreign, err := foreignRequests(reqs, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(foreign) != 1 || !strings.HasPrefix(foreign[0], other.URL+"/pixel.png (Image)") {
		t.Errorf("requests to another origin = %q, want only %s/pixel.png", foreign, other.URL)
	}
}

// TestKitKeyboard fills in a form with the keyboard alone, with JavaScript
// on and off, and checks that tabTo says where the focus went when it
// cannot reach an element.
func TestKitKeyboard(t *testing.T) {
	for _, noScript := range []bool{false, true} {
		t.Run(fmt.Sprintf("noscript=%t", noScript), func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t, browserOptions{NoScript: noScript})
			srv := kitServer(t, "http://127.0.0.1:9")
			if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/form")); err != nil {
				t.Fatalf("open /form: %v", err)
			}
			js, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.dataset.js || "off"`))
			if want := map[bool]string{false: "on", true: "off"}[noScript]; err != nil || js != want {
				t.Errorf("the page's script: %q (%v), want %q", js, err, want)
			}
			checkPage(t, b.ctx, fmt.Sprintf("kit-form-noscript-%t", noScript))
			// The audit turns JavaScript on for its run only: the page's
			// script still has not run, and later pages get none.
			js, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.dataset.js || "off"`))
			if want := map[bool]string{false: "on", true: "off"}[noScript]; err != nil || js != want {
				t.Errorf("the page's script after checkPage: %q (%v), want %q", js, err, want)
			}

			err = chromedp.Do(b.ctx, tabTo("#missing", 6))
			if err == nil || !strings.Contains(err.Error(), "did not reach #missing") || !strings.Contains(err.Error(), "a, input#name[name=name], input#agree[name=agree], button") {
				t.Errorf("tabTo an element that is not there: %v", err)
			}
			// The focus is somewhere past the button now: start again.
			err = chromedp.Do(b.ctx,
				chromedp.Navigate(srv.URL+"/form"),
				tabTo("#name", 5),
				typeText("Ada Lovelace"),
				tabTo("#agree", 5),
				pressSpace(),
				tabTo("button[type=submit]", 5),
				pressEnter(),
				chromedp.WaitVisible(chromedp.CSS("#done")),
			)
			if err != nil {
				t.Fatalf("fill in the form with the keyboard: %v", err)
			}
			done, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#done")))
			if err != nil || done != "name=Ada Lovelace; agree=on" {
				t.Errorf("the form sent %q (%v), want name=Ada Lovelace; agree=on", done, err)
			}
			if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/form")); err != nil {
				t.Fatalf("open /form again: %v", err)
			}
			js, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.dataset.js || "off"`))
			if want := map[bool]string{false: "on", true: "off"}[noScript]; err != nil || js != want {
				t.Errorf("the page's script on the next page: %q (%v), want %q", js, err, want)
			}
			b.checkOrigin(t, srv.URL)
		})
	}
}
