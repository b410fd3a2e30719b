-- Scheduled posts. The definition (name, recurrence, timezone, target, post…) and who last
-- changed it are one JSON document (`body`): operator text round-trips the same way on SQLite
-- and PostgreSQL. The bare columns are the ones the scheduler filters on. Times are BIGINT
-- microseconds and flags BIGINT 0/1 in both backends, so the SQL that reads and writes this
-- table is written once (crates/store/src/schedules.rs).

CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    paused     BIGINT  NOT NULL CHECK (paused IN (0, 1)),
    -- NULL when no run is left.
    next_run   BIGINT,
    last_run   BIGINT,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX schedules_due ON schedules (paused, next_run);
