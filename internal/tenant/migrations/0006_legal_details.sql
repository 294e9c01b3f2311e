-- +goose Up
-- What a store's invoices and reports need: its legal name, tax ID and
-- address (a JSON object: line1, line2, city, region, postal_code,
-- country), the IANA time zone its days are counted in, and the order
-- event that issues an invoice ("confirmed" or "shipped"). Existing stores
-- get the defaults of new ones.
ALTER TABLE tenants ADD COLUMN legal_name TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN tax_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN address TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE tenants ADD COLUMN invoice_on TEXT NOT NULL DEFAULT 'confirmed';

-- +goose Down
ALTER TABLE tenants DROP COLUMN invoice_on;
ALTER TABLE tenants DROP COLUMN time_zone;
ALTER TABLE tenants DROP COLUMN address;
ALTER TABLE tenants DROP COLUMN tax_id;
ALTER TABLE tenants DROP COLUMN legal_name;
