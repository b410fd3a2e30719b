-- Moderation records: what the engine remembers about members, violations, the blacklist
-- and operator corrections. Chat-derived values (names, message text, evidence) live in JSON
-- documents kept as TEXT (`body`, `name`), never in bare columns: TEXT cannot hold a NUL
-- character and JSONB rejects an escaped one, and users can type either. The bare columns
-- are the ones queries filter on.

CREATE TABLE members (
    connector       TEXT        NOT NULL,
    group_id        TEXT        NOT NULL,
    member_id       TEXT        NOT NULL,
    -- The display name as a JSON string (`"小明"`), NULL while unknown.
    name            TEXT,
    first_seen      TIMESTAMPTZ NOT NULL,
    joined_at       TIMESTAMPTZ,
    left_at         TIMESTAMPTZ,
    messages        BIGINT      NOT NULL DEFAULT 0,
    last_message_at TIMESTAMPTZ,
    PRIMARY KEY (connector, group_id, member_id)
);

-- `body` is the whole violation as JSON; the `status` column wins over the one inside it.
-- `seq` keeps insertion order for rows with the same time.
CREATE TABLE violations (
    id        TEXT        PRIMARY KEY,
    seq       BIGSERIAL   NOT NULL,
    connector TEXT        NOT NULL,
    group_id  TEXT        NOT NULL,
    member_id TEXT        NOT NULL,
    status    TEXT        NOT NULL CHECK (status IN ('active', 'undone', 'false_positive')),
    dry_run   BOOLEAN     NOT NULL,
    time      TIMESTAMPTZ NOT NULL,
    body      TEXT        NOT NULL
);
-- The ladder's count: one member's active violations on one connector within a window.
CREATE INDEX violations_count ON violations (connector, member_id, status, time);
CREATE INDEX violations_group ON violations (connector, group_id, time);
CREATE INDEX violations_time ON violations (time);

CREATE TABLE blacklist (
    connector TEXT        NOT NULL,
    member_id TEXT        NOT NULL,
    seq       BIGSERIAL   NOT NULL,
    added_at  TIMESTAMPTZ NOT NULL,
    body      TEXT        NOT NULL,
    PRIMARY KEY (connector, member_id)
);
CREATE INDEX blacklist_added ON blacklist (added_at);

CREATE TABLE corrections (
    seq       BIGSERIAL   PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    violation TEXT,
    body      TEXT        NOT NULL
);
