-- +goose Up
-- Stores hosted by this deployment. Signup, plans and settings arrive with
-- the tenant issue; the backbone needs the directory and the default store.
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Host names (subdomains, custom domains, localhost) a store answers on.
CREATE TABLE domains (
    host       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX domains_tenant ON domains (tenant_id);

-- +goose Down
DROP TABLE domains;
DROP TABLE tenants;
