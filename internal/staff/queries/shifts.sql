-- name: InsertShift :exec
INSERT INTO shifts (tenant_id, id, employee_id, starts_at, ends_at, note, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(employee_id), sqlc.arg(starts_at), sqlc.arg(ends_at),
        sqlc.arg(note), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetShift :one
SELECT tenant_id, id, employee_id, starts_at, ends_at, note, created_at, updated_at
FROM shifts
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: UpdateShift :execrows
UPDATE shifts
SET starts_at = sqlc.arg(starts_at), ends_at = sqlc.arg(ends_at), note = sqlc.arg(note), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteShift :execrows
DELETE FROM shifts
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: OverlappingShift :one
-- A shift of the employee other than exclude_id that overlaps
-- [starts_at, ends_at): intervals are half-open, so back-to-back is fine.
SELECT id
FROM shifts
WHERE tenant_id = sqlc.arg(tenant_id) AND employee_id = sqlc.arg(employee_id)
  AND id <> sqlc.arg(exclude_id)
  AND starts_at < sqlc.arg(ends_at) AND ends_at > sqlc.arg(starts_at)
ORDER BY starts_at
LIMIT 1;

-- name: ListShifts :many
-- Shifts overlapping [period_from, period_to), by start then ID, after the
-- keyset (after_start, after_id); employee_id '' means every employee.
SELECT tenant_id, id, employee_id, starts_at, ends_at, note, created_at, updated_at
FROM shifts
WHERE tenant_id = sqlc.arg(tenant_id)
  AND starts_at < sqlc.arg(period_to) AND ends_at > sqlc.arg(period_from)
  AND (CAST(sqlc.arg(employee_id) AS TEXT) = '' OR employee_id = sqlc.arg(employee_id))
  AND (starts_at > sqlc.arg(after_start) OR (starts_at = sqlc.arg(after_start) AND id > sqlc.arg(after_id)))
ORDER BY starts_at, id
LIMIT sqlc.arg(lim);

-- name: ShiftsStartingIn :many
-- The shifts an attendance report counts: those starting in the period.
SELECT tenant_id, id, employee_id, starts_at, ends_at, note, created_at, updated_at
FROM shifts
WHERE tenant_id = sqlc.arg(tenant_id)
  AND starts_at >= sqlc.arg(period_from) AND starts_at < sqlc.arg(period_to)
  AND (CAST(sqlc.arg(employee_id) AS TEXT) = '' OR employee_id = sqlc.arg(employee_id))
ORDER BY employee_id, starts_at;
