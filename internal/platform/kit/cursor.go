package kit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrInvalidCursor is a list cursor the list did not hand out (or not for
// this order); Problems answers it with 422 invalid_cursor.
var ErrInvalidCursor = errors.New("invalid cursor")

// Cursor is the position after the last item of a page, in a list ordered
// by a time (unix microseconds) and an ID, the keyset of most lists.
// Lists ordered otherwise keep a keyset of their own and travel it with
// EncodeCursor and DecodeCursor.
type Cursor struct {
	At int64  `json:"at"`
	ID string `json:"id"`
}

// String is the cursor as handed to clients, opaque to them.
func (c Cursor) String() string { return EncodeCursor(c) }

// ParseCursor parses a cursor made by Cursor.String; anything else is
// ErrInvalidCursor.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if err := DecodeCursor(s, &c); err != nil || c.ID == "" {
		return Cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// EncodeCursor encodes keyset (a struct of strings and numbers) as an
// opaque cursor: base64url JSON.
func EncodeCursor(keyset any) string {
	b, _ := json.Marshal(keyset) // a struct of strings and numbers always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor decodes a cursor made by EncodeCursor into keyset; anything
// else is ErrInvalidCursor.
func DecodeCursor(s string, keyset any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, keyset) != nil {
		return ErrInvalidCursor
	}
	return nil
}
