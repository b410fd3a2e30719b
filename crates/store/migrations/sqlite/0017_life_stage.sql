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

-- Care lines carry their polarity as a column, so the outbreak baseline is a count query
-- rather than reading 7 days of lines per message.
ALTER TABLE care_lines ADD COLUMN negative BIGINT NOT NULL DEFAULT 0;
UPDATE care_lines SET negative = 1 WHERE json_extract(body, '$.negative') = 1;
CREATE INDEX care_lines_group_negative ON care_lines (connector, group_id, at, negative);
