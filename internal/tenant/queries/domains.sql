-- name: InsertDomain :exec
INSERT INTO domains (host, tenant_id, kind, created_at)
VALUES (sqlc.arg(host), sqlc.arg(tenant_id), sqlc.arg(kind), sqlc.arg(created_at));

-- name: ListDomains :many
SELECT * FROM domains WHERE tenant_id = sqlc.arg(tenant_id) ORDER BY kind, host;

-- name: GetDomain :one
SELECT * FROM domains WHERE host = sqlc.arg(host);

-- name: DeleteCustomDomain :execrows
DELETE FROM domains WHERE tenant_id = sqlc.arg(tenant_id) AND host = sqlc.arg(host) AND kind = 'custom';

-- name: DeleteTenantDomains :exec
DELETE FROM domains WHERE tenant_id = sqlc.arg(tenant_id);

-- name: CountCustomDomains :one
SELECT COUNT(*) FROM domains WHERE tenant_id = sqlc.arg(tenant_id) AND kind = 'custom';

-- name: ResolveHost :one
-- Resolution is the one lookup not scoped by tenant: finding the tenant is
-- its purpose.
SELECT t.id, t.cors_origins FROM domains d JOIN tenants t ON t.id = d.tenant_id
WHERE d.host = sqlc.arg(host) AND t.status = 'active';
