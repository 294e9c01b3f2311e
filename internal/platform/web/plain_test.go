package web

import (
	"errors"
	"fmt"
	"testing"
)

func TestPlain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"catalog: invalid input", "invalid input"},
		{"identity: password has fewer than 10 characters", "password has fewer than 10 characters"},
		{"capture order o1: payment: invalid input: amount", "capture order o1: invalid input: amount"},
		{"order: payment: declined", "declined"},
		{"the store's currency, EUR: see price", "the store's currency, EUR: see price"},
		{"ABC-1 is out of stock: 3 requested", "ABC-1 is out of stock: 3 requested"},
	} {
		if got := Plain(errors.New(tc.in)); got != tc.want {
			t.Errorf("Plain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Plain(fmt.Errorf("cart: %w", errors.New("cart: too many lines"))); got != "too many lines" {
		t.Errorf("wrapped: %q", got)
	}
	p := Error(422, "validation_failed", "catalog: invalid input", Field("body.title", "catalog: is required", nil)).(*Problem)
	if p.Detail != "invalid input" || p.Errors[0].Message != "is required" {
		t.Errorf("Error kept a package prefix: %q, %q", p.Detail, p.Errors[0].Message)
	}
}
