package kit

import (
	"sync"

	"github.com/mercato/mercato/internal/platform/bus"
)

// Consumers are the event consumers a service subscribes (in Start) and
// stops when it stops (at the end of Run). The zero value is ready; it is
// safe for concurrent use.
type Consumers struct {
	mu   sync.Mutex
	list []bus.Consumer
}

// Add keeps cs to be stopped by Stop.
func (c *Consumers) Add(cs ...bus.Consumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, cs...)
}

// Len is how many consumers are kept.
func (c *Consumers) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.list)
}

// Stop stops every consumer kept, in the order they were added, and forgets
// them; a second Stop does nothing.
func (c *Consumers) Stop() {
	c.mu.Lock()
	list := c.list
	c.list = nil
	c.mu.Unlock()
	for _, cs := range list {
		cs.Stop()
	}
}
