-- Moderation records: what the engine remembers about members, violations, the blacklist
-- and operator corrections. Chat-derived values (names, message text, evidence) live in JSON
-- documents (`body`, `name`), never in bare columns, so a NUL typed by a user round-trips
-- the same way on SQLite and PostgreSQL. The bare columns are the ones queries filter on.

CREATE TABLE members (
    connector       TEXT    NOT NULL,
    group_id        TEXT    NOT NULL,
    member_id       TEXT    NOT NULL,
    -- The display name as a JSON string (`"小明"`), NULL while unknown.
    name            TEXT,
    first_seen      INTEGER NOT NULL,
    joined_at       INTEGER,
    left_at         INTEGER,
    messages        INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER,
    PRIMARY KEY (connector, group_id, member_id)
);

-- `body` is the whole violation as JSON; the `status` column wins over the one inside it.
-- `seq` keeps insertion order for rows with the same time (assigned MAX + 1 inside the
-- BEGIN IMMEDIATE write transaction, which serialises writers).
CREATE TABLE violations (
    id        TEXT    PRIMARY KEY,
    seq       INTEGER NOT NULL,
    connector TEXT    NOT NULL,
    group_id  TEXT    NOT NULL,
    member_id TEXT    NOT NULL,
    status    TEXT    NOT NULL CHECK (status IN ('active', 'undone', 'false_positive')),
    dry_run   INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    time      INTEGER NOT NULL,
    body      TEXT    NOT NULL
);
-- The ladder's count: one member's active violations on one connector within a window.
CREATE INDEX violations_count ON violations (connector, member_id, status, time);
CREATE INDEX violations_group ON violations (connector, group_id, time);
CREATE INDEX violations_time ON violations (time);

CREATE TABLE blacklist (
    connector TEXT    NOT NULL,
    member_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    added_at  INTEGER NOT NULL,
    body      TEXT    NOT NULL,
    PRIMARY KEY (connector, member_id)
);
CREATE INDEX blacklist_added ON blacklist (added_at);

CREATE TABLE corrections (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    violation TEXT,
    body      TEXT    NOT NULL
);
