package browser

// The toolkit of the flow tests: one way to start Chromium (newBrowser), the
// checks every page gets (checkPage: screenshots at a phone's and a
// laptop's width, no sideways scrolling, axe-core), keyboard-only input
// (tabTo, pressEnter, pressSpace, typeText), and the check that the pages
// asked nothing of any other origin (browser.checkOrigin). A flow test
// writes the steps of its flow and calls these.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mercato/mercato/test/harness"
)

// Environment variables the toolkit reads.
const (
	// artifactsEnv names the folder screenshots are written to; without
	// it they go to artifacts/ beside this file (ignored by git).
	artifactsEnv = "MERCATO_TEST_ARTIFACTS"
	// axeEnv names axe-core's axe.min.js. Without it checkPage skips the
	// accessibility audit, unless MERCATO_TEST_BROWSER=1 (CI), where that
	// is a failure.
	axeEnv = "MERCATO_AXE_JS"
)

// browserOptions say how newBrowser starts Chromium.
type browserOptions struct {
	// NoScript turns the page's JavaScript off, as a person who disabled
	// it has it: the page must work as HTML and forms. The toolkit's own
	// checks still run, through DevTools' runtime evaluation, which the
	// setting does not stop.
	NoScript bool
	// Timeout bounds everything the browser does, from its start to the
	// last check; zero means 3 minutes. Past it every action fails.
	Timeout time.Duration
}

// browser is one Chromium with one tab, and every request that tab made.
type browser struct {
	// ctx is the tab's chromedp context: pass it to chromedp.Do and Run
	// and to checkPage.
	ctx context.Context
	rec *recorder
}

// newBrowser starts one headless Chromium for t, bounded by opts.Timeout,
// recording every request of its tab. Chromium stops when t ends; when t
// failed, Chromium's output and chromedp's errors are logged.
func newBrowser(t *testing.T, opts browserOptions) *browser {
	t.Helper()
	exe := chromium(t)
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	log := &harness.Output{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium output and chromedp errors:\n%s", log)
		}
	})
	// The bound is on the allocator's context: the browser process lives
	// no longer than it, so a page that never renders fails at the bound,
	// not at go test's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(log),
	)...)
	t.Cleanup(allocCancel)
	bctx, bcancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }))
	t.Cleanup(bcancel)

	if opts.NoScript {
		bctx = context.WithValue(bctx, noScriptKey{}, true)
	}
	b := &browser{ctx: bctx, rec: &recorder{byID: map[network.RequestID]*request{}}}
	// Listening starts Chromium and opens the tab.
	if err := chromedp.Listen(bctx, b.rec.event); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	if opts.NoScript {
		if err := chromedp.Do(bctx, scriptExecution(false)); err != nil {
			t.Fatalf("turn JavaScript off: %v", err)
		}
	}
	return b
}

// noScriptKey marks the context of a browser started with NoScript.
type noScriptKey struct{}

// scriptExecution turns the page's JavaScript on or off for the tab, from
// the next script on (a page already loaded keeps what ran or did not).
func scriptExecution(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	})
}

// checkOrigin checks that every request the tab made so far, on every page
// it opened, went to base's origin (scheme, host and port), or needed no
// network at all (data:, blob:, about:). It first waits, at most 30 s, for
// the requests in flight to end, so a late one is counted.
func (b *browser) checkOrigin(t *testing.T, base string) {
	t.Helper()
	reqs, _ := b.rec.settle(b.ctx, 30*time.Second)
	foreign, err := foreignRequests(reqs, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range foreign {
		t.Errorf("the page requested %s: not %s, so it depends on another origin", f, base)
	}
}

// foreignRequests lists the requests of reqs (URL and resource type) that
// did not go to base's origin and needed the network.
func foreignRequests(reqs []request, base string) ([]string, error) {
	want, err := origin(base)
	if err != nil {
		return nil, fmt.Errorf("origin of %s: %w", base, err)
	}
	var foreign []string
	for _, r := range reqs {
		if got, err := origin(r.URL); err == nil && got == want {
			continue
		}
		if u, err := url.Parse(r.URL); err == nil && (u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about") {
			continue
		}
		foreign = append(foreign, fmt.Sprintf("%s (%s)", r.URL, r.Type))
	}
	return foreign, nil
}

// origin is raw's scheme://host:port, the port spelled out; a WebSocket
// URL has the origin of the page that opened it (ws is http's).
func origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "ws":
		scheme = "http"
	case "wss":
		scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("%q is not an http URL", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port, nil
}

// viewport is a width and height the pages are checked at.
type viewport struct{ width, height int64 }

// viewports are a phone's (375 × 812) and a laptop's (1280 × 900).
var viewports = []viewport{{375, 812}, {1280, 900}}

// checkPage checks the page open in ctx's tab at each of viewports: it
// writes a full-page screenshot to the artefacts folder as
// <name>-<width>.png, checks that nothing makes the page scroll sideways,
// and runs axe-core on it, failing on every violation of impact serious or
// critical. It leaves the tab at the last viewport (1280 × 900).
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`).MatchString(name) {
		t.Fatalf("checkPage: name %q must be lower-case letters, digits, - and _ (it names the screenshots)", name)
	}
	axe := axeScript(t)
	dir := artifactDir(t)
	for _, vp := range viewports {
		r, err := inspectPage(ctx, vp, axe)
		if err != nil {
			t.Fatalf("check page %s at %dpx: %v", name, vp.width, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, vp.width))
		if err := os.WriteFile(file, r.screenshot, 0o644); err != nil {
			t.Fatalf("write the screenshot: %v", err)
		}
		t.Logf("page %s at %dpx: screenshot %s", name, vp.width, file)
		for _, p := range r.problems() {
			t.Errorf("page %s at %d×%d: %s", name, vp.width, vp.height, p)
		}
		if len(r.minor) > 0 {
			t.Logf("page %s at %dpx: axe-core's moderate and minor findings (not failures): %s", name, vp.width, strings.Join(r.minor, "; "))
		}
	}
}

// pageReport is what inspectPage found on a page at one viewport.
type pageReport struct {
	viewport   viewport
	screenshot []byte // a full-page PNG
	// shotWidth and shotHeight are the screenshot's size, from the PNG.
	shotWidth, shotHeight int
	overflow              overflow
	// audited says axe-core ran; violations are its serious and critical
	// findings, minor the ids of the rest.
	audited    bool
	violations []axeViolation
	minor      []string
}

// overflow is how wide the page is against the viewport, and the widest
// element that reaches past the viewport's right edge when it is wider.
type overflow struct {
	ScrollWidth float64   `json:"scrollWidth"`
	InnerWidth  float64   `json:"innerWidth"`
	Offenders   int       `json:"offenders"`
	Widest      *offender `json:"widest"`
}

type offender struct {
	Tag   string  `json:"tag"`
	ID    string  `json:"id"`
	Class string  `json:"class"`
	Width float64 `json:"width"`
	Right float64 `json:"right"`
}

func (o offender) String() string {
	s := "<" + o.Tag
	if o.ID != "" {
		s += ` id="` + o.ID + `"`
	}
	if o.Class != "" {
		s += ` class="` + o.Class + `"`
	}
	return fmt.Sprintf("%s> (%.0fpx wide, right edge at %.0fpx)", s, o.Width, o.Right)
}

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"` // the first three
}

// problems are the report's failures, one sentence each.
func (r pageReport) problems() []string {
	var ps []string
	if r.shotWidth < int(r.viewport.width) || r.shotHeight < int(r.viewport.height) {
		ps = append(ps, fmt.Sprintf("the screenshot is %d×%d, smaller than the viewport", r.shotWidth, r.shotHeight))
	}
	if o := r.overflow; o.ScrollWidth > o.InnerWidth {
		p := fmt.Sprintf("the page scrolls sideways: %.0fpx wide in a %.0fpx window", o.ScrollWidth, o.InnerWidth)
		if o.Widest != nil {
			p += fmt.Sprintf("; the widest of the %d elements past the right edge is %s", o.Offenders, o.Widest)
		}
		ps = append(ps, p)
	}
	for _, v := range r.violations {
		ps = append(ps, fmt.Sprintf("axe-core %s (%s, %d elements): %s; at %s", v.ID, v.Impact, v.Nodes, v.Help, strings.Join(v.Targets, " | ")))
	}
	return ps
}

// overflowJS measures the page's width against the window's and, when it
// is wider, finds the widest element whose right edge is past the window's.
const overflowJS = `(() => {
	const inner = window.innerWidth, scroll = document.documentElement.scrollWidth;
	const res = {scrollWidth: scroll, innerWidth: inner, offenders: 0, widest: null};
	if (scroll <= inner) return res;
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect();
		const right = r.right + window.scrollX;
		if (right <= inner + 0.5) continue;
		res.offenders++;
		if (!res.widest || r.width > res.widest.width) {
			res.widest = {tag: el.tagName.toLowerCase(), id: el.id || "", class: el.getAttribute("class") || "", width: r.width, right: right};
		}
	}
	return res;
})()`

// axeRunJS runs axe-core on the document and returns every violation, the
// first three targets of each.
const axeRunJS = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length,
	targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))
})))`

// inspectPage sets the tab to vp and takes the page's screenshot, its
// width, and, when axe is not empty (axe-core's source), its audit.
func inspectPage(ctx context.Context, vp viewport, axe string) (pageReport, error) {
	r := pageReport{viewport: vp}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
		return r, fmt.Errorf("set the viewport: %w", err)
	}
	var err error
	if r.overflow, err = chromedp.Run(ctx, chromedp.Evaluate[overflow](overflowJS)); err != nil {
		return r, fmt.Errorf("measure the page's width: %w", err)
	}
	if r.screenshot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		return r, fmt.Errorf("take a full-page screenshot: %w", err)
	}
	img, err := png.DecodeConfig(bytes.NewReader(r.screenshot))
	if err != nil {
		return r, fmt.Errorf("the screenshot is not a PNG: %w", err)
	}
	r.shotWidth, r.shotHeight = img.Width, img.Height
	if axe == "" {
		return r, nil
	}
	all, err := runAxe(ctx, axe)
	if err != nil {
		return r, err
	}
	r.audited = true
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			r.violations = append(r.violations, v)
		} else {
			r.minor = append(r.minor, v.ID+" ("+v.Impact+")")
		}
	}
	return r, nil
}

// runAxe loads axe-core (its source) into the page unless it is there,
// runs it, at most a minute, and returns every violation it found.
func runAxe(ctx context.Context, axe string) (violations []axeViolation, err error) {
	// axe-core waits on timers, which do not fire while the page's
	// JavaScript is off: the audit turns it on for its run. The page's
	// own scripts stay as they were: they did not run at load, and the
	// audit triggers no event.
	if noScript, _ := ctx.Value(noScriptKey{}).(bool); noScript {
		if err := chromedp.Do(ctx, scriptExecution(true)); err != nil {
			return nil, fmt.Errorf("turn JavaScript on for axe-core: %w", err)
		}
		defer func() {
			if oerr := chromedp.Do(ctx, scriptExecution(false)); oerr != nil {
				err = errors.Join(err, fmt.Errorf("turn JavaScript off again after axe-core: %w", oerr))
			}
		}()
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	loaded, err := chromedp.Run(actx, chromedp.Evaluate[bool](`typeof window.axe === "object" && typeof window.axe.run === "function"`))
	if err != nil {
		return nil, fmt.Errorf("look for axe-core in the page: %w", err)
	}
	if !loaded {
		// Runtime evaluation, not a <script>: the page's Content Security
		// Policy does not apply, and the page is left as it was served.
		if err := chromedp.Do(actx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
			return nil, fmt.Errorf("load axe-core into the page: %w", err)
		}
	}
	violations, err = chromedp.Run(actx, chromedp.Evaluate[[]axeViolation](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core (a minute at most): %w", err)
	}
	return violations, nil
}

// axeScript returns axe-core's source from $MERCATO_AXE_JS, or "" after a
// log line when the variable is not set; with MERCATO_TEST_BROWSER=1 an
// unset variable fails t, so CI never skips the audit.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv(axeEnv)
	if path == "" {
		if os.Getenv("MERCATO_TEST_BROWSER") == "1" {
			t.Fatalf("MERCATO_TEST_BROWSER=1 but %s is not set: it names axe-core's axe.min.js (npm install axe-core)", axeEnv)
		}
		t.Logf("%s is not set: skipping the axe-core audit (set it to axe-core's axe.min.js to run it)", axeEnv)
		return ""
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core (%s): %v", axeEnv, err)
	}
	return string(src)
}

// artifactDir is the folder screenshots go to: $MERCATO_TEST_ARTIFACTS,
// else artifacts/ in this package's folder. It is created if missing.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = "artifacts"
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create the artefacts folder: %v", err)
	}
	return dir
}

// tabTo presses Tab until the focused element matches selector, at most
// max times, as a person finds a control with the keyboard. It fails
// naming the elements the focus went through.
func tabTo(selector string, max int) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(selector)
	matches := chromedp.Evaluate[bool](`(() => { const el = document.activeElement; return !!el && el !== document.body && el.matches(` + string(sel) + `); })()`)
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var path []string
		for range max {
			if _, err := chromedp.KeyEvent(kb.Tab)(ctx, tg); err != nil {
				return fmt.Errorf("press Tab: %w", err)
			}
			ok, err := matches(ctx, tg)
			if err != nil {
				return fmt.Errorf("read the focused element: %w", err)
			}
			if ok {
				return nil
			}
			f, err := focused(ctx, tg)
			if err != nil {
				return err
			}
			path = append(path, f)
		}
		return fmt.Errorf("%d presses of Tab did not reach %s; the focus went through: %s", max, selector, strings.Join(path, ", "))
	})
}

// focused describes the focused element: tag, id, name, class.
func focused(ctx context.Context, tg *chromedp.Target) (string, error) {
	s, err := chromedp.Evaluate[string](`(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return "(nothing)";
		let s = el.tagName.toLowerCase();
		if (el.id) s += "#" + el.id;
		if (el.getAttribute("name")) s += "[name=" + el.getAttribute("name") + "]";
		if (el.getAttribute("class")) s += "." + el.getAttribute("class").trim().split(/\s+/).join(".");
		return s;
	})()`)(ctx, tg)
	if err != nil {
		return "", fmt.Errorf("describe the focused element: %w", err)
	}
	return s, nil
}

// pressEnter presses Enter on the focused element: it follows a link,
// submits a form from a field, presses a button.
func pressEnter() chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(kb.Enter) }

// pressSpace presses the space bar on the focused element: it presses a
// button, ticks a checkbox, picks a radio button.
func pressSpace() chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(" ") }

// typeText types text, key by key, into the focused element.
func typeText(text string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(text) }
