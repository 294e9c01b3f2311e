-- name: InsertAnnouncement :exec
INSERT INTO announcements (tenant_id, id, title, body, audience, author, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(title), sqlc.arg(body), sqlc.arg(audience),
        sqlc.arg(author), sqlc.arg(created_at));

-- name: GetAnnouncement :one
SELECT tenant_id, id, title, body, audience, author, created_at
FROM announcements
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ListAnnouncementsFor :many
-- The announcements for everyone and for role, newest first, after the
-- keyset (before_created, before_id), each with employee_id's read time
-- (NULL: unread, or no employee).
SELECT a.id, a.title, a.body, a.audience, a.author, a.created_at, r.read_at
FROM announcements a
LEFT JOIN announcement_reads r
  ON r.tenant_id = a.tenant_id AND r.announcement_id = a.id AND r.employee_id = sqlc.arg(employee_id)
WHERE a.tenant_id = sqlc.arg(tenant_id)
  AND (a.audience = 'all' OR a.audience = sqlc.arg(role))
  AND (a.created_at < sqlc.arg(before_created) OR (a.created_at = sqlc.arg(before_created) AND a.id < sqlc.arg(before_id)))
ORDER BY a.created_at DESC, a.id DESC
LIMIT sqlc.arg(lim);

-- name: ListAnnouncements :many
-- Every announcement, newest first, after the keyset (admin list).
SELECT tenant_id, id, title, body, audience, author, created_at
FROM announcements
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (created_at < sqlc.arg(before_created) OR (created_at = sqlc.arg(before_created) AND id < sqlc.arg(before_id)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(lim);

-- name: MarkRead :one
-- The first read counts: a repeat keeps (and returns) its time.
INSERT INTO announcement_reads (tenant_id, announcement_id, employee_id, read_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(announcement_id), sqlc.arg(employee_id), sqlc.arg(read_at))
ON CONFLICT (tenant_id, announcement_id, employee_id) DO UPDATE SET read_at = announcement_reads.read_at
RETURNING read_at;

-- name: Receipts :many
-- Who of the announcement's audience read it and who has not: the active
-- employees of the audience, and anyone (inactive since) who read it.
SELECT e.id, e.name, e.role, e.active, r.read_at
FROM employees e
LEFT JOIN announcement_reads r
  ON r.tenant_id = e.tenant_id AND r.employee_id = e.id AND r.announcement_id = sqlc.arg(announcement_id)
WHERE e.tenant_id = sqlc.arg(tenant_id)
  AND (r.read_at IS NOT NULL OR (e.active AND (CAST(sqlc.arg(audience) AS TEXT) = 'all' OR e.role = sqlc.arg(audience))))
ORDER BY e.name, e.id;
