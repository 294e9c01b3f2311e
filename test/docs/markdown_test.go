package docs

import (
	"slices"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	t.Parallel()
	md := strings.Join([]string{
		"# Title",
		"",
		"```sh",
		"echo one",
		"```",
		"",
		"<!-- docs-test: expect: 409, 422 -->",
		"```bash",
		"echo two",
		"```",
		"",
		"<!-- docs-test: skip: starts the server -->",
		"",
		"~~~~sh",
		"go run ./cmd/mercato",
		"```",
		"still inside",
		"~~~~",
		"",
		"1. a list",
		"",
		"   ```text",
		"   output",
		"   ```",
		"",
		"```go",
		"package x",
		"```",
	}, "\n")
	blocks, err := Scan("x.md", md)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		line   int
		lang   string
		act    Action
		expect []int
		body   string
	}
	want := []got{
		{3, "sh", Run, nil, "echo one\n"},
		{8, "bash", Run, []int{409, 422}, "echo two\n"},
		{14, "sh", Skip, nil, "go run ./cmd/mercato\n```\nstill inside\n"},
		{22, "text", NotShell, nil, "output\n"},
		{26, "go", NotShell, nil, "package x\n"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("%d blocks, want %d: %+v", len(blocks), len(want), blocks)
	}
	for i, b := range blocks {
		act, err := b.Action()
		if err != nil {
			t.Fatal(err)
		}
		g := got{b.Line, b.Lang, act, b.Marker.Expect, b.Body}
		if g.line != want[i].line || g.lang != want[i].lang || g.act != want[i].act || !slices.Equal(g.expect, want[i].expect) || g.body != want[i].body {
			t.Errorf("block %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// Blocks the runner can neither run nor sees marked, and markers it cannot
// read, are errors, never silently skipped.
func TestScanRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, md, want string
	}{
		{"no language", "```\nls\n```\n", "without a language"},
		{"console unmarked", "```console\n$ ls\n```\n", "console block"},
		{"skip without reason", "<!-- docs-test: skip -->\n```sh\nls\n```\n", "says why"},
		{"expect 2xx", "<!-- docs-test: expect: 201 -->\n```sh\nls\n```\n", "not a status outside 2xx"},
		{"expect nothing", "<!-- docs-test: expect: -->\n```sh\nls\n```\n", "names no status"},
		{"unknown verb", "<!-- docs-test: maybe -->\n```sh\nls\n```\n", "want docs-test"},
		{"marker before text", "<!-- docs-test: skip: x -->\nsome text\n```sh\nls\n```\n", "right before a fenced block"},
		{"marker at the end", "text\n<!-- docs-test: skip: x -->\n", "before no block"},
		{"marker on a go block", "<!-- docs-test: skip: x -->\n```go\nx\n```\n", "never runs"},
		{"unclosed", "```sh\nls\n", "never closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			blocks, err := Scan("x.md", tt.md)
			for _, b := range blocks {
				if err == nil {
					_, err = b.Action()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestParseReport(t *testing.T) {
	t.Parallel()
	o, err := parseReport("noise\n@@docs-test block 0\n\n@@docs-test status 201 POST http://localhost:1/a\ncurl: (7) refused\n" +
		"@@docs-test status 000 GET http://localhost:1/b\n@@docs-test block 1\n@@docs-test done\n")
	if err != nil {
		t.Fatal(err)
	}
	if !o.done || o.last != 1 || len(o.answers[0]) != 2 || o.answers[0][1].status != 0 || o.answers[0][0] != (answer{201, "POST", "http://localhost:1/a"}) {
		t.Fatalf("%+v", o)
	}
}
