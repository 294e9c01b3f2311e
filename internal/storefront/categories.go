package storefront

import (
	"context"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// categoriesTTL is how long a store's category tree is reused: every page
// shows it in its navigation, and a change of categories is rare enough
// to show within a few seconds.
const categoriesTTL = 5 * time.Second

// categoryCache keeps each store's public category tree for categoriesTTL.
// Errors are not kept.
type categoryCache struct {
	mu    sync.Mutex
	trees map[string]cachedTree
	now   func() time.Time
}

type cachedTree struct {
	tree catalogapi.CategoryList
	at   time.Time
}

func newCategoryCache() *categoryCache {
	return &categoryCache{trees: map[string]cachedTree{}, now: time.Now}
}

// categories returns the category tree of the store in ctx.
func (s *Service) categories(ctx context.Context) (catalogapi.CategoryList, error) {
	c := s.trees
	store, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.CategoryList{}, err
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.trees[store]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < categoriesTTL {
		return e.tree, nil
	}
	tree, err := s.deps.Catalog.Categories(ctx)
	if err != nil {
		return catalogapi.CategoryList{}, err
	}
	c.mu.Lock()
	c.trees[store] = cachedTree{tree: tree, at: now}
	c.mu.Unlock()
	return tree, nil
}
