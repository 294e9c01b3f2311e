-- name: OpenAttendance :one
-- Marks an active employee as in. No row back means they already are in
-- (the primary key decides, so of concurrent check-ins exactly one gets a
-- row), or are inactive or unknown. Checking active here, not in a read
-- before, means a deactivation cannot slip between the two.
INSERT INTO open_attendance (tenant_id, employee_id, attendance_id, checked_in_at)
SELECT e.tenant_id, e.id, CAST(sqlc.arg(attendance_id) AS TEXT), CAST(sqlc.arg(checked_in_at) AS BIGINT)
FROM employees e
WHERE e.tenant_id = sqlc.arg(tenant_id) AND e.id = sqlc.arg(employee_id) AND e.active
ON CONFLICT (tenant_id, employee_id) DO NOTHING
RETURNING attendance_id;

-- name: InsertAttendance :exec
INSERT INTO attendance (tenant_id, id, employee_id, checked_in_at, check_in_location, check_in_note)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(employee_id), sqlc.arg(checked_in_at),
        sqlc.arg(check_in_location), sqlc.arg(check_in_note));

-- name: CloseOpenAttendance :one
-- Marks the employee as out; no row back means they were not in.
DELETE FROM open_attendance
WHERE tenant_id = sqlc.arg(tenant_id) AND employee_id = sqlc.arg(employee_id)
RETURNING attendance_id, checked_in_at;

-- name: CheckOutAttendance :one
UPDATE attendance
SET checked_out_at = CAST(sqlc.arg(checked_out_at) AS BIGINT), check_out_location = sqlc.arg(check_out_location),
    check_out_note = sqlc.arg(check_out_note)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND checked_out_at IS NULL
RETURNING tenant_id, id, employee_id, checked_in_at, checked_out_at, check_in_location, check_in_note,
          check_out_location, check_out_note;

-- name: GetOpenAttendance :one
SELECT a.tenant_id, a.id, a.employee_id, a.checked_in_at, a.checked_out_at, a.check_in_location, a.check_in_note,
       a.check_out_location, a.check_out_note
FROM open_attendance o
JOIN attendance a ON a.tenant_id = o.tenant_id AND a.id = o.attendance_id
WHERE o.tenant_id = sqlc.arg(tenant_id) AND o.employee_id = sqlc.arg(employee_id);

-- name: AttendanceInWindow :many
-- Check-ins overlapping [window_from, window_to), open ones included;
-- employee_id '' means every employee.
SELECT tenant_id, id, employee_id, checked_in_at, checked_out_at, check_in_location, check_in_note,
       check_out_location, check_out_note
FROM attendance
WHERE tenant_id = sqlc.arg(tenant_id)
  AND checked_in_at < sqlc.arg(window_to)
  AND (checked_out_at IS NULL OR checked_out_at > CAST(sqlc.arg(window_from) AS BIGINT))
  AND (CAST(sqlc.arg(employee_id) AS TEXT) = '' OR employee_id = sqlc.arg(employee_id))
ORDER BY employee_id, checked_in_at;
