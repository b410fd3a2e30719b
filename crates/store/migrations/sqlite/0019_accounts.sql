-- Dashboard accounts, sessions and API tokens. Same conventions as 0003_points: BIGINT
-- microseconds and BIGINT 0/1 flags in both backends; the SQL lives in
-- crates/store/src/accounts.rs. Only hashes are kept: argon2id PHC strings for passwords, the
-- hex SHA-256 of session and API tokens.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    login         TEXT   NOT NULL UNIQUE,
    display_name  TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    role          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0
);

-- One row, written with the account the first-run page creates: of two racing first runs,
-- the second fails on this key.
CREATE TABLE accounts_first_run (
    one        BIGINT PRIMARY KEY CHECK (one = 1),
    created_at BIGINT NOT NULL
);

CREATE TABLE account_sessions (
    token_hash   TEXT   PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT
);
CREATE INDEX account_sessions_account ON account_sessions (account_id);
CREATE INDEX account_sessions_expiry ON account_sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    role         TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
-- A name names one live token; revoked ones keep theirs.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
