-- name: InsertAPIKey :exec
INSERT INTO api_keys (tenant_id, id, name, kind, prefix, key_hash, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(name), sqlc.arg(kind), sqlc.arg(prefix),
    sqlc.arg(key_hash), sqlc.arg(created_at));

-- name: ListAPIKeys :many
SELECT tenant_id, id, name, kind, prefix, created_at, revoked_at FROM api_keys
WHERE tenant_id = sqlc.arg(tenant_id)
ORDER BY created_at DESC, id DESC;

-- name: GetAPIKey :one
SELECT tenant_id, id, name, kind, prefix, created_at, revoked_at FROM api_keys
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: CountLiveAPIKeys :one
SELECT COUNT(*) FROM api_keys WHERE tenant_id = sqlc.arg(tenant_id) AND revoked_at IS NULL;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = sqlc.arg(revoked_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND revoked_at IS NULL;

-- name: ResolveAPIKey :one
-- Like host resolution, not scoped by tenant: the key names its tenant.
SELECT k.tenant_id, k.id, k.kind FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = sqlc.arg(key_hash) AND k.revoked_at IS NULL AND t.status = 'active';
