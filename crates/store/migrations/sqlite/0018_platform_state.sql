-- Platform state kept by connectors between runs, and the join scene on the join log.
-- Times are BIGINT microseconds and the SQL is the same text for SQLite and PostgreSQL.

-- How a member came in (invited, invite_link, qr_code, join_request), when the platform said.
ALTER TABLE member_joins ADD COLUMN join_scene TEXT;

-- Each group's member list as last reconciled with the platform (JSON array of
-- {id, joined_at, name}), so a restart compares WeCom's list with it instead of starting over.
CREATE TABLE platform_rosters (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    members    TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector, group_id)
);

-- Small named values per connector (e.g. `welcome_template:<template>` → the WeCom template).
CREATE TABLE connector_values (
    connector  TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector, key)
);
