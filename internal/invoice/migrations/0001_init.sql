-- +goose Up
-- Every table is keyed by tenant first. Timestamps are unix microseconds
-- (BIGINT), so the same schema runs unchanged on SQLite and PostgreSQL.

-- The counters of the numbering series: one row per store, series (INV,
-- CN) and calendar year, bumped by the transaction that issues the
-- document (INSERT … ON CONFLICT DO UPDATE … RETURNING), never a
-- sequence: a transaction that rolls back takes its number back with it,
-- so numbers have no gap, and the row's lock (PostgreSQL) or the single
-- writer (SQLite) gives no duplicate.
CREATE TABLE counters (
    tenant_id TEXT   NOT NULL,
    series    TEXT   NOT NULL,
    year      BIGINT NOT NULL,
    -- The last number issued in the series and year.
    last      BIGINT NOT NULL CHECK (last > 0),
    PRIMARY KEY (tenant_id, series, year)
);

-- The issued documents: invoices and credit notes. There is no UPDATE of
-- this table anywhere in the service: a document is corrected only by a
-- credit note.
CREATE TABLE documents (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    kind        TEXT   NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    series      TEXT   NOT NULL,
    year        BIGINT NOT NULL,
    seq         BIGINT NOT NULL CHECK (seq > 0),
    number      TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    -- The invoice a credit note corrects; '' for an invoice.
    invoice_id  TEXT   NOT NULL DEFAULT '',
    -- What issued it, once: order:<order id> for the invoice,
    -- refund:<event id>, return:<return id> or cancel:<order id> for a
    -- credit note.
    source      TEXT   NOT NULL,
    customer_id TEXT   NOT NULL DEFAULT '',
    -- Trimmed and lowercased, for the staff's search.
    email       TEXT   NOT NULL,
    currency    TEXT   NOT NULL,
    total       BIGINT NOT NULL,
    issued_at   BIGINT NOT NULL,
    -- The document as issued (invoiceapi.Invoice, JSON), and its PDF and
    -- UBL XML, rendered once at issue: downloads serve these bytes.
    body        TEXT   NOT NULL,
    pdf         BYTEA  NOT NULL,
    xml         TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, series, year, seq),
    UNIQUE (tenant_id, source)
);

CREATE INDEX documents_order ON documents (tenant_id, order_id);
CREATE INDEX documents_email ON documents (tenant_id, email);
CREATE INDEX documents_issued ON documents (tenant_id, issued_at, id);

-- The buyers of orders, from the order events, so that a guest (by the
-- SHA-256 of their order token) or a customer (by account) downloads their
-- documents without a call to the order service. A customer who verifies
-- the email of guest orders is given them (identity's
-- customer.email_verified.v1), as the order service gives them; the email
-- is kept as its SHA-256.
CREATE TABLE buyers (
    tenant_id   TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL DEFAULT '',
    token_hash  TEXT NOT NULL DEFAULT '',
    email_hash  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, order_id)
);

CREATE INDEX buyers_email ON buyers (tenant_id, email_hash);

-- +goose Down
DROP TABLE buyers;
DROP TABLE documents;
DROP TABLE counters;
