-- +goose Up
-- A return whose refund the payment provider declined for good is parked
-- as 'refund_declined' (stock back, nothing refunded) for staff, instead of
-- staying 'receiving' for recovery to retry for ever. SQLite cannot change
-- a CHECK constraint in place, so the table is rebuilt, in plain SQL that
-- runs on both engines: new table, copy, drop, rename, indexes again.
CREATE TABLE returns_v2 (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('requested', 'receiving', 'received', 'rejected', 'refund_declined')),
    -- JSON: [orderapi.ReturnLine]; restock flags are set when received.
    lines         TEXT   NOT NULL,
    refund_amount BIGINT NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    reason        TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
INSERT INTO returns_v2 (tenant_id, id, order_id, status, lines, refund_amount, reason, created_at, updated_at)
SELECT tenant_id, id, order_id, status, lines, refund_amount, reason, created_at, updated_at FROM returns;
DROP TABLE returns;
ALTER TABLE returns_v2 RENAME TO returns;
CREATE INDEX returns_order ON returns (tenant_id, order_id, created_at);
CREATE INDEX returns_receiving ON returns (updated_at) WHERE status = 'receiving';

-- +goose Down
CREATE TABLE returns_v1 (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('requested', 'receiving', 'received', 'rejected')),
    lines         TEXT   NOT NULL,
    refund_amount BIGINT NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    reason        TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
-- A declined refund goes back to receiving: recovery retries it, as before.
INSERT INTO returns_v1 (tenant_id, id, order_id, status, lines, refund_amount, reason, created_at, updated_at)
SELECT tenant_id, id, order_id, CASE status WHEN 'refund_declined' THEN 'receiving' ELSE status END,
       lines, refund_amount, reason, created_at, updated_at FROM returns;
DROP TABLE returns;
ALTER TABLE returns_v1 RENAME TO returns;
CREATE INDEX returns_order ON returns (tenant_id, order_id, created_at);
CREATE INDEX returns_receiving ON returns (updated_at) WHERE status = 'receiving';
