-- +goose Up
-- The Idempotency-Key a return was requested with ('' for none): the same
-- key again on the same order is the same request, answered with the order
-- as it is, never a second return. Guests' requests carry no credentials
-- the platform's idempotency layer could tell apart, so the order service
-- keeps the key itself, next to the return.
ALTER TABLE returns ADD COLUMN request_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE returns DROP COLUMN request_key;
