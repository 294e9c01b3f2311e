-- name: InsertEmployee :exec
INSERT INTO employees (tenant_id, id, account_id, name, email, role, active, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.narg(account_id), sqlc.arg(name), sqlc.arg(email),
        sqlc.arg(role), sqlc.arg(active), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetEmployee :one
SELECT tenant_id, id, account_id, name, email, role, active, shift_seq, created_at, updated_at
FROM employees
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: EmployeeByAccount :one
SELECT tenant_id, id, account_id, name, email, role, active, shift_seq, created_at, updated_at
FROM employees
WHERE tenant_id = sqlc.arg(tenant_id) AND account_id = sqlc.arg(account_id);

-- name: ListEmployees :many
-- Keyset page in ID (creation) order; any_status lists active and inactive.
SELECT tenant_id, id, account_id, name, email, role, active, shift_seq, created_at, updated_at
FROM employees
WHERE tenant_id = sqlc.arg(tenant_id)
  AND id > sqlc.arg(after_id)
  AND (CAST(sqlc.arg(any_status) AS BOOLEAN) OR active = sqlc.arg(active))
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: ReportEmployees :many
-- The employees of an attendance report: one, or all.
SELECT tenant_id, id, account_id, name, email, role, active, shift_seq, created_at, updated_at
FROM employees
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(employee_id) AS TEXT) = '' OR id = sqlc.arg(employee_id))
ORDER BY name, id;

-- name: UpdateEmployee :execrows
UPDATE employees
SET account_id = sqlc.narg(account_id), name = sqlc.arg(name), email = sqlc.arg(email),
    role = sqlc.arg(role), active = sqlc.arg(active), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: LockEmployee :one
-- Takes the employee's row lock for a shift write (see shift_seq).
UPDATE employees
SET shift_seq = shift_seq + 1
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id)
RETURNING active;
