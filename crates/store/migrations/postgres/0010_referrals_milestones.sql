-- Referrals (裂变), personal invite codes, referral campaigns, milestones (里程碑) and custom
-- counters. The same text for SQLite and PostgreSQL: times are BIGINT microseconds.

-- One referral per invitee and group (`id` = `ref:<connector>/<group>/<member>`). `body` is
-- the referral as JSON at its join; the columns hold what changes and win over the body.
CREATE TABLE referrals (
    id           TEXT   PRIMARY KEY,
    connector    TEXT   NOT NULL,
    group_id     TEXT   NOT NULL,
    inviter      TEXT   NOT NULL,
    campaign     TEXT,
    status       TEXT   NOT NULL,
    joined_at    BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    spoke_at     BIGINT,
    validated_at BIGINT,
    left_at      BIGINT,
    body         TEXT   NOT NULL
);
CREATE INDEX referrals_group ON referrals (connector, group_id, joined_at);
CREATE INDEX referrals_due ON referrals (status, due_at);

CREATE TABLE referral_codes (
    code       TEXT   NOT NULL,
    connector  TEXT   NOT NULL,
    member_id  TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (connector, code),
    UNIQUE (connector, member_id)
);

CREATE TABLE referral_campaigns (
    id        TEXT   PRIMARY KEY,
    starts_at BIGINT NOT NULL,
    body      TEXT   NOT NULL
);

-- At most one row per threshold and group: a second from another event refuses its commit.
CREATE TABLE milestones (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    threshold  BIGINT NOT NULL,
    cause      TEXT   NOT NULL,
    reached_at BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (connector, group_id, kind, name, threshold)
);

CREATE TABLE counters (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id, name)
);

CREATE TABLE counter_increments (
    id         TEXT   PRIMARY KEY,
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    amount     BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
