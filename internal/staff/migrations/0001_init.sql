-- +goose Up
-- Every table is keyed by tenant first, and every foreign key includes
-- tenant_id, so no row can point into another tenant. Timestamps are unix
-- microseconds (BIGINT, UTC), so the schema runs unchanged on SQLite and
-- PostgreSQL.

CREATE TABLE employees (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    -- The identity service's staff account; NULL until linked. NULLs are
    -- distinct in a UNIQUE constraint on both engines, so any number of
    -- employees may be unlinked.
    account_id TEXT,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'staff', 'support')),
    active     BOOLEAN NOT NULL,
    -- Bumped by every shift write of the employee: the UPDATE locks the row,
    -- so concurrent shift writes of one employee queue and the overlap check
    -- sees the others' shifts (PostgreSQL; SQLite serialises writers anyway).
    shift_seq  BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id)
);

CREATE TABLE shifts (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    employee_id TEXT   NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    note        TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (ends_at > starts_at),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);
CREATE INDEX shifts_employee ON shifts (tenant_id, employee_id, starts_at);
CREATE INDEX shifts_period ON shifts (tenant_id, starts_at, id);

-- One row per check-in; checked_out_at is NULL while the employee is in.
CREATE TABLE attendance (
    tenant_id          TEXT   NOT NULL,
    id                 TEXT   NOT NULL,
    employee_id        TEXT   NOT NULL,
    checked_in_at      BIGINT NOT NULL,
    checked_out_at     BIGINT,
    check_in_location  TEXT   NOT NULL DEFAULT '',
    check_in_note      TEXT   NOT NULL DEFAULT '',
    check_out_location TEXT   NOT NULL DEFAULT '',
    check_out_note     TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CHECK (checked_out_at IS NULL OR checked_out_at >= checked_in_at),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);
CREATE INDEX attendance_employee ON attendance (tenant_id, employee_id, checked_in_at);
CREATE INDEX attendance_period ON attendance (tenant_id, checked_in_at);

-- The open check-in of each employee who is in. Its primary key is what
-- makes a double check-in impossible, under any concurrency, on both
-- engines: the portable form of a partial unique index on attendance
-- WHERE checked_out_at IS NULL. Inserted with the attendance row on
-- check-in, deleted on check-out, in the same transaction.
CREATE TABLE open_attendance (
    tenant_id     TEXT   NOT NULL,
    employee_id   TEXT   NOT NULL,
    attendance_id TEXT   NOT NULL,
    checked_in_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, employee_id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

CREATE TABLE announcements (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    title      TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    audience   TEXT   NOT NULL CHECK (audience IN ('all', 'owner', 'manager', 'staff', 'support')),
    -- Who published it: the principal's subject (account ID, or "admin").
    author     TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX announcements_audience ON announcements (tenant_id, audience, created_at, id);

CREATE TABLE announcement_reads (
    tenant_id       TEXT   NOT NULL,
    announcement_id TEXT   NOT NULL,
    employee_id     TEXT   NOT NULL,
    read_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, announcement_id, employee_id),
    FOREIGN KEY (tenant_id, announcement_id) REFERENCES announcements (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

-- +goose Down
DROP TABLE announcement_reads;
DROP TABLE announcements;
DROP TABLE open_attendance;
DROP TABLE attendance;
DROP TABLE shifts;
DROP TABLE employees;
