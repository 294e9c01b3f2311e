-- +goose Up
-- Events written in the same transaction as the change they announce; the
-- relay publishes them and stamps published_at, keeping rows for a replay window.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Event IDs each consumer has applied, written in the same transaction as the
-- effect, so a redelivered event has no second effect.
CREATE TABLE inbox (
    consumer   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    handled_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_handled ON inbox (handled_at);

-- +goose Down
DROP TABLE inbox;
DROP TABLE outbox;
