package rabbitbus

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{-time.Second, time.Millisecond},
		{0, time.Millisecond},
		{time.Nanosecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{time.Millisecond + 1, 2 * time.Millisecond},
		{3 * time.Millisecond, 4 * time.Millisecond},
		{20 * time.Millisecond, 32 * time.Millisecond},
		{128 * time.Millisecond, 128 * time.Millisecond},
		{150 * time.Millisecond, 256 * time.Millisecond},
		{30 * time.Second, 32768 * time.Millisecond},
		{maxRetryDelay - 1, maxRetryDelay},
		{maxRetryDelay, maxRetryDelay},
		{365 * 24 * time.Hour, maxRetryDelay},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.in); got != tt.want {
			t.Errorf("retryDelay(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// A jittered backoff lands on a handful of queues, never early.
	seen := map[time.Duration]bool{}
	for d := time.Duration(0); d <= 30*time.Second; d += 7*time.Millisecond + 13 {
		got := retryDelay(d)
		if got < d {
			t.Fatalf("retryDelay(%v) = %v: early", d, got)
		}
		seen[got] = true
	}
	if len(seen) > 16 {
		t.Errorf("delays up to 30s use %d retry queues, want at most 16", len(seen))
	}
}
