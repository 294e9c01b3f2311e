-- +goose Up
-- Recovery finds the returns left receiving (received by staff, their
-- restock or refund unfinished) through this index.
CREATE INDEX returns_receiving ON returns (updated_at) WHERE status = 'receiving';

-- +goose Down
DROP INDEX returns_receiving;
