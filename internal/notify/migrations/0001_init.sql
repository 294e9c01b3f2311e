-- +goose Up
-- Merchant webhooks. Every table is keyed by tenant first; timestamps are
-- unix microseconds (BIGINT, UTC), so the schema runs unchanged on SQLite
-- and PostgreSQL.

CREATE TABLE webhook_subscriptions (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    -- "whsec_" + base64 of the signing key: the HMAC key is the decoded
    -- part. Kept in clear because every delivery is signed with it; the API
    -- shows it once, when the subscription is created.
    secret        TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL,
    -- Why the subscription was disabled ('' while enabled): "manual" or
    -- "failing" (every attempt failed for the disable-after period).
    disabled_reason TEXT  NOT NULL DEFAULT '',
    -- When the first of the failed attempts since the last success was made;
    -- NULL while the endpoint answers.
    failing_since BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The event types each subscription receives.
CREATE TABLE webhook_subscription_events (
    tenant_id       TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, event_type),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX webhook_subscription_events_type ON webhook_subscription_events (tenant_id, event_type);

-- One delivery per subscription per event, whatever the redeliveries of the
-- event: the UNIQUE constraint backs the inbox. body is the exact bytes
-- signed and sent, so retries and replays send the same message.
CREATE TABLE webhook_deliveries (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    subscription_id TEXT   NOT NULL,
    event_id        TEXT   NOT NULL,
    event_type      TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- When the next attempt is due (pending), or when it was last claimed.
    next_attempt_at BIGINT NOT NULL,
    -- Retries stop once an attempt would start after this.
    retry_until     BIGINT NOT NULL,
    last_status     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, subscription_id, event_id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (tenant_id, created_at);

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    delivery_id     TEXT   NOT NULL,
    attempted_at    BIGINT NOT NULL,
    duration_micros BIGINT NOT NULL,
    url             TEXT   NOT NULL,
    -- The request's headers as JSON (the body is the delivery's).
    request_headers TEXT   NOT NULL,
    -- 0 when no answer came (error says why).
    response_status BIGINT NOT NULL,
    response_body   TEXT   NOT NULL,
    error           TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id, attempted_at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscription_events;
DROP TABLE webhook_subscriptions;
