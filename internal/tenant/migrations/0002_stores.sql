-- +goose Up
-- Signup, settings, plans, custom domains and API keys.
--
-- tenants and domains are rebuilt rather than altered: a store now has a
-- 'provisioning' status (between its signup and its owner account) and
-- SQLite cannot change a CHECK constraint in place. The rebuild is plain SQL
-- that runs on both engines inside goose's transaction: new tables, copy,
-- drop the old ones (child first), rename. Renaming keeps the foreign key
-- of domains pointing at tenants on both engines.
CREATE TABLE tenants_v2 (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- provisioning: signed up, owner account not yet created (resolves to
    -- nothing); failed: the signup was rolled back (the ID is never reused,
    -- since the identity service may hold an account under it).
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('provisioning', 'active', 'suspended', 'failed')),
    -- subdomain is NULL for stores made by configuration (the default store)
    -- and for failed signups, which give their subdomain back.
    subdomain     TEXT UNIQUE,
    plan          TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
    logo          TEXT NOT NULL DEFAULT '',
    currency      TEXT NOT NULL DEFAULT 'EUR',
    tax_inclusive BOOLEAN NOT NULL DEFAULT TRUE,
    locale        TEXT NOT NULL DEFAULT 'en',
    -- signup_key and signup_hash make a retried signup (same Idempotency-Key)
    -- find its first attempt instead of creating a second store.
    signup_key    TEXT UNIQUE,
    signup_hash   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
INSERT INTO tenants_v2 (id, name, status, created_at, updated_at)
SELECT id, name, status, created_at, updated_at FROM tenants;

-- kind: system (hosts from configuration), subdomain (<subdomain>.<base
-- domain>, given at signup) or custom (added by the store).
CREATE TABLE domains_v2 (
    host       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants_v2 (id),
    kind       TEXT NOT NULL DEFAULT 'custom' CHECK (kind IN ('system', 'subdomain', 'custom')),
    created_at BIGINT NOT NULL
);
INSERT INTO domains_v2 (host, tenant_id, kind, created_at)
SELECT host, tenant_id, 'system', created_at FROM domains;

DROP TABLE domains;
DROP TABLE tenants;
ALTER TABLE tenants_v2 RENAME TO tenants;
ALTER TABLE domains_v2 RENAME TO domains;
CREATE INDEX domains_tenant ON domains (tenant_id);

-- API keys: only the SHA-256 of a key is kept; prefix is its first
-- characters, shown in lists so a person can tell keys apart.
CREATE TABLE api_keys (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('publishable', 'secret')),
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);

-- +goose Down
DROP TABLE api_keys;
CREATE TABLE tenants_v1 (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO tenants_v1 (id, name, status, created_at, updated_at)
SELECT id, name, status, created_at, updated_at FROM tenants WHERE status IN ('active', 'suspended');
CREATE TABLE domains_v1 (
    host       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants_v1 (id),
    created_at BIGINT NOT NULL
);
INSERT INTO domains_v1 (host, tenant_id, created_at)
SELECT d.host, d.tenant_id, d.created_at FROM domains d JOIN tenants_v1 t ON t.id = d.tenant_id;
DROP TABLE domains;
DROP TABLE tenants;
ALTER TABLE tenants_v1 RENAME TO tenants;
ALTER TABLE domains_v1 RENAME TO domains;
CREATE INDEX domains_tenant ON domains (tenant_id);
