-- name: InsertEmail :execrows
-- A second email of the same kind for the same event is ignored.
INSERT INTO emails (tenant_id, id, event_id, event_type, kind, data, secret, message_id, status,
                    next_attempt_at, retry_until, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(event_id), sqlc.arg(event_type), sqlc.arg(kind), sqlc.arg(data),
        sqlc.arg(secret), sqlc.arg(message_id), 'pending', sqlc.arg(next_attempt_at), sqlc.arg(retry_until),
        sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (tenant_id, event_id, kind) DO NOTHING;

-- name: DueEmails :many
-- Work across tenants by design: the worker runs under sqldb.AllTenants.
SELECT tenant_id, id, next_attempt_at
FROM emails
WHERE status = 'pending' AND next_attempt_at <= sqlc.arg(now)
ORDER BY next_attempt_at
LIMIT sqlc.arg(lim);

-- name: ClaimEmail :execrows
-- Claims a due email for one attempt by moving next_attempt_at to the end
-- of the claim: of several workers reading the same row, one wins.
UPDATE emails
SET next_attempt_at = sqlc.arg(lease_until)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending'
  AND next_attempt_at = sqlc.arg(seen);

-- name: GetEmail :one
SELECT tenant_id, id, event_id, event_type, kind, data, secret, recipient, from_name, locale, subject, text_body, html_body,
       message_id, status, attempts, next_attempt_at, retry_until, last_error, created_at, updated_at
FROM emails
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: SetEmailRendered :execrows
UPDATE emails
SET recipient = sqlc.arg(recipient), from_name = sqlc.arg(from_name), locale = sqlc.arg(locale), subject = sqlc.arg(subject),
    text_body = sqlc.arg(text_body), html_body = sqlc.arg(html_body), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending';

-- name: FinishEmailAttempt :execrows
UPDATE emails
SET status = sqlc.arg(status), attempts = attempts + 1, next_attempt_at = sqlc.arg(next_attempt_at),
    last_error = sqlc.arg(last_error), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending';

-- name: ScrubEmail :exec
-- Replaces a sent email's data and parts by copies without its secret, and
-- forgets the secret: the link is the recipient's alone from then on.
UPDATE emails
SET data = sqlc.arg(data), text_body = sqlc.arg(text_body), html_body = sqlc.arg(html_body), secret = ''
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ListEmails :many
-- Newest first. The status filter is optional: '' matches all.
SELECT tenant_id, id, event_id, event_type, kind, recipient, subject, message_id, status, attempts,
       next_attempt_at, last_error, created_at, updated_at
FROM emails
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR status = CAST(sqlc.arg(status) AS TEXT))
  AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: ResendEmail :execrows
-- Queues a failed email again: a new round of attempts from now, the same
-- message.
UPDATE emails
SET status = 'pending', next_attempt_at = sqlc.arg(now), retry_until = sqlc.arg(retry_until), updated_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'failed';

-- name: SweepEmails :execrows
-- Deletes finished emails (sent, kept, failed) last changed before cutoff,
-- of every tenant: the worker runs it under sqldb.AllTenants.
DELETE FROM emails
WHERE status <> 'pending' AND updated_at < sqlc.arg(cutoff);
