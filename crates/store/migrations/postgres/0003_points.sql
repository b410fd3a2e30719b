-- Points and check-ins. The ledger is the truth; `points_balances` is its running sum,
-- updated in the same transaction as every ledger insert (a story test checks they agree).
-- Times are BIGINT microseconds and flags BIGINT 0/1 in both backends, so the SQL that reads
-- and writes these tables is written once (crates/store/src/points.rs).

CREATE TABLE points_ledger (
    seq       BIGSERIAL PRIMARY KEY,
    id        TEXT   NOT NULL UNIQUE,
    connector TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    amount    BIGINT NOT NULL,
    -- JSON string: the reason may quote chat-derived text.
    reason    TEXT   NOT NULL,
    rule      TEXT   NOT NULL,
    group_key TEXT,
    cause     TEXT,
    actor     TEXT   NOT NULL,
    time      BIGINT NOT NULL
);
CREATE INDEX points_ledger_member ON points_ledger (connector, member_id, rule, time);

CREATE TABLE points_balances (
    connector TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    balance   BIGINT NOT NULL,
    earned    BIGINT NOT NULL,
    PRIMARY KEY (connector, member_id)
);
CREATE INDEX points_balances_rank ON points_balances (connector, balance);

-- One row per group, member and local day (YYYY-MM-DD in the group's timezone).
CREATE TABLE check_ins (
    group_key TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    day       TEXT   NOT NULL,
    streak    BIGINT NOT NULL,
    points    BIGINT NOT NULL,
    makeup    BIGINT NOT NULL CHECK (makeup IN (0, 1)),
    time      BIGINT NOT NULL,
    PRIMARY KEY (group_key, member_id, day)
);
CREATE INDEX check_ins_day ON check_ins (group_key, day, time);
