-- name: InsertMedia :execrows
-- The same bytes uploaded again by the same store insert nothing.
INSERT INTO media (tenant_id, id, hash, content_type, width, height, bytes, variants, file_name, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(hash), sqlc.arg(content_type), sqlc.arg(width),
    sqlc.arg(height), sqlc.arg(bytes), sqlc.arg(variants), sqlc.arg(file_name), sqlc.arg(created_at))
ON CONFLICT (tenant_id, hash) DO NOTHING;

-- name: GetMediaByHash :one
SELECT * FROM media WHERE tenant_id = sqlc.arg(tenant_id) AND hash = sqlc.arg(hash);
