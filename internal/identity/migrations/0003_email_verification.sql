-- +goose Up
-- Email verification: a customer proves they own their address by opening
-- the link of the mail sent at registration (or resent from the account).
-- email_verified_at is NULL until then; the order service gives an account
-- the guest orders of its address only once it is set.
ALTER TABLE customers ADD COLUMN email_verified_at BIGINT;

-- One row per verification token sent. Like password_resets, only the
-- SHA-256 of the raw token (base64url) is kept: the raw one is in the mail.
-- email is the address the token proves, so a token sent before a change
-- of address could not verify the new one.
CREATE TABLE email_verifications (
    tenant_id   TEXT   NOT NULL,
    token_hash  TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX email_verifications_customer ON email_verifications (tenant_id, customer_id);
CREATE INDEX email_verifications_expiry ON email_verifications (expires_at);

-- +goose Down
DROP TABLE email_verifications;
ALTER TABLE customers DROP COLUMN email_verified_at;
