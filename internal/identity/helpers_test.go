package identity

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// eventField returns a string field of the data of an outbox envelope.
func eventField(t testing.TB, data, field string) string {
	t.Helper()
	var env struct{ Data map[string]any }
	if err := json.Unmarshal([]byte(data), &env); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	v, _ := env.Data[field].(string)
	if v == "" {
		t.Fatalf("event data %q has no %s", data, field)
	}
	return v
}

// headerKid returns the kid of a JWT's header.
func headerKid(t testing.TB, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	_ = json.Unmarshal(b, &hdr)
	return hdr.Kid
}
