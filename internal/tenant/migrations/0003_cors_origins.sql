-- +goose Up
-- The origins a store lets browsers call its API from (CORS): a JSON array
-- of "scheme://host[:port]"; none by default.
ALTER TABLE tenants ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE tenants DROP COLUMN cors_origins;
