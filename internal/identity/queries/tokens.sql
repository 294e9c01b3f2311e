-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, parent_hash, account_kind, account_id,
    expires_at, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(token_hash), sqlc.arg(family_id), sqlc.arg(parent_hash),
    sqlc.arg(account_kind), sqlc.arg(account_id), sqlc.arg(expires_at), sqlc.arg(created_at));

-- name: GetRefreshToken :one
SELECT * FROM refresh_tokens
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash);

-- name: UseRefreshToken :execrows
-- Marks a token used if nobody did yet: of two refreshes racing with one
-- token, exactly one rotates it and the other counts as reuse.
UPDATE refresh_tokens SET used_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash)
    AND used_at IS NULL AND revoked_at IS NULL;

-- name: RevokeFamily :execrows
UPDATE refresh_tokens SET revoked_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND family_id = sqlc.arg(family_id) AND revoked_at IS NULL;

-- name: RevokeAccountTokens :execrows
UPDATE refresh_tokens SET revoked_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND account_kind = sqlc.arg(account_kind)
    AND account_id = sqlc.arg(account_id) AND revoked_at IS NULL;

-- name: PruneRefreshTokens :execrows
-- Deletes tokens past their expiry: neither usable nor worth detecting
-- reuse of (reuse of an expired token is refused as expired anyway).
DELETE FROM refresh_tokens WHERE expires_at < sqlc.arg(before);
