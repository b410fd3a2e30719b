-- Admission screening and the welcome ritual. Same conventions as 0003_points: BIGINT
-- microseconds and 0/1 flags in both backends; the SQL lives in crates/store/src/admission.rs.

-- Join requests and their decisions; `body` is the record as JSON, `status` and
-- `updated_at` the columns lists filter and sort by.
CREATE TABLE join_requests (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    request_id TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (connector, group_id, request_id)
);
CREATE INDEX join_requests_status ON join_requests (status, updated_at);

-- Every join the engine saw: join waves count them, batched welcomes are owed by them.
CREATE TABLE join_log (
    id              TEXT   PRIMARY KEY,
    connector       TEXT   NOT NULL,
    group_id        TEXT   NOT NULL,
    joined_at       BIGINT NOT NULL,
    welcome_pending BIGINT NOT NULL,
    welcomed_at     BIGINT,
    body            TEXT   NOT NULL
);
CREATE INDEX join_log_group ON join_log (connector, group_id, joined_at);
CREATE INDEX join_log_pending ON join_log (welcome_pending, joined_at);

-- A group's guarded mode after a join wave (one row per group; ended = deleted).
CREATE TABLE group_guards (
    connector TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (connector, group_id)
);
