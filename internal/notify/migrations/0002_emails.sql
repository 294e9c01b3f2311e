-- +goose Up
-- Emails: one row per email per event, made by the consumer in the
-- transaction that records the event in the inbox (UNIQUE backs it). The
-- row first holds the event's data; the worker renders it once (recipient,
-- subject, text and HTML parts, kept here, so every retry and resend sends
-- the same message under the same Message-ID), then sends it over SMTP, or,
-- without SMTP settings, keeps it here for the admin's Emails pages.

CREATE TABLE emails (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    event_id        TEXT   NOT NULL,
    event_type      TEXT   NOT NULL,
    -- What the email is: order_confirmed, password_reset, … (email.go).
    kind            TEXT   NOT NULL,
    -- The event's data as JSON, rendered from.
    data            TEXT   NOT NULL,
    -- A one-time token the email carries in a link ('' for none): the admin
    -- shows the email with it masked once SMTP delivers mail, and it is
    -- removed from the row once the email is sent.
    secret          TEXT   NOT NULL DEFAULT '',
    -- The rendered message; recipient '' until rendered.
    recipient       TEXT   NOT NULL DEFAULT '',
    -- The sender's display name: the store's name when rendered.
    from_name       TEXT   NOT NULL DEFAULT '',
    locale          TEXT   NOT NULL DEFAULT '',
    subject         TEXT   NOT NULL DEFAULT '',
    text_body       TEXT   NOT NULL DEFAULT '',
    html_body       TEXT   NOT NULL DEFAULT '',
    -- The Message-ID header (without <>), derived from the row: the same on
    -- every attempt, so a receiver can drop a second copy.
    message_id      TEXT   NOT NULL,
    -- pending (to render or send), sent, kept (no SMTP: kept here only),
    -- failed (a permanent refusal or retries exhausted: the dead letters).
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'sent', 'kept', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    retry_until     BIGINT NOT NULL,
    last_error      TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, event_id, kind)
);

CREATE INDEX emails_due ON emails (status, next_attempt_at);

-- +goose Down
DROP TABLE emails;
