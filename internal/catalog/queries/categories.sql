-- name: ListCategories :many
SELECT * FROM categories
WHERE tenant_id = sqlc.arg(tenant_id)
ORDER BY position, name, id;

-- name: GetCategory :one
SELECT * FROM categories
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: CategorySlugs :many
-- The slug and its numbered forms (slug-2, slug-3...) already in use.
SELECT slug FROM categories
WHERE tenant_id = sqlc.arg(tenant_id) AND (slug = sqlc.arg(slug) OR slug LIKE CAST(sqlc.arg(prefix) AS TEXT));

-- name: CategoryIDBySlug :one
SELECT id FROM categories
WHERE tenant_id = sqlc.arg(tenant_id) AND slug = sqlc.arg(slug);

-- name: CountChildCategories :one
SELECT COUNT(*) FROM categories
WHERE tenant_id = sqlc.arg(tenant_id) AND parent_id = sqlc.arg(parent_id);

-- name: CountCategoryProducts :one
SELECT COUNT(*) FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND category_id = sqlc.arg(category_id);

-- name: InsertCategory :exec
INSERT INTO categories (tenant_id, id, parent_id, slug, name, description, position, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.narg(parent_id), sqlc.arg(slug), sqlc.arg(name),
    sqlc.arg(description), sqlc.arg(position), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: UpdateCategory :execrows
UPDATE categories SET
    parent_id = sqlc.narg(parent_id), slug = sqlc.arg(slug), name = sqlc.arg(name),
    description = sqlc.arg(description), position = sqlc.arg(position), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: LockCategory :execrows
-- Writes the row unchanged, only to hold its row lock until the
-- transaction ends (see Service.UpdateCategory); FOR UPDATE would do, but
-- SQLite has no such clause.
UPDATE categories SET updated_at = updated_at
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteCategory :execrows
DELETE FROM categories
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);
