-- name: InsertSubscription :exec
INSERT INTO webhook_subscriptions (tenant_id, id, url, description, secret, enabled, disabled_reason, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(url), sqlc.arg(description), sqlc.arg(secret), sqlc.arg(enabled),
        sqlc.arg(disabled_reason), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: InsertSubscriptionEvent :exec
INSERT INTO webhook_subscription_events (tenant_id, subscription_id, event_type)
VALUES (sqlc.arg(tenant_id), sqlc.arg(subscription_id), sqlc.arg(event_type));

-- name: DeleteSubscriptionEvents :exec
DELETE FROM webhook_subscription_events
WHERE tenant_id = sqlc.arg(tenant_id) AND subscription_id = sqlc.arg(subscription_id);

-- name: GetSubscription :one
SELECT tenant_id, id, url, description, secret, enabled, disabled_reason, failing_since, created_at, updated_at
FROM webhook_subscriptions
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: SubscriptionEvents :many
SELECT event_type FROM webhook_subscription_events
WHERE tenant_id = sqlc.arg(tenant_id) AND subscription_id = sqlc.arg(subscription_id)
ORDER BY event_type;

-- name: ListSubscriptions :many
SELECT tenant_id, id, url, description, secret, enabled, disabled_reason, failing_since, created_at, updated_at
FROM webhook_subscriptions
WHERE tenant_id = sqlc.arg(tenant_id) AND id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: UpdateSubscription :execrows
UPDATE webhook_subscriptions
SET url = sqlc.arg(url), description = sqlc.arg(description), enabled = sqlc.arg(enabled),
    disabled_reason = sqlc.arg(disabled_reason), failing_since = sqlc.narg(failing_since), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteSubscription :execrows
DELETE FROM webhook_subscriptions
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: SubscribersOf :many
-- The enabled subscriptions of the tenant that receive event_type.
SELECT s.id
FROM webhook_subscriptions s
JOIN webhook_subscription_events e ON e.tenant_id = s.tenant_id AND e.subscription_id = s.id
WHERE s.tenant_id = sqlc.arg(tenant_id) AND e.event_type = sqlc.arg(event_type) AND s.enabled
ORDER BY s.id;

-- name: MarkSubscriptionFailing :exec
-- Sets failing_since unless it is set already.
UPDATE webhook_subscriptions
SET failing_since = sqlc.arg(failing_since)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND failing_since IS NULL;

-- name: MarkSubscriptionHealthy :exec
UPDATE webhook_subscriptions
SET failing_since = NULL
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND failing_since IS NOT NULL;

-- name: DisableFailingSubscription :execrows
-- Disables the subscription if it is enabled and has been failing since
-- before cutoff.
UPDATE webhook_subscriptions
SET enabled = FALSE, disabled_reason = 'failing', updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND enabled
  AND failing_since IS NOT NULL AND failing_since <= sqlc.arg(cutoff);
