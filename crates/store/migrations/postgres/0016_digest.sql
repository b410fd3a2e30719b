-- The daily digest reads a group's events of a day (Store::group_events).
CREATE INDEX IF NOT EXISTS events_group_time ON events (connector, group_id, time);
