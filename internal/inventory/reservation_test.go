package inventory

import (
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/kit"
)

func TestMergeLines(t *testing.T) {
	got, err := mergeLines([]inventoryapi.Line{{SKU: "B", Quantity: 2}, {SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := []line{{index: 1, sku: "A", qty: 1}, {index: 0, sku: "B", qty: 5}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("merged = %+v, want %+v", got, want)
	}
	bad := []struct {
		name  string
		lines []inventoryapi.Line
		field string
	}{
		{"empty", nil, "lines"},
		{"negative", []inventoryapi.Line{{SKU: "A", Quantity: -1}}, "lines[0].quantity"},
		{"slash", []inventoryapi.Line{{SKU: "A/B", Quantity: 1}}, "lines[0].sku"},
		{"long", []inventoryapi.Line{{SKU: string(make([]byte, 65)), Quantity: 1}}, "lines[0].sku"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mergeLines(tc.lines)
			var ve *kit.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != tc.field {
				t.Errorf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestTTL(t *testing.T) {
	c := Config{}.withDefaults()
	tests := []struct {
		seconds int64
		want    time.Duration
		ok      bool
	}{
		{0, DefaultReservationTTL, true},
		{1, time.Second, true},
		{3600, time.Hour, true},
		{3601, 0, false},
		{-5, 0, false},
	}
	for _, tc := range tests {
		got, err := c.ttl(tc.seconds)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ttl(%d) = %v, %v; want %v ok %v", tc.seconds, got, err, tc.want, tc.ok)
		}
	}
}

func TestClosingSettled(t *testing.T) {
	tests := []struct {
		c      closing
		status string
		closed bool
	}{
		{closeCommit, inventoryapi.StatusCommitted, false},
		{closeCommit, inventoryapi.StatusReleased, true},
		{closeCommit, inventoryapi.StatusExpired, true},
		{closeRelease, inventoryapi.StatusReleased, false},
		{closeRelease, inventoryapi.StatusExpired, false},
		{closeRelease, inventoryapi.StatusCommitted, true},
		{closeExpire, inventoryapi.StatusCommitted, true},
		{closeExpire, inventoryapi.StatusExpired, false},
	}
	for _, tc := range tests {
		err := tc.c.settled(tc.status)
		if errors.Is(err, ErrReservationClosed) != tc.closed {
			t.Errorf("%s of %s: %v, want closed %v", tc.c.status, tc.status, err, tc.closed)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{LowStockThreshold: 5}.withDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"short ttl":       func(c *Config) { c.ReservationTTL = time.Millisecond },
		"max below ttl":   func(c *Config) { c.MaxReservationTTL = time.Minute },
		"negative thresh": func(c *Config) { c.LowStockThreshold = -1 },
		"page over max":   func(c *Config) { c.Paging.PageSize = 500 },
		"tiny sweep":      func(c *Config) { c.SweepInterval = time.Microsecond },
	} {
		c := good
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
