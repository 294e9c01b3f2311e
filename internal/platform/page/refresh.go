package page

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// refreshReuse is how long the answer to a refresh is handed to other
// requests that present the same, now used-up, refresh token: requests of
// one session that were already on their way with the old tokens (a page
// and the form it posts, two tabs).
const refreshReuse = 30 * time.Second

// refreshes makes one refresh per refresh token in this process. Identity
// issues a new refresh token with each refresh and takes a second use of
// the old one for a stolen token, revoking the session: two requests of
// one session refreshing together would sign the person out. The second
// waits for the first and gets its tokens instead.
type refreshes struct {
	mu    sync.Mutex
	calls map[[sha256.Size]byte]*refreshCall
}

type refreshCall struct {
	done   chan struct{}
	tokens Tokens
	err    error
	ended  time.Time
}

// do returns the tokens that refresh gives for token, calling it once for
// all the requests that present token together or within refreshReuse of
// a successful call. A failed call is not reused: the next request tries
// again.
func (r *refreshes) do(ctx context.Context, token string, refresh Refresher) (Tokens, error) {
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	r.mu.Lock()
	if r.calls == nil {
		r.calls = make(map[[sha256.Size]byte]*refreshCall)
	}
	for k, c := range r.calls {
		if !c.ended.IsZero() && now.Sub(c.ended) > refreshReuse {
			delete(r.calls, k)
		}
	}
	c, ok := r.calls[key]
	if !ok || !c.ended.IsZero() && c.err != nil {
		c = &refreshCall{done: make(chan struct{})}
		r.calls[key] = c
		r.mu.Unlock()
		// The call outlives a request that hangs up: the others wait on it.
		c.tokens, c.err = refresh(context.WithoutCancel(ctx), token)
		r.mu.Lock()
		c.ended = time.Now()
		r.mu.Unlock()
		close(c.done)
		return c.tokens, c.err
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.tokens, c.err
	case <-ctx.Done():
		return Tokens{}, ctx.Err()
	}
}
