-- +goose Up
-- The secret guest order tokens are derived from (see token.go): one per
-- deployment, made at the first start.
CREATE TABLE token_secret (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE token_secret;
