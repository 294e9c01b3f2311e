package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// jsonFormat is huma's JSON format with Mercato's decoding: see decodeJSON.
var jsonFormat = huma.Format{
	Marshal:   huma.DefaultJSONFormat.Marshal,
	Unmarshal: decodeJSON,
}

// decodeJSON decodes a request body, as encoding/json does, with two
// differences that its users see:
//
//   - an integer-valued number written with a fraction or an exponent (1.0,
//     1e3) is accepted where an integer is expected: JSON Schema calls it an
//     integer, and huma's validation, which runs first, already has;
//   - errors are said in the API's words ("items[0].quantity must be an
//     integer"), never with Go's type and field names.
//
// huma calls it twice per body: into an any, to validate, and into the
// operation's input type.
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") && isInteger(te.Type) {
		if norm, ok := integralNumbers(data); ok {
			if err = json.Unmarshal(norm, v); err == nil {
				return nil
			}
			data = norm
		}
	}
	return bodyError(data, err)
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// integralNumbers rewrites every number of data that has an integer value
// but a fraction or an exponent (1.0, -2.50e2, 1e3) as a plain integer, and
// reports whether it rewrote any. Integers of more than 20 digits are left
// as they are: no Go integer holds them, and 1e999999999 must not become a
// billion zeros. data is valid JSON.
func integralNumbers(data []byte) ([]byte, bool) {
	var out []byte
	last, changed := 0, false
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
			continue
		case c != '-' && (c < '0' || c > '9'):
			continue
		}
		j := i
		for j < len(data) && strings.IndexByte("+-.0123456789eE", data[j]) >= 0 {
			j++
		}
		if n, ok := plainInteger(string(data[i:j])); ok {
			out = append(append(out, data[last:i]...), n...)
			last, changed = j, true
		}
		i = j - 1
	}
	if !changed {
		return data, false
	}
	return append(out, data[last:]...), true
}

// plainInteger returns num (a JSON number) as a plain integer when it has
// an integer value of at most 20 digits but is not written as one.
func plainInteger(num string) (string, bool) {
	if !strings.ContainsAny(num, ".eE") {
		return "", false
	}
	neg := strings.HasPrefix(num, "-")
	mant, exp := strings.TrimPrefix(num, "-"), 0
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(mant[i+1:], "+"))
		if err != nil || e > 40 || e < -40 {
			return "", false
		}
		mant, exp = mant[:i], e
	}
	digits := mant
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = mant[:i] + mant[i+1:]
		exp -= len(mant) - i - 1
	}
	digits = strings.TrimLeft(digits, "0")
	for exp < 0 && strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	switch {
	case digits == "":
		return "0", true
	case exp < 0 || len(digits)+exp > 20:
		return "", false
	}
	n := digits + strings.Repeat("0", exp)
	if neg {
		n = "-" + n
	}
	return n, true
}

// bodyError says what is wrong with a body that did not decode.
func bodyError(data []byte, err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("the body is not valid JSON: %s (at byte %d)", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case errors.As(err, &te):
		where := pathAt(data, te.Offset)
		if where == "" {
			where = "the body"
		}
		return fmt.Errorf("%s %s", where, expected(te))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the body is not valid JSON: it ends too soon")
	case errors.As(err, new(*time.ParseError)):
		return errors.New("the body has an invalid date and time: write them as in RFC 3339, e.g. 2026-03-01T09:30:00Z")
	}
	// A type's own UnmarshalJSON or UnmarshalText refused a value; its
	// message is the service's, not Go's, but may carry a package prefix.
	msg := err.Error()
	for {
		prefix, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(prefix, " \"'") {
			break
		}
		msg = rest
	}
	return fmt.Errorf("the body has an invalid value: %s", msg)
}

// expected says what a value of type t must be, in JSON's words.
func expected(te *json.UnmarshalTypeError) string {
	t := te.Type
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		lo, hi := -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
		if strings.HasPrefix(te.Value, "number") {
			return fmt.Sprintf("must be an integer from %d to %d", lo, hi)
		}
		return "must be an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if strings.HasPrefix(te.Value, "number") {
			return fmt.Sprintf("must be an integer from 0 to %d", uint64(1)<<t.Bits()-1)
		}
		return "must be an integer"
	case reflect.Float32, reflect.Float64:
		if strings.HasPrefix(te.Value, "number") {
			return "is a number out of range"
		}
		return "must be a number"
	case reflect.Bool:
		return "must be true or false"
	case reflect.String:
		return "must be a string"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Map, reflect.Struct:
		return "must be an object"
	}
	return "has the wrong type"
}

// pathAt returns the path ("items[0].quantity") of the value of data that
// ends at offset (or, for an object or array, starts just before it), or ""
// for the top-level value.
func pathAt(data []byte, offset int64) string {
	type level struct {
		array bool
		index int
		key   string
		// wantKey: the next string token of an object is a key.
		wantKey bool
	}
	var stack []level
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			if l.array {
				fmt.Fprintf(&b, "[%d]", l.index)
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l.key)
		}
		return b.String()
	}
	// value moves the innermost level past one value.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	last := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].wantKey = key, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if dec.InputOffset() >= offset {
				return path()
			}
			stack = append(stack, level{array: tok == json.Delim('['), wantKey: tok == json.Delim('{')})
		case json.Delim('}'), json.Delim(']'):
			if dec.InputOffset() >= offset {
				// Decoding into an any reports a number it cannot hold
				// once past the object or array around it.
				return last
			}
			stack = stack[:len(stack)-1]
			value()
		default:
			last = path()
			if dec.InputOffset() >= offset {
				return last
			}
			value()
		}
	}
}
