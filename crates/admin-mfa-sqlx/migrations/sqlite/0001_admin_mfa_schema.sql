-- admin-mfa store schema, SQLite. Times are UTC seconds since the Unix epoch (INTEGER).
-- Ids are 16-byte UUIDs, token hashes 32-byte SHA-256 digests. No column holds a raw
-- TOTP secret or link token: `admins.mfa` and `outbox.payload` keep them sealed.

CREATE TABLE IF NOT EXISTS admins (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    org           BLOB    NOT NULL CHECK (length(org) = 16),
    email         TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL CHECK (created_at >= 0),
    -- Mirrors `mfa.requirement`; the widget counts and lists the rows where it is 0.
    mfa_required  INTEGER NOT NULL CHECK (mfa_required IN (0, 1)),
    -- Mirrors `mfa.link.token_hash`; NULL without a pending link.
    token_hash    BLOB    CHECK (token_hash IS NULL OR length(token_hash) = 32),
    -- The whole MfaState as JSON: factor (sealed secret), link, failures, epoch, email log.
    mfa           TEXT    NOT NULL,
    widget_hidden INTEGER NOT NULL CHECK (widget_hidden IN (0, 1)),
    -- Compare-and-swap: 1 on insert, one more on every update.
    version       INTEGER NOT NULL CHECK (version >= 1)
) STRICT;

-- One email per organization; one admin per link-token hash (NULLs are distinct).
CREATE UNIQUE INDEX IF NOT EXISTS admins_org_email_key ON admins (org, email);
CREATE UNIQUE INDEX IF NOT EXISTS admins_token_hash_key ON admins (token_hash);
-- "Admins Without MFA Required": count and keyset pages by email, per organization.
CREATE INDEX IF NOT EXISTS admins_without_mfa_idx ON admins (org, email) WHERE mfa_required = 0;
-- Role counts (the policy's count of Administrators With Billing).
CREATE INDEX IF NOT EXISTS admins_org_role_idx ON admins (org, role);

-- The widget's count per organization, kept by every commit in the same transaction as the
-- admin rows, so the count costs one lookup however many admins an organization has.
CREATE TABLE IF NOT EXISTS widget_counts (
    org         BLOB    NOT NULL PRIMARY KEY CHECK (length(org) = 16),
    without_mfa INTEGER NOT NULL CHECK (without_mfa >= 0)
) STRICT;

CREATE TABLE IF NOT EXISTS audit_events (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    org    BLOB    NOT NULL CHECK (length(org) = 16),
    at     INTEGER NOT NULL CHECK (at >= 0),
    actor  BLOB    CHECK (actor IS NULL OR length(actor) = 16),
    target BLOB    NOT NULL CHECK (length(target) = 16),
    -- The AuditKind as JSON (ids, kinds and times only).
    kind   TEXT    NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS audit_events_org_seq_idx ON audit_events (org, seq);

CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT    NOT NULL,
    org             BLOB    NOT NULL CHECK (length(org) = 16),
    admin           BLOB    NOT NULL CHECK (length(admin) = 16),
    kind            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL CHECK (created_at >= 0),
    -- The Notification as JSON; its link token is sealed.
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER,
    generation      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One message per idempotency key, forever (a delivered key stays taken).
CREATE UNIQUE INDEX IF NOT EXISTS outbox_dedupe_key_key ON outbox (dedupe_key);
-- Leasing scans only the pending rows.
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (id) WHERE state = 'pending';
