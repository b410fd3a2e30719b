-- Channels (渠道活码), group pools, the join log, leaves, remembered invite codes and member
-- profiles. Times are BIGINT microseconds and flags BIGINT 0/1 in both backends, so the SQL
-- that reads and writes these tables is written once (crates/store/src/membership.rs).
-- Member names are JSON strings (chat text may hold a NUL).

CREATE TABLE channels (
    id         TEXT   PRIMARY KEY,
    code       TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    tier       TEXT   NOT NULL,
    tags       TEXT   NOT NULL,
    pool_id    TEXT,
    archived   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

-- `groups_json` is the ordered list of groups with their caps and invite links.
CREATE TABLE channel_pools (
    id               TEXT   PRIMARY KEY,
    name             TEXT   NOT NULL,
    groups_json      TEXT   NOT NULL,
    alert_at_percent BIGINT NOT NULL,
    alerted_at       BIGINT,
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT   NOT NULL
);

-- One row per join event; `left_at` is set by the leave that follows (a stay has none).
CREATE TABLE member_joins (
    seq          INTEGER PRIMARY KEY,
    id           TEXT   NOT NULL UNIQUE,
    connector    TEXT   NOT NULL,
    group_id     TEXT   NOT NULL,
    member_id    TEXT   NOT NULL,
    name         TEXT,
    channel_id   TEXT,
    channel_name TEXT,
    tier         TEXT,
    tags         TEXT   NOT NULL,
    inviter_id   TEXT,
    joined_at    BIGINT NOT NULL,
    left_at      BIGINT
);
CREATE INDEX member_joins_member ON member_joins (connector, group_id, member_id, seq);
CREATE INDEX member_joins_time ON member_joins (joined_at);

CREATE TABLE member_leaves (
    seq         INTEGER PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    connector   TEXT   NOT NULL,
    group_id    TEXT   NOT NULL,
    member_id   TEXT   NOT NULL,
    name        TEXT,
    reason      TEXT   NOT NULL CHECK (reason IN ('left', 'removed')),
    removed_by  TEXT,
    joined_at   BIGINT,
    left_at     BIGINT NOT NULL,
    tenure_secs BIGINT,
    channel_id  TEXT,
    tier        TEXT
);
CREATE INDEX member_leaves_group ON member_leaves (connector, group_id, seq);

-- An invite code seen before the join (a join request's comment), for the join that follows.
CREATE TABLE member_codes (
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    code      TEXT   NOT NULL,
    seen_at   BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id, member_id)
);

-- Per (connector, member): made by their first join.
CREATE TABLE member_profiles (
    connector  TEXT   NOT NULL,
    member_id  TEXT   NOT NULL,
    name       TEXT,
    first_seen BIGINT NOT NULL,
    channel_id TEXT,
    tier       TEXT,
    inviter_id TEXT,
    PRIMARY KEY (connector, member_id)
);

CREATE TABLE member_tags (
    connector TEXT NOT NULL,
    member_id TEXT NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (connector, member_id, tag)
);
CREATE INDEX member_tags_tag ON member_tags (tag);
