-- +goose Up
-- Every CSV export, as the audit log shows it: who, when, what, how many
-- rows, and whether personal data went out masked. Rows are only added.
CREATE TABLE export_audit (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    rows_count BIGINT  NOT NULL,
    masked     BIGINT  NOT NULL,
    -- The principal: staff, api_key or admin; its ID (empty for admin)
    -- and its role.
    actor_kind TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_role TEXT    NOT NULL,
    -- What ran it: cli or admin.
    via        TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- +goose Down
DROP TABLE export_audit;
