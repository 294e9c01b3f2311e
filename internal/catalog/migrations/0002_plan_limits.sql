-- +goose Up
-- One row per store that has had a product created under a plan limit.
-- Creating a product touches its store's row first (an upsert: a row lock
-- on PostgreSQL) before counting the store's products, so two concurrent
-- creations cannot both see room for one more. SQLite serialises writers
-- anyway.
CREATE TABLE product_quota_locks (
    tenant_id  TEXT   NOT NULL PRIMARY KEY,
    touched_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE product_quota_locks;
