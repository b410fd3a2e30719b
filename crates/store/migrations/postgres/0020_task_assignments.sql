-- Who a staff task is assigned to (待办指派). The same text for SQLite and PostgreSQL: times
-- are BIGINT microseconds. One row per assigned task; unassigning deletes it.
CREATE TABLE task_assignments (
    task_id     TEXT   PRIMARY KEY,
    assignee    TEXT   NOT NULL,
    assigned_at BIGINT NOT NULL,
    assigned_by TEXT   NOT NULL
);
