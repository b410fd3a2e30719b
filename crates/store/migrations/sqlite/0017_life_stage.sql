-- The last life stage (生命周期) checked per group, so a transition into cooling alerts once.
-- Times are BIGINT microseconds, days BIGINT days since 1970-01-01; the SQL is the same text
-- for SQLite and PostgreSQL.
CREATE TABLE group_life_stages (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    stage      TEXT   NOT NULL,
    checked_on BIGINT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id)
);
