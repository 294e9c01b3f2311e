package app

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestRetentionValidate(t *testing.T) {
	var d Retention
	d.RegisterFlags(pflag.NewFlagSet("t", pflag.ContinueOnError))
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Retention)
		want string
	}{
		{"inbox shorter than the bus window", func(r *Retention) { r.Inbox = 24 * time.Hour }, "redelivery window"},
		{"inbox shorter than the outbox", func(r *Retention) { r.Outbox = 10 * 24 * time.Hour }, "at least -retention.outbox"},
		{"outbox too short", func(r *Retention) { r.Outbox = time.Minute }, "-retention.outbox must be at least 1h"},
		{"idempotency too short", func(r *Retention) { r.Idempotency = time.Minute }, "-retention.idempotency"},
		{"dead letters too short", func(r *Retention) { r.DeadLetters = time.Hour }, "-retention.dead-letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d
			tc.set(&r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
