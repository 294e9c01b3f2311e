package page

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// ErrSignedOut is returned by Authed for a request nobody is signed in to
// (or whose sign-in ended); Fail sends it to the sign-in page.
var ErrSignedOut = errors.New("page: not signed in")

// Principal is the person signed in to a session, with their API tokens.
type Principal struct {
	// Kind is "customer" or "staff".
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// Role is a staff member's role (owner, manager, staff, support).
	Role   string `json:"role,omitempty"`
	Tokens Tokens `json:"tokens"`
	// Store is the store signed in to: a session is never another
	// store's, whatever keeps it.
	Store string `json:"store"`
}

const principalKey = "principal"

// SignIn makes p the session's person. The session gets a new token (no
// session fixation) and its cookie is Secure unless the site is served on
// a loopback name.
func (k *Kit) SignIn(w http.ResponseWriter, r *http.Request, p Principal) error {
	ctx := r.Context()
	store, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	p.Store = store
	if err := k.opts.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	k.opts.Sessions.Put(ctx, principalKey, string(b))
	return nil
}

// SignOut ends the session.
func (k *Kit) SignOut(r *http.Request) error {
	return k.opts.Sessions.Destroy(r.Context())
}

func (k *Kit) principal(ctx context.Context) (*Principal, error) {
	raw := k.opts.Sessions.GetString(ctx, principalKey)
	if raw == "" {
		return nil, ErrSignedOut
	}
	var p Principal
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, ErrSignedOut
	}
	if store, err := tenancy.ID(ctx); err != nil || store != p.Store {
		return nil, ErrSignedOut
	}
	return &p, nil
}

// Authed returns ctx carrying the signed-in person's access token (their
// API calls are made with their rights) and the person. An access token
// about to expire is refreshed first; when it cannot be, the person is
// signed out and Authed returns ErrSignedOut. kind ("customer", "staff")
// is the kind of person the page is for.
func (k *Kit) Authed(r *http.Request, kind string) (context.Context, *Principal, error) {
	ctx := r.Context()
	p, err := k.principal(ctx)
	if err != nil || p.Kind != kind {
		return ctx, nil, ErrSignedOut
	}
	if time.Until(p.Tokens.Expires) < 30*time.Second {
		if k.opts.Refresh == nil || p.Tokens.Refresh == "" {
			_ = k.SignOut(r)
			return ctx, nil, ErrSignedOut
		}
		t, err := k.refreshes.do(ctx, p.Tokens.Refresh, k.opts.Refresh)
		if err != nil {
			if _, refused := apiclient.Refused(err); refused {
				_ = k.SignOut(r)
				return ctx, nil, ErrSignedOut
			}
			return ctx, nil, err
		}
		p.Tokens = t
		b, err := json.Marshal(p)
		if err != nil {
			return ctx, nil, err
		}
		k.opts.Sessions.Put(ctx, principalKey, string(b))
	}
	return apiclient.WithToken(ctx, p.Tokens.Access), p, nil
}

// Remember keeps a value in the visitor's session (a guest's cart ID).
func (k *Kit) Remember(r *http.Request, key, value string) {
	k.opts.Sessions.Put(r.Context(), key, value)
}

// Recall returns a value Remember kept, or "".
func (k *Kit) Recall(r *http.Request, key string) string {
	return k.opts.Sessions.GetString(r.Context(), key)
}

// Forget removes a value Remember kept.
func (k *Kit) Forget(r *http.Request, key string) {
	k.opts.Sessions.Remove(r.Context(), key)
}
