package docs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

var binary string

func TestMain(m *testing.M) { harness.Main(m, &binary) }

// moduleRoot is where README.md and docs/ are: the test runs in test/docs.
const moduleRoot = "../.."

// guides returns README.md, then docs/*.md in name order: the order a
// reader who follows every guide on one server takes here.
func guides(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(moduleRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return append([]string{filepath.Join(moduleRoot, "README.md")}, files...)
}

// The curl wrapper: the real curl, a bound on each request, and a report
// line per answer. %{stderr} switches -w's output to curl's stderr, so the
// body on stdout stays what the reader's command pipes or captures; the
// report lines are then taken out of stderr into the report file (fd 9),
// where nothing a block writes to its own stderr (tee /dev/stderr, say)
// can interleave with them. The function keeps curl's exit status
// (pipefail).
const prelude = `exec 9>>"$MERCATO_DOCS_TEST_REPORT"
__docs_test_report() {
	local line
	while IFS= read -r line; do
		case $line in
		"@@docs-test "*) printf '%s\n' "$line" >&9 ;;
		"") ;;
		*) printf '%s\n' "$line" >&2 ;;
		esac
	done
}
curl() {
	{ command curl --max-time 60 "$@" -w '%{stderr}\n@@docs-test status %{http_code} %{method} %{url_effective}\n' 2>&1 1>&3 3>&- | __docs_test_report; } 3>&1
}
`

const report = "@@docs-test "

// script is the bash program that runs the blocks of one file, reporting
// each block before it runs. The only rewrite of a block is the port of
// localhost:8080.
func script(blocks []Block, port string) string {
	var b strings.Builder
	b.WriteString(prelude)
	for i, bl := range blocks {
		fmt.Fprintf(&b, "printf '%sblock %d\\n' >&9\n", report, i)
		b.WriteString(strings.ReplaceAll(bl.Body, "localhost:8080", "localhost:"+port))
	}
	fmt.Fprintf(&b, "printf '%sdone\\n' >&9\n", report)
	return b.String()
}

// answer is one HTTP exchange the curl wrapper reported.
type answer struct {
	status      int
	method, url string
}

// outcome is what the run of one file's blocks reported.
type outcome struct {
	answers map[int][]answer // by block index
	last    int              // the last block that started, -1 for none
	done    bool             // every block ran
}

func parseReport(stderr string) (outcome, error) {
	o := outcome{answers: map[int][]answer{}, last: -1}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), report)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		switch {
		case len(f) == 2 && f[0] == "block":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return o, fmt.Errorf("report %q", rest)
			}
			o.last = n
		case len(f) == 1 && f[0] == "done":
			o.done = true
		case len(f) == 4 && f[0] == "status":
			code, err := strconv.Atoi(f[1])
			if err != nil {
				return o, fmt.Errorf("report %q", rest)
			}
			o.answers[o.last] = append(o.answers[o.last], answer{code, f[2], f[3]})
		default:
			return o, fmt.Errorf("report %q", rest)
		}
	}
	return o, sc.Err()
}

// TestDocsFollowedLiterally runs every shell block of README.md and
// docs/*.md against one fresh server, as the package comment describes.
func TestDocsFollowedLiterally(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the docs' examples need %s (apt-get install %s): %v", tool, tool, err)
		}
	}
	// Every file is scanned before anything runs: a block that can neither
	// run nor is marked fails the test at once.
	type file struct {
		name   string
		blocks []Block // the ones to run
	}
	var files []file
	for _, path := range guides(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(moduleRoot, path)
		all, err := Scan(name, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		f := file{name: name}
		for _, b := range all {
			act, err := b.Action()
			if err != nil {
				t.Error(err)
				continue
			}
			if act == Run {
				f.blocks = append(f.blocks, b)
			}
		}
		files = append(files, f)
	}
	if t.Failed() {
		t.FailNow()
	}

	work := t.TempDir()
	data := filepath.Join(work, "data")
	p := harness.Start(t, binary, nil, "-data="+data)
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	waitForDemoShop(t, p)
	env := append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))

	for _, f := range files {
		if len(f.blocks) == 0 {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			reportFile := filepath.Join(t.TempDir(), "report")
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script(f.blocks, u.Port()))
			cmd.Dir, cmd.Env = work, append(env, "MERCATO_DOCS_TEST_REPORT="+reportFile)
			cmd.WaitDelay = 10 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			runErr := cmd.Run()
			rep, err := os.ReadFile(reportFile)
			if err != nil {
				t.Fatalf("the blocks of %s reported nothing: %v (%v)\nstderr:\n%s", f.name, err, runErr, stderr.String())
			}
			o, err := parseReport(string(rep))
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range f.blocks {
				var seen []int
				for _, a := range o.answers[i] {
					seen = append(seen, a.status)
					if a.status/100 != 2 && !slices.Contains(b.Marker.Expect, a.status) {
						t.Errorf("%s:%d: %s %s answered %d, which the text does not announce (<!-- docs-test: expect: %d --> before the block, if meant)",
							b.File, b.Line, a.method, a.url, a.status, a.status)
					}
				}
				if o.done || i < o.last {
					for _, c := range b.Marker.Expect {
						if !slices.Contains(seen, c) {
							t.Errorf("%s:%d: the block announces %d, but its answers were %v", b.File, b.Line, c, seen)
						}
					}
				}
			}
			if runErr != nil || !o.done {
				where := "before its first block"
				if o.last >= 0 {
					where = fmt.Sprintf("in the block at %s:%d", f.name, f.blocks[o.last].Line)
				}
				t.Errorf("the blocks of %s stopped %s: %v", f.name, where, runErr)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s\nreport:\n%s", stdout.String(), stderr.String(), rep)
			} else {
				t.Logf("stdout:\n%s", stdout.String()) // shown with -v
			}
		})
	}
}

// waitForDemoShop waits until the demo shop can be bought from: the demo
// catalog reaches pricing (and so checkout) through events after the start,
// a moment a person reading the README never notices but a script would.
func waitForDemoShop(t *testing.T, p *harness.Proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := p.Call("POST", "/api/v1/quote", map[string]any{"items": []any{map[string]any{"sku": "MC-047", "quantity": 1}}}, nil)
		if r.Status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo shop's MC-047 is not quotable within 60s: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
