-- name: GetSettings :one
SELECT * FROM settings WHERE tenant_id = sqlc.arg(tenant_id);

-- name: PutSettings :exec
INSERT INTO settings (tenant_id, moderation, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(moderation), sqlc.arg(updated_at))
ON CONFLICT (tenant_id) DO UPDATE SET moderation = excluded.moderation, updated_at = excluded.updated_at;

-- name: CountWrites :one
SELECT COUNT(*) FROM writes
WHERE tenant_id = sqlc.arg(tenant_id) AND author = sqlc.arg(author) AND at >= sqlc.arg(since);

-- name: OldestWrite :one
SELECT CAST(COALESCE(MIN(at), 0) AS BIGINT) FROM writes
WHERE tenant_id = sqlc.arg(tenant_id) AND author = sqlc.arg(author) AND at >= sqlc.arg(since);

-- name: InsertWrite :exec
INSERT INTO writes (tenant_id, author, at, id)
VALUES (sqlc.arg(tenant_id), sqlc.arg(author), sqlc.arg(at), sqlc.arg(id));

-- name: PruneWrites :exec
DELETE FROM writes
WHERE tenant_id = sqlc.arg(tenant_id) AND author = sqlc.arg(author) AND at < sqlc.arg(since);

-- name: LockAuthor :exec
INSERT INTO authors (tenant_id, author, last_write_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(author), sqlc.arg(at))
ON CONFLICT (tenant_id, author) DO UPDATE SET last_write_at = excluded.last_write_at;
