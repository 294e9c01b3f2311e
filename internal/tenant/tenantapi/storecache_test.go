package tenantapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// countingStores answers each tenant's store with the currency it holds
// now, counting calls; err fails them.
type countingStores struct {
	calls    int
	currency string
	err      error
}

func (c *countingStores) Store(ctx context.Context) (Store, error) {
	c.calls++
	if c.err != nil {
		return Store{}, c.err
	}
	id, _ := tenancy.ID(ctx)
	s := Store{ID: id}
	s.Currency = c.currency
	return s, nil
}

func TestStoreCache(t *testing.T) {
	src := &countingStores{currency: "EUR"}
	c := NewStoreCache(src, 5*time.Second)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	a := tenancy.WithID(t.Context(), "a")
	b := tenancy.WithID(t.Context(), "b")

	get := func(ctx context.Context, want string) {
		t.Helper()
		s, err := c.Store(ctx)
		if err != nil || s.Currency != want {
			t.Fatalf("Store = %+v, %v; want currency %s", s, err, want)
		}
	}
	get(a, "EUR")
	get(a, "EUR")
	if src.calls != 1 {
		t.Fatalf("calls = %d after two reads of one store, want 1", src.calls)
	}
	get(b, "EUR") // another store is its own entry
	if src.calls != 2 {
		t.Fatalf("calls = %d after a second store, want 2", src.calls)
	}

	src.currency = "USD"
	now = now.Add(4 * time.Second)
	get(a, "EUR") // still fresh
	now = now.Add(2 * time.Second)
	get(a, "USD") // older than the TTL: read again
	if src.calls != 3 {
		t.Fatalf("calls = %d, want 3", src.calls)
	}

	src.err = errors.New("tenant down")
	now = now.Add(10 * time.Second)
	if _, err := c.Store(a); !errors.Is(err, src.err) {
		t.Fatalf("Store with the source down = %v, want its error", err)
	}
	src.err = nil
	get(a, "USD") // an error was not cached
	if _, err := c.Store(t.Context()); err == nil {
		t.Fatal("Store without a tenant in the context succeeded")
	}
}
