-- +goose Up
-- One row per store that has invited or added staff under a plan limit.
-- Inviting and accepting an invitation touch the store's row first (an
-- upsert: a row lock on PostgreSQL until the transaction ends) before
-- counting the store's staff and open invitations, so two concurrent
-- invitations cannot both see room for one more. SQLite serialises writers
-- anyway. It is not staff_guard: that one serialises owner changes, and
-- deactivations, which only free seats, need not wait for invitations.
CREATE TABLE staff_quota_locks (
    tenant_id  TEXT   NOT NULL PRIMARY KEY,
    touched_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE staff_quota_locks;
