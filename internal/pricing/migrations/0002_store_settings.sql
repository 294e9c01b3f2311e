-- +goose Up
-- The store's currency and tax mode are the tenant service's settings
-- (PATCH /api/v1/admin/store); pricing keeps a copy fed by tenant.created.v1
-- and tenant.updated.v1, versioned by the store's updated_at so events
-- arriving out of order never undo a newer change. A store without a row
-- has the defaults every new store starts with (tenantapi's).
CREATE TABLE store_settings (
    tenant_id     TEXT    NOT NULL PRIMARY KEY,
    currency      TEXT    NOT NULL,
    tax_inclusive BOOLEAN NOT NULL,
    version       BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- settings keeps what is pricing's own: the default shipping method and
-- destination country. Its copies of currency and tax mode go: a second
-- writable owner of them is how the two came to disagree.
ALTER TABLE settings DROP COLUMN tax_inclusive;
ALTER TABLE settings DROP COLUMN currency;

-- +goose Down
ALTER TABLE settings ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR';
ALTER TABLE settings ADD COLUMN tax_inclusive BOOLEAN NOT NULL DEFAULT FALSE;
DROP TABLE store_settings;
