-- Compact outbox rows (see src/sqlite/outbox.rs): the dedupe key as a blob, and the
-- payload of new rows without what the columns and the key already hold. A bulk require
-- queues one e-mail per admin and every row stays, so these bytes (and the key's index
-- entries) are most of what a bulk write puts through the WAL besides the admins.
--
-- The `kind` and `admin` columns go: the key names both (a payload names them only when it
-- does not). Stored rows keep their whole-notification JSON payload, which is read as before;
-- their text keys are converted by the rule the store encodes new keys with, so a new
-- notification with a stored key is still dropped.

CREATE TABLE outbox_compact (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- "{admin id}:{kind}:{rest}" (lower-case hyphenated id, a known kind): the kind's
    -- code, the rest's UTF-8, the id's 16 bytes (so the keys of one event for many admins
    -- sit together in the index); any other key: 0, then its UTF-8.
    dedupe_key      BLOB    NOT NULL CHECK (length(dedupe_key) >= 1),
    org             BLOB    NOT NULL CHECK (length(org) = 16),
    created_at      INTEGER NOT NULL CHECK (created_at >= 0),
    -- {"v":2,...}: recipient, display name, link and detail; or, for rows stored before
    -- this migration, the whole Notification as JSON. Link tokens are sealed.
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER,
    generation      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The kind codes of compact keys (the store's table in src/sqlite/outbox.rs).
CREATE TEMP TABLE outbox_kinds (code INTEGER NOT NULL, name TEXT NOT NULL);
INSERT INTO outbox_kinds (code, name) VALUES
    (1, 'setup_invitation'), (2, 'reset_requested'), (3, 'setup_completed'),
    (4, 'reset_completed'), (5, 'locked_out'), (6, 'mfa_required'), (7, 'mfa_not_required'),
    (8, 'recovery_code_used'), (9, 'setup_reminder');

INSERT INTO outbox_compact (id, dedupe_key, org, created_at, payload, state, next_attempt_at,
    leased_until, generation, attempts)
SELECT o.id,
    CASE WHEN k.code IS NULL THEN unhex('00' || hex(o.dedupe_key))
    ELSE unhex(printf('%02X', k.code) || hex(substr(o.dedupe_key, 39 + length(k.name)))
        || replace(substr(o.dedupe_key, 1, 36), '-', ''))
    END,
    o.org, o.created_at, o.payload, o.state, o.next_attempt_at, o.leased_until, o.generation,
    o.attempts
FROM outbox AS o LEFT JOIN outbox_kinds AS k
    ON o.dedupe_key GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*'
    AND substr(o.dedupe_key, 37, length(k.name) + 2) = ':' || k.name || ':'
ORDER BY o.id;

DROP TABLE outbox_kinds;
-- Outbox ids are lease ids: never hand one out twice.
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0))
WHERE name = 'outbox_compact';
DROP TABLE outbox;
ALTER TABLE outbox_compact RENAME TO outbox;

-- One message per idempotency key, forever (a delivered key stays taken).
CREATE UNIQUE INDEX outbox_dedupe_key_key ON outbox (dedupe_key);
-- Leasing scans only the pending rows.
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE state = 'pending';
