-- The content library (素材库) and auto-reply (FAQ) state. Times are BIGINT microseconds and
-- booleans BIGINT 0/1, as in the PostgreSQL schema, so both backends run the same SQL
-- (crates/store/src/content.rs, faq.rs).

CREATE TABLE content_items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    -- The ContentBody as JSON (NUL-safe on PostgreSQL too).
    body       TEXT    NOT NULL,
    -- The cleaned tags as a JSON array; content_tags indexes them.
    tags       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    updated_by TEXT    NOT NULL
);

CREATE TABLE content_tags (
    item_id BIGINT NOT NULL REFERENCES content_items (id) ON DELETE CASCADE,
    tag     TEXT   NOT NULL,
    PRIMARY KEY (tag, item_id)
);

-- Hits per FAQ entry, group and local day (YYYY-MM-DD in the group's timezone).
CREATE TABLE faq_hits (
    template  TEXT   NOT NULL,
    entry     TEXT   NOT NULL,
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    day       TEXT   NOT NULL,
    hits      BIGINT NOT NULL,
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (template, entry, connector, group_id, day)
);
CREATE INDEX faq_hits_day ON faq_hits (day);

-- The last answer of an entry to a member in a group: the entry's cooldowns.
CREATE TABLE faq_last_answers (
    connector TEXT   NOT NULL,
    group_id  TEXT   NOT NULL,
    entry     TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    -- The answer's id (`connector/event id`): a re-run of the same event is not counted twice.
    last_id   TEXT   NOT NULL,
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id, entry, member_id)
);
