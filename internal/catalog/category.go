package catalog

import (
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
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
	var errs []FieldError
	if err := text.Name(c.Name); err != nil {
		errs = append(errs, FieldError{Field: "name", Message: err.Error(), Value: c.Name})
	}
	if err := text.Slug(c.Slug); err != nil {
		errs = append(errs, FieldError{Field: "slug", Message: err.Error(), Value: c.Slug})
	}
	if err := text.Lines(c.Description, 5000, false); err != nil {
		errs = append(errs, FieldError{Field: "description", Message: err.Error()})
	}
	if c.ParentID != "" && c.ParentID == c.ID {
		errs = append(errs, FieldError{Field: "parent_id", Message: "a category cannot be its own parent", Value: c.ParentID})
	}
	return invalid(errs...)
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
	return &ValidationError{Err: ErrCategoryCycle, Fields: []FieldError{{
		Field: "parent_id", Message: fmt.Sprintf("category %s is this category or below it", parent), Value: parent,
	}}}
}
