-- name: InsertDelivery :execrows
-- A second delivery of the same event to the same subscription is ignored.
INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_id, event_type, body, status, attempts,
                                next_attempt_at, retry_until, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(subscription_id), sqlc.arg(event_id), sqlc.arg(event_type),
        sqlc.arg(body), 'pending', 0, sqlc.arg(next_attempt_at), sqlc.arg(retry_until), sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (tenant_id, subscription_id, event_id) DO NOTHING;

-- name: DueDeliveries :many
-- Work across tenants by design: the worker runs under sqldb.AllTenants.
SELECT tenant_id, id, next_attempt_at
FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= sqlc.arg(now)
ORDER BY next_attempt_at
LIMIT sqlc.arg(lim);

-- name: ClaimDelivery :execrows
-- Claims a due delivery for one attempt by moving next_attempt_at to the
-- end of the claim: of several workers reading the same row, one wins.
UPDATE webhook_deliveries
SET next_attempt_at = sqlc.arg(lease_until)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending'
  AND next_attempt_at = sqlc.arg(seen);

-- name: GetDelivery :one
SELECT d.tenant_id, d.id, d.subscription_id, d.event_id, d.event_type, d.body, d.status, d.attempts,
       d.next_attempt_at, d.retry_until, d.last_status, d.created_at, d.updated_at
FROM webhook_deliveries d
WHERE d.tenant_id = sqlc.arg(tenant_id) AND d.id = sqlc.arg(id);

-- name: FinishAttempt :execrows
UPDATE webhook_deliveries
SET status = sqlc.arg(status), attempts = attempts + 1, next_attempt_at = sqlc.arg(next_attempt_at),
    last_status = sqlc.arg(last_status), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending';

-- name: ListDeliveries :many
-- Newest first. The filters are optional: '' matches all.
SELECT tenant_id, id, subscription_id, event_id, event_type, body, status, attempts,
       next_attempt_at, retry_until, last_status, created_at, updated_at
FROM webhook_deliveries
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(subscription_id) AS TEXT) = '' OR subscription_id = CAST(sqlc.arg(subscription_id) AS TEXT))
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR status = CAST(sqlc.arg(status) AS TEXT))
  AND (CAST(sqlc.arg(event_type) AS TEXT) = '' OR event_type = CAST(sqlc.arg(event_type) AS TEXT))
  AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: ReplayDelivery :execrows
-- Queues the delivery again: a new round of attempts from now.
UPDATE webhook_deliveries
SET status = 'pending', next_attempt_at = sqlc.arg(now), retry_until = sqlc.arg(retry_until), updated_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ReplayRange :execrows
-- Queues again the deliveries made in [from, to), of one subscription
-- ('' any) and in one status ('' any but pending).
UPDATE webhook_deliveries
SET status = 'pending', next_attempt_at = sqlc.arg(now), retry_until = sqlc.arg(retry_until), updated_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id)
  AND created_at >= sqlc.arg(from_at) AND created_at < sqlc.arg(to_at)
  AND (CAST(sqlc.arg(subscription_id) AS TEXT) = '' OR subscription_id = CAST(sqlc.arg(subscription_id) AS TEXT))
  AND status <> 'pending'
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR status = CAST(sqlc.arg(status) AS TEXT));

-- name: InsertAttempt :exec
INSERT INTO webhook_attempts (tenant_id, id, delivery_id, attempted_at, duration_micros, url, request_headers,
                              response_status, response_body, error)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(delivery_id), sqlc.arg(attempted_at), sqlc.arg(duration_micros),
        sqlc.arg(url), sqlc.arg(request_headers), sqlc.arg(response_status), sqlc.arg(response_body), sqlc.arg(error));

-- name: ListAttempts :many
SELECT tenant_id, id, delivery_id, attempted_at, duration_micros, url, request_headers, response_status, response_body, error
FROM webhook_attempts
WHERE tenant_id = sqlc.arg(tenant_id) AND delivery_id = sqlc.arg(delivery_id)
ORDER BY attempted_at, id;

-- name: SweepDeliveries :execrows
-- Deletes finished deliveries (and, by cascade, their log) last changed
-- before cutoff, of every tenant: the worker runs it under sqldb.AllTenants.
DELETE FROM webhook_deliveries
WHERE status <> 'pending' AND updated_at < sqlc.arg(cutoff);
