-- +goose Up
-- Accounts, sessions and signing keys. Every table but signing_keys is keyed
-- by tenant first, and every query of those tables is scoped by tenant_id.
-- Timestamps are unix microseconds (BIGINT); booleans are BIGINT 0/1; the
-- same schema runs unchanged on SQLite and PostgreSQL.

-- Signing keys are deployment-wide, not per tenant: an access token carries
-- its tenant in the tid claim. active is 1 for the one key that signs and
-- NULL for the others; UNIQUE (active) lets at most one row be active on
-- both engines (NULLs are distinct), so two replicas creating the first key
-- or rotating at once cannot leave two active keys.
CREATE TABLE signing_keys (
    kid         TEXT   NOT NULL PRIMARY KEY,
    -- The Ed25519 seed, base64. Production should wrap it with a KMS key.
    private_key TEXT   NOT NULL,
    public_key  TEXT   NOT NULL,
    active      BIGINT UNIQUE CHECK (active = 1),
    created_at  BIGINT NOT NULL,
    -- When a newer key took over; the key stays published until every token
    -- it signed has expired.
    retired_at  BIGINT
);

CREATE TABLE customers (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    -- Lowercased.
    email         TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    phone         TEXT   NOT NULL DEFAULT '',
    -- argon2id PHC string.
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE addresses (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    line1       TEXT   NOT NULL,
    line2       TEXT   NOT NULL DEFAULT '',
    city        TEXT   NOT NULL,
    region      TEXT   NOT NULL DEFAULT '',
    postal_code TEXT   NOT NULL DEFAULT '',
    country     TEXT   NOT NULL,
    phone       TEXT   NOT NULL DEFAULT '',
    is_default  BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX addresses_customer ON addresses (tenant_id, customer_id);

CREATE TABLE staff (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('owner', 'manager', 'staff', 'support')),
    status        TEXT   NOT NULL CHECK (status IN ('active', 'deactivated')),
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

-- staff_guard has one row per tenant that every transaction changing who
-- is an owner updates first: on PostgreSQL the row lock serialises them,
-- so two owners demoting each other at once cannot leave the store without
-- an owner, and two signups cannot both create the first owner.
CREATE TABLE staff_guard (
    tenant_id TEXT   NOT NULL PRIMARY KEY,
    version   BIGINT NOT NULL
);

CREATE TABLE invitations (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    -- SHA-256 of the raw token, base64url.
    token_hash  TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    name        TEXT   NOT NULL DEFAULT '',
    role        TEXT   NOT NULL CHECK (role IN ('owner', 'manager', 'staff', 'support')),
    invited_by  TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);

-- refresh_tokens holds every refresh token of every session: the tokens of
-- one login form a family (each refresh adds a child of the last). A token
-- is used once; presenting a used one revokes the whole family.
CREATE TABLE refresh_tokens (
    tenant_id    TEXT   NOT NULL,
    -- SHA-256 of the raw token, base64url.
    token_hash   TEXT   NOT NULL,
    family_id    TEXT   NOT NULL,
    parent_hash  TEXT   NOT NULL DEFAULT '',
    account_kind TEXT   NOT NULL CHECK (account_kind IN ('customer', 'staff')),
    account_id   TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    revoked_at   BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (tenant_id, account_kind, account_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

CREATE TABLE password_resets (
    tenant_id   TEXT   NOT NULL,
    token_hash  TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE refresh_tokens;
DROP TABLE invitations;
DROP TABLE staff_guard;
DROP TABLE staff;
DROP TABLE addresses;
DROP TABLE customers;
DROP TABLE signing_keys;
