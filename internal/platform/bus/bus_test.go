package bus_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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

func TestValidateGroup(t *testing.T) {
	for _, g := range []string{"search", "order_saga", "a-b", "G9"} {
		if err := bus.ValidateGroup(g); err != nil {
			t.Errorf("ValidateGroup(%q) = %v, want nil", g, err)
		}
	}
	for _, g := range []string{"", "a.b", "a b", "*", ">", "a/b", "é"} {
		if err := bus.ValidateGroup(g); err == nil {
			t.Errorf("ValidateGroup(%q) = nil, want an error", g)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	transient := errors.New("timeout")
	perm := fmt.Errorf("decode: %w", bus.Permanent(errors.New("bad json")))
	custom := bus.Subscription{MaxAttempts: 3, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second }}
	tests := []struct {
		name      string
		sub       bus.Subscription
		attempt   int
		err       error
		wantDelay time.Duration
		wantRetry bool
	}{
		{"first failure", custom, 1, transient, time.Second, true},
		{"before the last", custom, 2, transient, 2 * time.Second, true},
		{"last attempt", custom, 3, transient, 0, false},
		{"past the last", custom, 4, transient, 0, false},
		{"permanent at once", custom, 1, perm, 0, false},
		{"defaults", bus.Subscription{}, 1, transient, bus.DefaultBackoff(1), true},
		{"default last attempt", bus.Subscription{}, bus.DefaultMaxAttempts, transient, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delay, retry := tt.sub.RetryAfter(tt.attempt, tt.err)
			if delay != tt.wantDelay || retry != tt.wantRetry {
				t.Errorf("RetryAfter(%d, %v) = %v, %v; want %v, %v", tt.attempt, tt.err, delay, retry, tt.wantDelay, tt.wantRetry)
			}
		})
	}
	// Backoff is asked only for a retry.
	var asked []int
	s := bus.Subscription{MaxAttempts: 2, Backoff: func(n int) time.Duration { asked = append(asked, n); return 0 }}
	s.RetryAfter(1, transient)
	s.RetryAfter(2, transient)
	s.RetryAfter(1, perm)
	if !slices.Equal(asked, []int{1}) {
		t.Errorf("Backoff asked for %v, want [1]", asked)
	}
}

func TestNewDeadLetter(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))
	m := bus.Message{ID: "e1", Subject: "order.placed.v1", Data: []byte(`{}`), Header: map[string]string{"tenant": "t1"}, Attempt: 3}
	got := bus.NewDeadLetter("billing", m, 3, fmt.Errorf("charge: %w", errors.New("declined")), at)
	if got.ID != "e1" || got.Subject != m.Subject || string(got.Data) != "{}" || got.Header["tenant"] != "t1" {
		t.Errorf("NewDeadLetter lost the message: %+v", got)
	}
	if got.Attempt != 0 || got.Attempts != 3 || got.Group != "billing" || got.Error != "charge: declined" {
		t.Errorf("NewDeadLetter = %+v, want attempt 0, attempts 3, group billing, error %q", got, "charge: declined")
	}
	if !got.FailedAt.Equal(at) || got.FailedAt.Location() != time.UTC {
		t.Errorf("FailedAt = %v, want %v in UTC", got.FailedAt, at)
	}
	if m.Attempt != 3 {
		t.Error("NewDeadLetter changed the caller's message")
	}
}

func TestDeadLetterJSON(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	dl := bus.NewDeadLetter("g", bus.Message{ID: "e1", Subject: "a.b", Data: []byte("hi"), Header: map[string]string{"tenant": "t1"}}, 2, errors.New("boom"), at)
	data, err := json.Marshal(dl)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var keys map[string]any
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("unmarshal to map: %v", err)
	}
	want := []string{"attempt", "attempts", "data", "error", "failed_at", "group", "header", "id", "subject"}
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	if keys["data"] != "aGk=" {
		t.Errorf("data = %v, want base64 %q", keys["data"], "aGk=")
	}
	var back bus.DeadLetter
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if back.ID != "e1" || back.Subject != "a.b" || string(back.Data) != "hi" || back.Header["tenant"] != "t1" ||
		back.Group != "g" || back.Error != "boom" || back.Attempts != 2 || !back.FailedAt.Equal(at) {
		t.Errorf("round trip = %+v", back)
	}

	// A letter stored before Message had JSON tags.
	old := `{"ID":"e0","Subject":"a.b","Data":"aGk=","Header":{"tenant":"t0"},"Attempt":0,` +
		`"group":"g","error":"boom","attempts":5,"failed_at":"2024-01-02T03:04:05Z"}`
	var prev bus.DeadLetter
	if err := json.Unmarshal([]byte(old), &prev); err != nil {
		t.Fatalf("unmarshal old letter: %v", err)
	}
	if prev.ID != "e0" || prev.Subject != "a.b" || string(prev.Data) != "hi" || prev.Header["tenant"] != "t0" ||
		prev.Group != "g" || prev.Attempts != 5 || prev.FailedAt.IsZero() {
		t.Errorf("old letter decoded as %+v", prev)
	}
}

func TestValidatePatterns(t *testing.T) {
	tests := []struct {
		patterns []string
		ok       bool
	}{
		{[]string{"order.>", "payment.*.v1"}, true},
		{nil, false},
		{[]string{"order.>", "bad pattern"}, false},
		{[]string{"a.>.b"}, false},
	}
	for _, tt := range tests {
		if err := bus.ValidatePatterns(tt.patterns); (err == nil) != tt.ok {
			t.Errorf("ValidatePatterns(%q) = %v, want ok %v", tt.patterns, err, tt.ok)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"3.10.8", true}, {"3.13.0", true}, {"4.0.1", true}, {"3.9.29", false}, {"3.8", false}, {"v2.10.4", false}, {"", false}, {"x.y", false}} {
		if got := bus.VersionAtLeast(tt.v, 3, 10); got != tt.want {
			t.Errorf("VersionAtLeast(%q, 3, 10) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
