-- The newcomer gate (入群验证). Same conventions as 0003_points: BIGINT microseconds in both
-- backends; the SQL lives in crates/store/src/gate.rs.

-- One row per newcomer at the gate of a group: opened by the join, passed by an answer or
-- staff, timed out at its deadline, deleted when the member leaves.
CREATE TABLE gate_entries (
    connector  TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    member     TEXT   NOT NULL,
    name       TEXT,
    status     TEXT   NOT NULL,
    joined_at  BIGINT NOT NULL,
    deadline   BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    PRIMARY KEY (connector, group_id, member)
);
CREATE INDEX gate_entries_due ON gate_entries (status, deadline);
