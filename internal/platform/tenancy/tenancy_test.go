package tenancy

import (
	"context"
	"errors"
	"testing"
)

func TestID(t *testing.T) {
	if _, err := ID(context.Background()); !errors.Is(err, ErrMissing) {
		t.Fatalf("empty context: %v, want ErrMissing", err)
	}
	got, err := ID(WithID(context.Background(), "acme"))
	if err != nil || got != "acme" {
		t.Fatalf("ID = %q, %v", got, err)
	}
}

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"default": true, "acme-2": true, "a": true,
		"": false, "-acme": false, "Acme": false, "a_b": false, "a.b": false, "x'; --": false,
		"a234567890123456789012345678901234567890123456789012345678901234": false,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}
