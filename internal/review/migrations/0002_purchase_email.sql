-- +goose Up
-- The SHA-256 of the order's email (trimmed, lowercased), never the email
-- itself: a customer who registers with it is given the store's guest
-- orders of that email, as the order service gives them.
ALTER TABLE purchases ADD COLUMN email_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX purchases_email ON purchases (tenant_id, email_hash);

-- +goose Down
DROP INDEX purchases_email;
ALTER TABLE purchases DROP COLUMN email_hash;
