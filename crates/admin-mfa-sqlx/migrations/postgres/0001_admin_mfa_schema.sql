-- admin-mfa store schema, PostgreSQL. Times are UTC seconds since the Unix epoch (BIGINT),
-- so they never depend on the session time zone. Ids are 16-byte UUIDs, token hashes
-- 32-byte SHA-256 digests. No column holds a raw TOTP secret or link token: `admins.mfa`
-- and `outbox.payload` keep them sealed.

CREATE TABLE IF NOT EXISTS admins (
    id            BYTEA   NOT NULL CHECK (length(id) = 16),
    org           BYTEA   NOT NULL CHECK (length(org) = 16),
    -- Byte order, like the other stores: keyset paging must not depend on the locale.
    email         TEXT    COLLATE "C" NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL CHECK (created_at >= 0),
    -- Mirrors `mfa.requirement`; the widget counts and lists the rows where it is false.
    mfa_required  BOOLEAN NOT NULL,
    -- Mirrors `mfa.link.token_hash`; NULL without a pending link.
    token_hash    BYTEA   CHECK (token_hash IS NULL OR length(token_hash) = 32),
    -- The whole MfaState as JSON: factor (sealed secret), link, failures, epoch, email log.
    mfa           TEXT    NOT NULL,
    widget_hidden BOOLEAN NOT NULL,
    -- Compare-and-swap: 1 on insert, one more on every update.
    version       BIGINT  NOT NULL CHECK (version >= 1),
    CONSTRAINT admins_pkey PRIMARY KEY (id),
    -- One email per organization; one admin per link-token hash (NULLs are distinct).
    CONSTRAINT admins_org_email_key UNIQUE (org, email),
    CONSTRAINT admins_token_hash_key UNIQUE (token_hash)
);

-- "Admins Without MFA Required": count and keyset pages by email, per organization.
CREATE INDEX IF NOT EXISTS admins_without_mfa_idx ON admins (org, email) WHERE NOT mfa_required;
-- Role counts (the policy's count of Administrators With Billing).
CREATE INDEX IF NOT EXISTS admins_org_role_idx ON admins (org, role);

-- The widget's count per organization, kept by every commit in the same transaction as the
-- admin rows, so the count costs one lookup however many admins an organization has.
CREATE TABLE IF NOT EXISTS widget_counts (
    org         BYTEA  NOT NULL CHECK (length(org) = 16),
    without_mfa BIGINT NOT NULL CHECK (without_mfa >= 0),
    CONSTRAINT widget_counts_pkey PRIMARY KEY (org)
);

CREATE TABLE IF NOT EXISTS audit_events (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org    BYTEA  NOT NULL CHECK (length(org) = 16),
    at     BIGINT NOT NULL CHECK (at >= 0),
    actor  BYTEA  CHECK (actor IS NULL OR length(actor) = 16),
    target BYTEA  NOT NULL CHECK (length(target) = 16),
    -- The AuditKind as JSON (ids, kinds and times only).
    kind   TEXT   NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_events_org_seq_idx ON audit_events (org, seq);

CREATE TABLE IF NOT EXISTS outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key      TEXT   NOT NULL,
    org             BYTEA  NOT NULL CHECK (length(org) = 16),
    admin           BYTEA  NOT NULL CHECK (length(admin) = 16),
    kind            TEXT   NOT NULL,
    created_at      BIGINT NOT NULL CHECK (created_at >= 0),
    -- The Notification as JSON; its link token is sealed.
    payload         TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    generation      BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- One message per idempotency key, forever (a delivered key stays taken).
    CONSTRAINT outbox_dedupe_key_key UNIQUE (dedupe_key)
);

-- Leasing scans only the pending rows.
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (id) WHERE state = 'pending';
