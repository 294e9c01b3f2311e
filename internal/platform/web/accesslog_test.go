package web

import (
	"log/slog"
	"testing"
	"time"
)

func TestAccessLogLevel(t *testing.T) {
	sample := AccessLogConfig{Mode: AccessSample, Sample: 0, Slow: time.Second, ClientErrors: "warn"}
	for _, tc := range []struct {
		name   string
		cfg    AccessLogConfig
		status int
		d      time.Duration
		ctype  string
		want   slog.Level
	}{
		{"zero config logs all at info", AccessLogConfig{}, 200, time.Hour, "", slog.LevelInfo},
		{"zero config 4xx at info", AccessLogConfig{}, 404, 0, "", slog.LevelInfo},
		{"5xx always error", AccessLogConfig{Mode: AccessErrors}, 503, 0, "", slog.LevelError},
		{"slow is warn", sample, 200, 2 * time.Second, "", slog.LevelWarn},
		{"slow 4xx is warn", AccessLogConfig{Slow: time.Second, ClientErrors: "debug"}, 404, time.Second, "", slog.LevelWarn},
		{"a long event stream is not slow", sample, 200, time.Hour, "text/event-stream", slog.LevelDebug},
		{"unsampled 2xx at debug", sample, 201, time.Millisecond, "", slog.LevelDebug},
		{"4xx at the chosen level", sample, 409, time.Millisecond, "", slog.LevelWarn},
		{"errors mode 2xx at debug", AccessLogConfig{Mode: AccessErrors}, 200, 0, "", slog.LevelDebug},
		{"all mode 3xx at info", AccessLogConfig{Mode: AccessAll, Slow: time.Second}, 303, 0, "", slog.LevelInfo},
		{"sample of 1 logs all", AccessLogConfig{Mode: AccessSample, Sample: 1}, 200, 0, "", slog.LevelInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Level(tc.status, tc.d, tc.ctype); got != tc.want {
				t.Errorf("level(%d, %s) = %s, want %s", tc.status, tc.d, got, tc.want)
			}
		})
	}
}

func TestAccessLogSampleFraction(t *testing.T) {
	cfg := AccessLogConfig{Mode: AccessSample, Sample: 0.1}
	const n = 20000
	info := 0
	for range n {
		if cfg.Level(200, 0, "") == slog.LevelInfo {
			info++
		}
	}
	// 2000 expected; the standard deviation is about 42, so ±400 is a
	// bound a correct sampler does not reach.
	if info < 1600 || info > 2400 {
		t.Errorf("%d of %d requests sampled at 0.1, want about 2000", info, n)
	}
}

func TestAccessLogValidate(t *testing.T) {
	var d AccessLogConfig
	if err := d.Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	for _, bad := range []AccessLogConfig{
		{Mode: "some"}, {Sample: 1.5}, {Sample: -0.1}, {Slow: -time.Second}, {ClientErrors: "error"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
