-- name: InsertExportAudit :exec
INSERT INTO export_audit (tenant_id, id, kind, rows_count, masked, actor_kind, actor_id, actor_role, via, created_at, in_progress)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(kind), sqlc.arg(rows_count), sqlc.arg(masked), sqlc.arg(actor_kind),
    sqlc.arg(actor_id), sqlc.arg(actor_role), sqlc.arg(via), sqlc.arg(created_at), sqlc.arg(in_progress));

-- name: FinishExportAudit :execrows
-- Sets the row count of an export in progress, by the principal that
-- started it; 0 rows for another's, an unknown or a finished one.
UPDATE export_audit SET rows_count = sqlc.arg(rows_count), in_progress = 0
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND actor_kind = sqlc.arg(actor_kind)
    AND actor_id = sqlc.arg(actor_id) AND in_progress = 1;

-- name: GetExportAudit :one
SELECT * FROM export_audit WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ListExportAudit :many
-- Newest first (IDs are UUIDv7), a page before the given ID ('z', after
-- every ID, for the first page).
SELECT * FROM export_audit
WHERE tenant_id = sqlc.arg(tenant_id) AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(n);
