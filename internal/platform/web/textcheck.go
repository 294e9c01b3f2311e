package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/mercato/mercato/internal/platform/text"
)

// refuseBadText is the huma middleware that holds every operation's input
// to the rule all Mercato text shares (see package text): every string of
// a JSON request body, object keys included, every query parameter and
// every path parameter must be valid UTF-8 without control characters or
// bidirectional overrides. Body strings may hold line breaks and tabs
// (some fields are multi-line; services refuse them in single-line fields
// with the same message); parameters may not. A request that breaks the
// rule gets 422 naming each place, before the operation sees it.
//
// encoding/json would otherwise replace invalid UTF-8 and unpaired UTF-16
// surrogate escapes with U+FFFD without a word, so the raw body is checked
// for both before it is decoded. Operations that take a raw body (a
// provider's signed webhook) are left alone: the bytes are not Mercato's
// to judge.
func refuseBadText(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		var errs []error
		for _, p := range op.Parameters {
			if p.In == "path" {
				if msg := paramText(ctx.Param(p.Name)); msg != "" {
					errs = append(errs, Field("path."+p.Name, msg, nil))
				}
			}
		}
		errs = append(errs, queryText(ctx.URL().RawQuery)...)
		// Every body is read here, under the server's -http.read-timeout,
		// before huma would (see noBodyDeadline); only JSON is judged.
		judge := jsonBody(op, ctx.Header("Content-Type"))
		if op.RequestBody != nil {
			if r, _ := humago.Unwrap(ctx); r != nil && r.Body != nil && r.Body != http.NoBody {
				body, err := io.ReadAll(r.Body)
				// Whatever was read goes back, with the read error after it,
				// so that huma reports a body over the limit as usual.
				var rest io.Reader = bytes.NewReader(nil)
				if err != nil {
					rest = errReader{err}
				}
				r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), r.Body}
				if err == nil && judge {
					errs = append(errs, bodyText(body)...)
				}
			}
		}
		if len(errs) > 0 {
			_ = huma.WriteErr(api, ctx, http.StatusUnprocessableEntity, "validation failed", errs...)
			return
		}
		next(ctx)
	}
}

// jsonBody reports whether op decodes a JSON body of the request's content
// type (huma takes a missing type for JSON).
func jsonBody(op *huma.Operation, contentType string) bool {
	if op.RequestBody == nil {
		return false
	}
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	if ct != "" && ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return false
	}
	for mt, m := range op.RequestBody.Content {
		if strings.Contains(mt, "json") && m != nil && m.Schema != nil && m.Schema.Format != "binary" {
			return true
		}
	}
	return false
}

// paramText checks one parameter value: single-line text.
func paramText(s string) string {
	if err := text.Chars(s, false); err != nil {
		return err.Error()
	}
	return ""
}

// queryText checks the names and values of the query string. Escapes
// that decode to nothing valid are left to huma's own parameter parsing.
func queryText(raw string) []error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil
	}
	var errs []error
	for name, vals := range q {
		if msg := paramText(name); msg != "" {
			errs = append(errs, Field("query", msg, nil))
			continue
		}
		for _, v := range vals {
			if msg := paramText(v); msg != "" {
				errs = append(errs, Field("query."+name, msg, nil))
				break
			}
		}
	}
	return errs
}

// bodyText checks every string and key of a JSON body. A body that is not
// JSON is left to huma, which says so.
func bodyText(body []byte) []error {
	if !utf8.Valid(body) || badSurrogate(body) {
		return []error{Field("body", text.MsgUTF8, nil)}
	}
	if plain(body) {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil
	}
	var errs []error
	walkText(v, "body", &errs)
	return errs
}

// plain reports, in one pass without decoding, that a (valid UTF-8) body
// holds nothing the rule could refuse: no refused character and no escape
// that could decode to one (\n, \r, \t and \u escapes are left to the
// full check, which knows whether they sit in a key). Most bodies are
// plain, and cost no second decode.
func plain(body []byte) bool {
	escaped := false
	for _, r := range string(body) {
		switch {
		case escaped:
			if r == 'n' || r == 'r' || r == 't' || r == 'u' {
				return false
			}
			escaped = false
		case r == '\\':
			escaped = true
		case text.Refused(r, true):
			return false
		}
	}
	return true
}

// walkText adds an error for each string of v (a decoded JSON value at
// path) that the multi-line rule refuses; at most 20, enough to see.
func walkText(v any, path string, errs *[]error) {
	if len(*errs) >= 20 {
		return
	}
	switch v := v.(type) {
	case string:
		if err := text.Chars(v, true); err != nil {
			*errs = append(*errs, Field(path, err.Error(), nil))
		}
	case []any:
		for i, e := range v {
			walkText(e, path+"["+strconv.Itoa(i)+"]", errs)
		}
	case map[string]any:
		for k, e := range v {
			if err := text.Chars(k, false); err != nil {
				*errs = append(*errs, Field(path, "property names "+err.Error(), nil))
				continue
			}
			walkText(e, path+"."+k, errs)
		}
	}
}

// badSurrogate reports whether a JSON text holds a \u escape of a UTF-16
// surrogate that is not part of a pair (which decodes to U+FFFD). In valid
// JSON a backslash occurs only inside strings, so scanning escapes
// suffices.
func badSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) || b[i+1] != 'u' {
			i++ // a two-character escape such as \\ or \"
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			return false // not JSON: huma says so
		}
		i += 5
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low surrogate alone
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b[i+3:])
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readCloser reads from r and closes the original body.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (rc readCloser) Close() error { return rc.c.Close() }
