package storefront

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// A form that is not idempotent by itself (adding to the cart adds) must
// still change things once when it is sent twice: its Idempotency-Key is
// claimed before the change. The cart API keeps keys only for signed-in
// callers, so the storefront keeps a guest's: in the visitor's session
// (read by every storefront process, for a form sent again later) and in
// this process (for the same form sent twice at once, which two requests
// of one session would both miss in the session).

// sessionKeysKey is the session value listing the visitor's last claimed
// form keys, space-separated.
const sessionKeysKey = "form_keys"

// sessionKeys is how many claimed keys a session keeps.
const sessionKeys = 20

// formKeys are the keys this process claimed lately. It is safe for
// concurrent use.
type formKeys struct {
	mu   sync.Mutex
	seen map[string]time.Time
	ttl  time.Duration
	now  func() time.Time
}

func newFormKeys() *formKeys {
	return &formKeys{seen: map[string]time.Time{}, ttl: time.Hour, now: time.Now}
}

// claim reports whether key is new, and records it.
func (k *formKeys) claim(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if t, ok := k.seen[key]; ok && now.Sub(t) < k.ttl {
		return false
	}
	if len(k.seen) >= 4096 {
		for old, t := range k.seen {
			if now.Sub(t) >= k.ttl {
				delete(k.seen, old)
			}
		}
	}
	k.seen[key] = now
	return true
}

// release forgets key: the change it guarded did not happen.
func (k *formKeys) release(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.seen, key)
}

// claimKey reports whether the form with key is sent for the first time
// (so its change is to be made), and records it.
func (s *Service) claimKey(r *http.Request, key string) bool {
	keys := strings.Fields(s.kit.Recall(r, sessionKeysKey))
	if slices.Contains(keys, key) || !s.keys.claim(key) {
		return false
	}
	keys = append(keys, key)
	if len(keys) > sessionKeys {
		keys = keys[len(keys)-sessionKeys:]
	}
	s.kit.Remember(r, sessionKeysKey, strings.Join(keys, " "))
	return true
}

// releaseKey undoes claimKey when the change was refused or failed, so
// the same form may be sent again.
func (s *Service) releaseKey(r *http.Request, key string) {
	s.keys.release(key)
	keys := slices.DeleteFunc(strings.Fields(s.kit.Recall(r, sessionKeysKey)), func(k string) bool { return k == key })
	s.kit.Remember(r, sessionKeysKey, strings.Join(keys, " "))
}
