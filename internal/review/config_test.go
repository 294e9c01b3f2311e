package review

import (
	"testing"
	"time"
)

// TestConfigValidate: the defaults run; each value the service cannot run
// with is refused.
func TestConfigValidate(t *testing.T) {
	ok := Config{}.withDefaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, change := range map[string]func(c *Config){
		"no body":            func(c *Config) { c.MaxBody = -1 },
		"body over the cap":  func(c *Config) { c.MaxBody = 20001 },
		"no writes":          func(c *Config) { c.WriteLimit = -1 },
		"a window under 1 s": func(c *Config) { c.WriteWindow = time.Millisecond },
		"a bad group":        func(c *Config) { c.OrdersGroup = "a b" },
		"one group for both": func(c *Config) { c.CustomersGroup = c.OrdersGroup },
		"pages over the max": func(c *Config) { c.Paging.PageSize = c.Paging.MaxPageSize + 1 },
	} {
		c := ok
		change(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
