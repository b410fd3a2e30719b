-- qunzhu's schema for SQLite. Times are INTEGER microseconds since the Unix epoch (UTC), so
-- ordering and comparison are plain integer comparison. JSON documents are TEXT.

-- The inbox: every event once per (connector, platform event id).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    connector    TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    group_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    time         INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1)),
    processed_at INTEGER,
    UNIQUE (connector, event_id)
);
CREATE INDEX events_unprocessed ON events (seq) WHERE processed = 0;

CREATE TABLE groups (
    connector  TEXT    NOT NULL,
    group_id   TEXT    NOT NULL,
    name       TEXT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (connector, group_id)
);

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id       TEXT    NOT NULL UNIQUE,
    connector       TEXT    NOT NULL,
    group_id        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'awaiting_peer', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    not_before      INTEGER,
    last_error      TEXT,
    action          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (connector, status, next_attempt_at);
CREATE INDEX outbox_feed ON outbox (connector, seq);

CREATE TABLE staff_tasks (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    connector  TEXT    NOT NULL,
    group_id   TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('open', 'done', 'dismissed')),
    task       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT
);
CREATE INDEX staff_tasks_status ON staff_tasks (status, seq);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time      INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    connector TEXT,
    group_id  TEXT,
    event_id  TEXT,
    action_id TEXT,
    rule      TEXT,
    summary   TEXT    NOT NULL,
    detail    TEXT
);
CREATE INDEX audit_group ON audit (connector, group_id, id);

-- Versions are 1, 2, 3…; the primary key makes two saves of the same version impossible.
CREATE TABLE rulebook_versions (
    version INTEGER PRIMARY KEY,
    author  TEXT    NOT NULL,
    note    TEXT    NOT NULL,
    changes TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    time    INTEGER NOT NULL
);
