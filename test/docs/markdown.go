// Package docs checks that README.md and docs/*.md can be followed
// literally: its test starts the real mercato binary on a fresh data
// directory and runs every shell block of those files against it, in order,
// failing on any HTTP answer outside 2xx that the text does not announce.
//
// The conventions a Markdown file follows (docs/architecture.md says the
// same for writers):
//
//   - Every fenced block names its language. Blocks in sh, bash or shell are
//     run; any other language (text, go, json, …) is not shell and is left
//     alone; a fence without a language is an error, as is a console block
//     that is not marked skip (console mixes commands with their output).
//   - An HTML comment on the last non-blank line before a fence, invisible
//     when rendered, says what to do with the block:
//     <!-- docs-test: skip: why --> leaves a shell block out (it starts the
//     server, runs the tests, needs a production deployment, …), and
//     <!-- docs-test: expect: 409 422 --> announces answers outside 2xx that
//     the block shows on purpose; each announced status must then occur.
//
// How the blocks run: README.md first, then docs/*.md in name order, all
// against one server, as one reader following every guide in turn on one
// laptop. Each file runs in one `bash -euo pipefail` process (variables set
// in one block are seen by the later blocks of the same file, not by other
// files: each guide stands on its own), with the working directory holding
// the server's data directory as ./data (so `cat data/admin-token` works as
// written) and the mercato binary on PATH. The one rewrite: `localhost:8080`
// becomes `localhost:<the test server's port>`, which keeps host names such
// as tea.localhost intact. curl is wrapped by a shell function that adds a
// timeout and reports each answer's status; nothing else is changed.
package docs

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Block is a fenced code block of a Markdown file.
type Block struct {
	File string
	Line int    // line of the opening fence, from 1
	Lang string // the first word of the info string
	// Marker is the docs-test comment before the block, if any.
	Marker Marker
	Body   string
}

// Action is what the runner does with a block.
type Action int

// The actions.
const (
	NotShell Action = iota // a block in another language
	Run
	Skip
)

// Marker is a parsed <!-- docs-test: … --> comment.
type Marker struct {
	Present bool
	Skip    string // the reason, for skip
	Expect  []int  // announced statuses, for expect
}

var markerRe = regexp.MustCompile(`^<!--\s*docs-test:\s*(.*?)\s*-->$`)

// parseMarker reads the docs-test comment in line; ok is false if line is
// not one. A docs-test comment that says nothing understood is an error.
func parseMarker(line string) (m Marker, ok bool, err error) {
	sm := markerRe.FindStringSubmatch(strings.TrimSpace(line))
	if sm == nil {
		return Marker{}, false, nil
	}
	verb, arg, _ := strings.Cut(sm[1], ":")
	arg = strings.TrimSpace(arg)
	switch strings.TrimSpace(verb) {
	case "skip":
		if arg == "" {
			return Marker{}, true, fmt.Errorf("%q: a skip says why", line)
		}
		return Marker{Present: true, Skip: arg}, true, nil
	case "expect":
		var codes []int
		for _, f := range strings.FieldsFunc(arg, func(r rune) bool { return r == ' ' || r == ',' }) {
			c, err := strconv.Atoi(f)
			if err != nil || c < 100 || c > 599 || c/100 == 2 {
				return Marker{}, true, fmt.Errorf("%q: %q is not a status outside 2xx", line, f)
			}
			codes = append(codes, c)
		}
		if len(codes) == 0 {
			return Marker{}, true, fmt.Errorf("%q: expect names no status", line)
		}
		return Marker{Present: true, Expect: codes}, true, nil
	}
	return Marker{}, true, fmt.Errorf("%q: want docs-test: skip: why, or docs-test: expect: status…", line)
}

// Action says what to do with b, or why it cannot be decided.
func (b Block) Action() (Action, error) {
	switch b.Lang {
	case "":
		return 0, fmt.Errorf("%s:%d: a fence without a language: name one (sh for commands to run, text for output)", b.File, b.Line)
	case "sh", "bash", "shell":
		if b.Marker.Skip != "" {
			return Skip, nil
		}
		return Run, nil
	case "console":
		if b.Marker.Skip != "" {
			return Skip, nil
		}
		return 0, fmt.Errorf("%s:%d: a console block cannot run (it mixes commands and output): write it as sh, or mark it <!-- docs-test: skip: why -->", b.File, b.Line)
	}
	if b.Marker.Present {
		return 0, fmt.Errorf("%s:%d: a docs-test marker on a %s block, which never runs", b.File, b.Line, b.Lang)
	}
	return NotShell, nil
}

// Scan returns the fenced blocks of a Markdown file, with the docs-test
// marker each has. Fences are ``` or ~~~ runs of three or more, possibly
// indented (inside a list); a block ends at a fence of the same character
// at least as long, as CommonMark says.
func Scan(file, text string) ([]Block, error) {
	var (
		blocks  []Block
		cur     *Block
		fence   string
		indent  int
		lastNon string // the last non-blank line outside a block
		body    strings.Builder
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur != nil {
			if f := fenceOf(trimmed); f != "" && f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(trimmed[len(f):]) == "" {
				cur.Body = body.String()
				blocks = append(blocks, *cur)
				cur, lastNon = nil, ""
				continue
			}
			// Remove up to the opening fence's indentation.
			cut := 0
			for cut < indent && cut < len(line) && line[cut] == ' ' {
				cut++
			}
			body.WriteString(line[cut:])
			body.WriteByte('\n')
			continue
		}
		if f := fenceOf(trimmed); f != "" && len(line)-len(trimmed) < 4 {
			info := strings.TrimSpace(trimmed[len(f):])
			if f[0] == '`' && strings.Contains(info, "`") {
				lastNon = line // inline code, not a fence
				continue
			}
			lang, _, _ := strings.Cut(info, " ")
			m, isMarker, err := parseMarker(lastNon)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			if !isMarker {
				m = Marker{}
			}
			cur = &Block{File: file, Line: n, Lang: strings.ToLower(lang), Marker: m}
			fence, indent = f, len(line)-len(trimmed)
			body.Reset()
			continue
		}
		if strings.TrimSpace(line) != "" {
			if _, isMarker, _ := parseMarker(lastNon); isMarker {
				return nil, fmt.Errorf("%s:%d: a docs-test marker must be right before a fenced block", file, n-1)
			}
			lastNon = line
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the block opened here is never closed", file, cur.Line)
	}
	if _, isMarker, _ := parseMarker(lastNon); isMarker {
		return nil, fmt.Errorf("%s: a docs-test marker at the end of the file, before no block", file)
	}
	return blocks, nil
}

// fenceOf returns the fence that line (already without its indentation)
// opens with, or "".
func fenceOf(line string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(line) && line[n] == c {
			n++
		}
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}
