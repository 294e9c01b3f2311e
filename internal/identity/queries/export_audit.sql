-- name: InsertExportAudit :exec
INSERT INTO export_audit (tenant_id, id, kind, rows_count, masked, actor_kind, actor_id, actor_role, via, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(kind), sqlc.arg(rows_count), sqlc.arg(masked), sqlc.arg(actor_kind),
    sqlc.arg(actor_id), sqlc.arg(actor_role), sqlc.arg(via), sqlc.arg(created_at));

-- name: ListExportAudit :many
-- Newest first (IDs are UUIDv7), a page before the given ID ('z', after
-- every ID, for the first page).
SELECT * FROM export_audit
WHERE tenant_id = sqlc.arg(tenant_id) AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(n);
