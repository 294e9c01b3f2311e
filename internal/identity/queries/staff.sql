-- name: InsertStaff :exec
INSERT INTO staff (tenant_id, id, email, name, role, status, password_hash, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(email), sqlc.arg(name), sqlc.arg(role),
    sqlc.arg(status), sqlc.arg(password_hash), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetStaff :one
SELECT * FROM staff
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetStaffByEmail :one
SELECT * FROM staff
WHERE tenant_id = sqlc.arg(tenant_id) AND email = sqlc.arg(email);

-- name: ListStaff :many
SELECT * FROM staff
WHERE tenant_id = sqlc.arg(tenant_id)
ORDER BY created_at, id;

-- name: CountActiveOwners :one
SELECT COUNT(*) FROM staff
WHERE tenant_id = sqlc.arg(tenant_id) AND role = 'owner' AND status = 'active';

-- name: OwnerExists :one
SELECT COUNT(*) FROM staff
WHERE tenant_id = sqlc.arg(tenant_id) AND role = 'owner';

-- name: SetStaffRole :execrows
UPDATE staff SET role = sqlc.arg(role), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: SetStaffStatus :execrows
UPDATE staff SET status = sqlc.arg(status), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: RehashStaffPassword :execrows
UPDATE staff SET password_hash = sqlc.arg(password_hash)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND password_hash = sqlc.arg(old_hash);

-- name: LockStaffGuard :exec
-- Takes the tenant's staff_guard row lock until the transaction ends (see
-- the migration).
INSERT INTO staff_guard (tenant_id, version) VALUES (sqlc.arg(tenant_id), 1)
ON CONFLICT (tenant_id) DO UPDATE SET version = staff_guard.version + 1;

-- name: InsertInvitation :exec
INSERT INTO invitations (tenant_id, id, token_hash, email, name, role, invited_by, expires_at, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(token_hash), sqlc.arg(email), sqlc.arg(name),
    sqlc.arg(role), sqlc.arg(invited_by), sqlc.arg(expires_at), sqlc.arg(created_at));

-- name: UseInvitation :one
-- Marks an open invitation accepted and returns it: one statement, so an
-- invitation is accepted at most once.
UPDATE invitations SET accepted_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash)
    AND accepted_at IS NULL AND expires_at > sqlc.arg(now)
RETURNING *;

-- name: GetInvitationByToken :one
SELECT * FROM invitations
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash);

-- name: LockStaffQuota :exec
-- Serialises the invitations and acceptances of one store under a plan
-- limit: the upsert locks the store's row until the transaction ends (see
-- migration 0002).
INSERT INTO staff_quota_locks (tenant_id, touched_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(touched_at))
ON CONFLICT (tenant_id) DO UPDATE SET touched_at = excluded.touched_at;

-- name: CountActiveStaff :one
-- The staff accounts a plan limit counts: active ones, owners included.
SELECT COUNT(*) FROM staff
WHERE tenant_id = sqlc.arg(tenant_id) AND status = 'active';

-- name: CountOpenInvitations :one
-- Invitations that may still become staff accounts: neither accepted nor
-- expired.
SELECT COUNT(*) FROM invitations
WHERE tenant_id = sqlc.arg(tenant_id) AND accepted_at IS NULL AND expires_at > sqlc.arg(now);
