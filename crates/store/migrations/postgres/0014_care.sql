-- Care (用户思维): members' questions, recent chat lines with their sentiment, and the issue
-- list (问题清单). The same text for SQLite and PostgreSQL: times are BIGINT microseconds;
-- `body` is the record as JSON, the other columns are what queries filter on.

CREATE TABLE care_questions (
    id        TEXT   PRIMARY KEY,
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    status    TEXT   NOT NULL,
    asked_at  BIGINT NOT NULL,
    body      TEXT   NOT NULL
);
CREATE INDEX care_questions_group ON care_questions (connector, group_id, status, asked_at);

CREATE TABLE care_lines (
    id        TEXT   PRIMARY KEY,
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    body      TEXT   NOT NULL
);
CREATE INDEX care_lines_group ON care_lines (connector, group_id, at);

CREATE TABLE care_tickets (
    id        TEXT   PRIMARY KEY,
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    status    TEXT   NOT NULL,
    opened_at BIGINT NOT NULL,
    body      TEXT   NOT NULL
);
CREATE INDEX care_tickets_group ON care_tickets (connector, group_id, status, opened_at);
