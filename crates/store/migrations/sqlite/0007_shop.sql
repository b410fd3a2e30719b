-- The points shop and members' inventories (make-up cards). Same conventions as 0003_points:
-- BIGINT microseconds and 0/1 flags in both backends; the SQL lives in crates/store/src/shop.rs.

-- A member holds the sum of their changes of an item.
CREATE TABLE item_changes (
    seq       INTEGER PRIMARY KEY,
    id        TEXT   NOT NULL UNIQUE,
    connector TEXT   NOT NULL,
    member_id TEXT   NOT NULL,
    item      TEXT   NOT NULL,
    delta     BIGINT NOT NULL,
    time      BIGINT NOT NULL
);
CREATE INDEX item_changes_member ON item_changes (connector, member_id, item);

-- `body` is the item as JSON (name and description are operator text); `stock`
-- (NULL = unlimited) and `enabled` are the columns a redemption checks and changes.
CREATE TABLE shop_items (
    id      TEXT   PRIMARY KEY,
    stock   BIGINT CHECK (stock IS NULL OR stock >= 0),
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    cost    BIGINT NOT NULL,
    body    TEXT   NOT NULL
);

CREATE TABLE redemptions (
    seq        INTEGER PRIMARY KEY,
    id         TEXT   NOT NULL UNIQUE,
    status     TEXT   NOT NULL CHECK (status IN ('pending', 'fulfilled', 'cancelled')),
    updated_at BIGINT NOT NULL,
    body       TEXT   NOT NULL
);
CREATE INDEX redemptions_status ON redemptions (status, seq);
