-- Keyed by text ids; the `seq` columns keep insertion order. Times are BIGINT microseconds in
-- both backends, so the SQL that reads and writes these tables is written once
-- (crates/store/src/signup.rs, crates/store/src/lottery.rs). Chat-derived text (titles,
-- names, notes) is kept as JSON strings or inside the JSON `body`, so a NUL a user typed
-- round-trips on both backends.

-- Sign-up lists (接龙). `body` is the list as JSON; the columns after it win over it.
CREATE TABLE signups (
    seq            INTEGER PRIMARY KEY,
    id             TEXT   NOT NULL UNIQUE,
    connector      TEXT   NOT NULL,
    group_id       TEXT   NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('open', 'closed')),
    closes_at      BIGINT,
    repost_due_at  BIGINT,
    last_posted_at BIGINT,
    close_reason   TEXT,
    closed_at      BIGINT,
    closed_by      TEXT,
    created_at     BIGINT NOT NULL,
    body           TEXT   NOT NULL
);
-- One open list per group.
CREATE UNIQUE INDEX signups_open ON signups (connector, group_id) WHERE status = 'open';
CREATE INDEX signups_group ON signups (connector, group_id, seq);

-- A withdrawn member keeps their row (withdrawn_at set) until they join again, which
-- replaces it with a new row at the end.
CREATE TABLE signup_entries (
    seq          INTEGER PRIMARY KEY,
    signup_id    TEXT   NOT NULL,
    member_id    TEXT   NOT NULL,
    name         TEXT,
    note         TEXT,
    joined_at    BIGINT NOT NULL,
    withdrawn_at BIGINT,
    UNIQUE (signup_id, member_id)
);

-- Lotteries (抽奖). `body` is the lottery's definition as JSON; `draw` the published draw
-- record once drawn. `entries` counts the entries, so a draw can check in its own
-- transaction that no entry arrived after it read them.
CREATE TABLE lotteries (
    seq        INTEGER PRIMARY KEY,
    id         TEXT   NOT NULL UNIQUE,
    status     TEXT   NOT NULL CHECK (status IN ('open', 'drawn')),
    draw_at    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    entries    BIGINT NOT NULL DEFAULT 0,
    body       TEXT   NOT NULL,
    draw       TEXT
);
CREATE INDEX lotteries_due ON lotteries (status, draw_at);

CREATE TABLE lottery_groups (
    lottery_id TEXT NOT NULL,
    connector  TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    PRIMARY KEY (lottery_id, connector, group_id)
);
CREATE INDEX lottery_groups_group ON lottery_groups (connector, group_id);

CREATE TABLE lottery_entries (
    seq        INTEGER PRIMARY KEY,
    lottery_id TEXT   NOT NULL,
    connector  TEXT   NOT NULL,
    member_id  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    name       TEXT,
    entered_at BIGINT NOT NULL,
    UNIQUE (lottery_id, connector, member_id)
);

-- Messages counted towards a lottery's message condition, per member.
CREATE TABLE lottery_counts (
    lottery_id TEXT   NOT NULL,
    connector  TEXT   NOT NULL,
    member_id  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    name       TEXT,
    messages   BIGINT NOT NULL,
    PRIMARY KEY (lottery_id, connector, member_id)
);
