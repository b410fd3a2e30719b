-- qunzhu's schema for PostgreSQL.
--
-- Chat payloads (event bodies, actions, tasks) are JSON kept as TEXT, not JSONB: JSONB
-- rejects the escaped NUL character (\u0000) that untrusted chat text may contain, and the
-- store never queries inside them. Rulebook change lists are JSONB.

CREATE TABLE events (
    seq          BIGSERIAL   PRIMARY KEY,
    connector    TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    group_id     TEXT        NOT NULL,
    kind         TEXT        NOT NULL,
    time         TIMESTAMPTZ NOT NULL,
    body         TEXT        NOT NULL,
    processed    BOOLEAN     NOT NULL DEFAULT FALSE,
    processed_at TIMESTAMPTZ,
    UNIQUE (connector, event_id)
);
CREATE INDEX events_unprocessed ON events (seq) WHERE NOT processed;

CREATE TABLE groups (
    connector  TEXT        NOT NULL,
    group_id   TEXT        NOT NULL,
    name       TEXT,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connector, group_id)
);

CREATE TABLE outbox (
    seq             BIGSERIAL   PRIMARY KEY,
    action_id       TEXT        NOT NULL UNIQUE,
    connector       TEXT        NOT NULL,
    group_id        TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'awaiting_peer', 'delivered', 'failed')),
    attempts        BIGINT      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    not_before      TIMESTAMPTZ,
    last_error      TEXT,
    action          TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_due ON outbox (connector, status, next_attempt_at);
CREATE INDEX outbox_feed ON outbox (connector, seq);

CREATE TABLE staff_tasks (
    seq        BIGSERIAL   PRIMARY KEY,
    id         TEXT        NOT NULL UNIQUE,
    connector  TEXT        NOT NULL,
    group_id   TEXT        NOT NULL,
    status     TEXT        NOT NULL CHECK (status IN ('open', 'done', 'dismissed')),
    task       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT
);
CREATE INDEX staff_tasks_status ON staff_tasks (status, seq);

CREATE TABLE audit (
    id        BIGSERIAL   PRIMARY KEY,
    time      TIMESTAMPTZ NOT NULL,
    actor     TEXT        NOT NULL,
    kind      TEXT        NOT NULL,
    connector TEXT,
    group_id  TEXT,
    event_id  TEXT,
    action_id TEXT,
    rule      TEXT,
    summary   TEXT        NOT NULL,
    detail    TEXT
);
CREATE INDEX audit_group ON audit (connector, group_id, id);

CREATE TABLE rulebook_versions (
    version BIGINT      PRIMARY KEY,
    author  TEXT        NOT NULL,
    note    TEXT        NOT NULL,
    changes JSONB       NOT NULL,
    body    TEXT        NOT NULL,
    time    TIMESTAMPTZ NOT NULL
);
