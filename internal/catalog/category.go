package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
)

// newCategory builds a category from a create request; the store makes a
// derived slug unique and checks the parent exists.
func newCategory(in catalogapi.CategoryCreate, id string, now time.Time) (catalogapi.Category, error) {
	now = now.UTC().Truncate(time.Microsecond)
	c := catalogapi.Category{
		ID:          id,
		ParentID:    in.ParentID,
		Slug:        in.Slug,
		Name:        strings.TrimSpace(in.Name),
		Description: in.Description,
		Position:    in.Position,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if c.Slug == "" {
		c.Slug = Slugify(c.Name, "category")
	}
	return c, validateCategory(c)
}

// patchCategory applies a partial update. Whether a new parent exists and
// makes no cycle is for the caller to check against the whole tree
// (see wouldCycle).
func patchCategory(c catalogapi.Category, in catalogapi.CategoryUpdate, now time.Time) (catalogapi.Category, error) {
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Slug != nil {
		c.Slug = *in.Slug
	}
	if in.ParentID != nil {
		c.ParentID = *in.ParentID
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Position != nil {
		c.Position = *in.Position
	}
	c.UpdatedAt = now.UTC().Truncate(time.Microsecond)
	return c, validateCategory(c)
}

func validateCategory(c catalogapi.Category) error {
	var errs []kit.FieldError
	if err := text.Name(c.Name); err != nil {
		errs = append(errs, kit.FieldError{Field: "name", Message: err.Error(), Value: c.Name})
	}
	if err := text.Slug(c.Slug); err != nil {
		errs = append(errs, kit.FieldError{Field: "slug", Message: err.Error(), Value: c.Slug})
	}
	if err := text.Lines(c.Description, 5000, false); err != nil {
		errs = append(errs, kit.FieldError{Field: "description", Message: err.Error()})
	}
	if c.ParentID != "" && c.ParentID == c.ID {
		errs = append(errs, kit.FieldError{Field: "parent_id", Message: "a category cannot be its own parent", Value: c.ParentID})
	}
	return kit.Invalid(ErrInvalid, errs...)
}

// wouldCycle reports whether making parent the parent of id would put id
// below itself. all is every category of the tenant.
func wouldCycle(all []catalogapi.Category, id, parent string) bool {
	up := make(map[string]string, len(all))
	for _, c := range all {
		up[c.ID] = c.ParentID
	}
	// The walk is bounded by the number of categories, so a cycle already
	// in the data (which the checks here prevent) cannot loop forever.
	for range len(all) + 1 {
		if parent == "" {
			return false
		}
		if parent == id {
			return true
		}
		parent = up[parent]
	}
	return true
}

// ancestry is id and its ancestors, nearest first, as far as all knows
// them; it stops before repeating one, should the data hold a cycle.
func ancestry(all []catalogapi.Category, id string) []string {
	up := make(map[string]string, len(all))
	for _, c := range all {
		up[c.ID] = c.ParentID
	}
	var out []string
	seen := map[string]bool{}
	for id != "" && !seen[id] {
		seen[id] = true
		out = append(out, id)
		id = up[id]
	}
	return out
}

// buildTree nests a flat, ordered list of categories under their parents,
// keeping the order among siblings. A category whose parent is missing is
// shown as a root rather than lost.
func buildTree(flat []catalogapi.Category) []catalogapi.Category {
	children := map[string][]int{}
	index := make(map[string]int, len(flat))
	for i, c := range flat {
		index[c.ID] = i
	}
	var roots []int
	for i, c := range flat {
		if _, ok := index[c.ParentID]; c.ParentID == "" || !ok {
			roots = append(roots, i)
			continue
		}
		children[c.ParentID] = append(children[c.ParentID], i)
	}
	var build func(i, depth int) catalogapi.Category
	build = func(i, depth int) catalogapi.Category {
		c := flat[i]
		// depth guards against a cycle in corrupt data.
		if depth < len(flat) {
			for _, j := range children[c.ID] {
				c.Children = append(c.Children, build(j, depth+1))
			}
		}
		return c
	}
	out := make([]catalogapi.Category, 0, len(roots))
	for _, i := range roots {
		out = append(out, build(i, 0))
	}
	return out
}

// errCycle is the validation error for a parent that would make a cycle.
func errCycle(parent string) error {
	return &kit.ValidationError{Err: ErrCategoryCycle, Fields: []kit.FieldError{{
		Field: "parent_id", Message: fmt.Sprintf("category %s is this category or below it", parent), Value: parent,
	}}}
}

// CreateCategory creates a category for the tenant in ctx.
func (s *Service) CreateCategory(ctx context.Context, in catalogapi.CategoryCreate) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	c, err := newCategory(in, kit.NewID(), s.now())
	if err != nil {
		return catalogapi.Category{}, err
	}
	base := c.Slug
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *catalogdb.Queries) error {
		if c.ParentID != "" {
			if err := categoryExists(ctx, q, tenant, c.ParentID, "parent_id"); err != nil {
				return err
			}
		}
		slug, err := settleSlug(ctx, categorySlugs(q, tenant), c.ID, base, in.Slug != "")
		if err != nil {
			return err
		}
		c.Slug = slug
		return insertCategory(ctx, q, tenant, c)
	})
	if err != nil {
		return catalogapi.Category{}, fmt.Errorf("create category: %w", err)
	}
	return c, nil
}

// UpdateCategory applies a partial update to a category. A new parent must
// exist and not be the category or one below it; checkMove makes that hold
// under concurrent moves too.
func (s *Service) UpdateCategory(ctx context.Context, id string, in catalogapi.CategoryUpdate) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	var c catalogapi.Category
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *catalogdb.Queries) error {
		old, err := s.store.category(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		if c, err = patchCategory(old, in, s.now()); err != nil {
			return err
		}
		if c.ParentID != "" && c.ParentID != old.ParentID {
			if err := s.store.checkMove(ctx, q, tenant, c.ID, c.ParentID); err != nil {
				return err
			}
		}
		if c.Slug != old.Slug {
			if _, err := settleSlug(ctx, categorySlugs(q, tenant), c.ID, c.Slug, true); err != nil {
				return err
			}
		}
		return updateCategory(ctx, q, tenant, c)
	})
	if err != nil {
		return catalogapi.Category{}, fmt.Errorf("update category %s: %w", id, err)
	}
	return c, nil
}

// DeleteCategory deletes a category that has no children and no products
// (archived ones included: they still point at it).
func (s *Service) DeleteCategory(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *catalogdb.Queries) error {
		if _, err := s.store.category(ctx, q, tenant, id); err != nil {
			return err
		}
		n, err := q.CountChildCategories(ctx, catalogdb.CountChildCategoriesParams{TenantID: tenant, ParentID: nullString(id)})
		if err != nil {
			return fmt.Errorf("count child categories: %w", err)
		}
		if n > 0 {
			return ErrCategoryHasChildren
		}
		n, err = q.CountCategoryProducts(ctx, catalogdb.CountCategoryProductsParams{TenantID: tenant, CategoryID: nullString(id)})
		if err != nil {
			return fmt.Errorf("count category products: %w", err)
		}
		if n > 0 {
			return ErrCategoryInUse
		}
		if _, err := q.DeleteCategory(ctx, catalogdb.DeleteCategoryParams{TenantID: tenant, ID: id}); err != nil {
			return fmt.Errorf("delete category: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete category %s: %w", id, err)
	}
	return nil
}

// Category returns one category, without children.
func (s *Service) Category(ctx context.Context, id string) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	var c catalogapi.Category
	err = s.store.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		c, err = s.store.category(ctx, q, tenant, id)
		return err
	})
	return c, err
}

// Categories returns every category of the tenant as a flat list, ordered
// by position then name.
func (s *Service) Categories(ctx context.Context) ([]catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	var cs []catalogapi.Category
	err = s.store.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		cs, err = s.store.categories(ctx, q, tenant)
		return err
	})
	return cs, err
}

// CategoryTree returns the tenant's categories as a tree: the roots, each
// with its children.
func (s *Service) CategoryTree(ctx context.Context) ([]catalogapi.Category, error) {
	flat, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	return buildTree(flat), nil
}
