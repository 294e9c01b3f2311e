package session

import (
	"hash/maphash"
	"sync"
	"time"
)

// mirrors remembers what this process last copied to the database for each
// session, so that the copy is rewritten only when the data changes or it
// is getting old, not on every request (scs commits on every request to
// carry the idle expiry forward). Forgetting costs only an extra write.
type mirrors struct {
	every time.Duration
	seed  maphash.Seed

	mu   sync.Mutex
	last map[string]mirrorMark
}

type mirrorMark struct {
	sum uint64
	at  time.Time
}

// maxMirrors bounds the memory of mirrors; when full it starts over.
const maxMirrors = 100_000

func newMirrors(every time.Duration) *mirrors {
	return &mirrors{every: every, seed: maphash.MakeSeed(), last: make(map[string]mirrorMark)}
}

func mirrorKey(tenant, token string) string { return tenant + ":" + token }

// due reports whether the copy of the session needs writing.
func (m *mirrors) due(tenant, token string, b []byte, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	mk, ok := m.last[mirrorKey(tenant, token)]
	return !ok || mk.sum != maphash.Bytes(m.seed, b) || now.Sub(mk.at) >= m.every
}

// done records a copy written at now.
func (m *mirrors) done(tenant, token string, b []byte, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.last) >= maxMirrors {
		clear(m.last)
	}
	m.last[mirrorKey(tenant, token)] = mirrorMark{sum: maphash.Bytes(m.seed, b), at: now}
}

// forget drops what is known of a session whose copy changed elsewhere.
func (m *mirrors) forget(tenant, token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.last, mirrorKey(tenant, token))
}
