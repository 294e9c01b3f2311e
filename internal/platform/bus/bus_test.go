package bus_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"order.placed.v1", "order.placed.v1", true},
		{"order.placed.v1", "order.placed.v2", false},
		{"order.*.v1", "order.placed.v1", true},
		{"order.*.v1", "order.placed.x.v1", false},
		{"order.*", "order", false},
		{"*", "order", true},
		{"*", "order.placed", false},
		{"order.>", "order.placed", true},
		{"order.>", "order.placed.v1", true},
		{"order.>", "order", false},
		{">", "order", true},
		{">", "order.placed.v1", true},
		{"*.placed.>", "order.placed.v1", true},
		{"*.placed.>", "order.placed", false},
		{"order.placed", "order.placed.v1", false},
		{"order.placed.v1", "order.placed", false},
	}
	for _, tt := range tests {
		if got := bus.Match(tt.pattern, tt.subject); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, s := range []string{"order.placed.v1", "a", "a-b.c_d.E9"} {
		if err := bus.ValidateSubject(s); err != nil {
			t.Errorf("ValidateSubject(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "a..b", "a.*", "a.>", "a b", ".a", "a."} {
		if err := bus.ValidateSubject(s); err == nil {
			t.Errorf("ValidateSubject(%q) = nil, want an error", s)
		}
	}
	for _, p := range []string{"a.*", "a.>", ">", "*.b.>", "a.b"} {
		if err := bus.ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"a.>.b", "", "a..b", "a.b*", "a.>x"} {
		if err := bus.ValidatePattern(p); err == nil {
			t.Errorf("ValidatePattern(%q) = nil, want an error", p)
		}
	}
	valid := bus.Subscription{Group: "search", Subjects: []string{"catalog.>"}}
	if err := valid.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", valid, err)
	}
	for _, s := range []bus.Subscription{
		{Group: "", Subjects: []string{"a"}},
		{Group: "a.b", Subjects: []string{"a"}},
		{Group: "a"},
		{Group: "a", Subjects: []string{"a.>.b"}},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", s)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := bus.Subscription{}.WithDefaults()
	if s.MaxAttempts != bus.DefaultMaxAttempts || s.Concurrency != 1 || s.Backoff == nil {
		t.Errorf("WithDefaults() = %+v", s)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		if got := bus.DefaultBackoff(i + 1); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := bus.DefaultBackoff(100); got != 30*time.Second {
		t.Errorf("DefaultBackoff(100) = %v, want the 30s cap", got)
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad payload")
	err := fmt.Errorf("handle event: %w", bus.Permanent(base))
	if !bus.IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("IsPermanent/Is on a wrapped permanent error: %v %v", bus.IsPermanent(err), errors.Is(err, base))
	}
	if bus.IsPermanent(base) || bus.Permanent(nil) != nil {
		t.Error("a plain error is not permanent, and Permanent(nil) is nil")
	}
}
