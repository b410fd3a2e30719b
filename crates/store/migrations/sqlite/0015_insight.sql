-- Insight (数据管理): activity rollups, remembered questions, conversions, daily digests.
-- Times are BIGINT microseconds and the SQL is the same text for SQLite and PostgreSQL.

-- One row per (group, granularity, bucket, member); member '' is the group's own row.
-- Hour buckets are UTC hour numbers, day buckets the group's local day as days since 1970-01-01.
CREATE TABLE insight_rollups (
    connector   TEXT   NOT NULL,
    group_id    TEXT   NOT NULL,
    granularity TEXT   NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket      BIGINT NOT NULL,
    member_id   TEXT   NOT NULL,
    messages    BIGINT NOT NULL DEFAULT 0,
    joins       BIGINT NOT NULL DEFAULT 0,
    leaves      BIGINT NOT NULL DEFAULT 0,
    check_ins   BIGINT NOT NULL DEFAULT 0,
    violations  BIGINT NOT NULL DEFAULT 0,
    questions   BIGINT NOT NULL DEFAULT 0,
    answers     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connector, group_id, granularity, bucket, member_id)
);
CREATE INDEX insight_rollups_member ON insight_rollups (connector, member_id, granularity);

-- Tallies already added (a re-processed event is counted once).
CREATE TABLE insight_tallies (
    id TEXT PRIMARY KEY
);

-- Question messages, so replies to them count as answers.
CREATE TABLE insight_questions (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    asker      TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id, message_id)
);
CREATE INDEX insight_questions_asker ON insight_questions (connector, group_id, asker, at);

CREATE TABLE conversions (
    id         TEXT   PRIMARY KEY,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    body       TEXT   NOT NULL
);

CREATE TABLE digests (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    day        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    text       TEXT   NOT NULL,
    PRIMARY KEY (connector, group_id, day)
);
