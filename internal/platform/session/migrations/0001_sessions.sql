-- +goose Up
-- Web sessions (scs), per tenant. Without Redis this table is the store;
-- with Redis it holds a copy of every session (refreshed when its data
-- changes, and now and then) so sessions survive a Redis outage.
-- data is scs's encoded session; NULL marks a tombstone (deleted while Redis
-- was failing). dirty = 1 marks a row written while Redis was failing, whose
-- Redis copy is stale until it is moved back. rev is random per write, so
-- the move back only settles a row nobody rewrote meanwhile. expiry is unix
-- micros.
CREATE TABLE web_sessions (
    tenant_id TEXT NOT NULL,
    token     TEXT NOT NULL,
    data      BYTEA,
    expiry    BIGINT NOT NULL,
    rev       BIGINT NOT NULL,
    dirty     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, token)
);
CREATE INDEX web_sessions_expiry ON web_sessions (expiry);
CREATE INDEX web_sessions_dirty ON web_sessions (tenant_id, token) WHERE dirty = 1;

-- +goose Down
DROP TABLE web_sessions;
