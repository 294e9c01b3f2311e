package cache

import (
	"sync"
	"sync/atomic"
)

// Changes counts the write transactions committed in this process, per
// database and tenant, so that a cache of pages built from several
// services' data (the storefront's) can tell that one of them changed
// without being told by each: a page stored under Version(tenant, its
// databases) is current while that version is.
//
// It sees only this process's commits. Where the services a page reads run
// in other processes (the production shape), nothing here moves and the
// cache's TTL alone bounds how old a page may be.
//
// A nil *Changes counts nothing and its version never moves.
type Changes struct {
	counts sync.Map // db + "\x00" + tenant → *atomic.Uint64
}

// NewChanges returns an empty count.
func NewChanges() *Changes { return &Changes{} }

// Committed counts a write transaction of database db for tenant: a
// tenant ID, or "*" (or "") for one that may have touched every tenant's
// rows, which moves every tenant's version.
func (c *Changes) Committed(db, tenant string) {
	if c == nil {
		return
	}
	if tenant == "" {
		tenant = "*"
	}
	c.counter(db, tenant).Add(1)
}

// Version is the sum of the commits of the databases dbs for tenant and for
// all tenants. It only grows: a page built after reading a version is
// current while Version still returns it.
func (c *Changes) Version(tenant string, dbs ...string) uint64 {
	if c == nil {
		return 0
	}
	var v uint64
	for _, db := range dbs {
		v += c.counter(db, tenant).Load() + c.counter(db, "*").Load()
	}
	return v
}

func (c *Changes) counter(db, tenant string) *atomic.Uint64 {
	key := db + "\x00" + tenant
	if n, ok := c.counts.Load(key); ok {
		return n.(*atomic.Uint64)
	}
	n, _ := c.counts.LoadOrStore(key, new(atomic.Uint64))
	return n.(*atomic.Uint64)
}
