//! Dashboard accounts, sessions and API tokens — SQL written once for both backends
//! (migration `0019_accounts`; BIGINT microseconds and 0/1 flags in both). The one backend
//! difference, writing an audit row (the older `audit` table keeps its times differently), is
//! passed in as `$insert_audit`.

use qunzhu_core::accounts::Role;
use qunzhu_core::{StoreError, StoreResult};

fn role(name: &str) -> StoreResult<Role> {
    Role::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("account role: unknown value {name:?}")))
}

const ACCOUNT_COLUMNS: &str = "id, login, display_name, password_hash, role, created_at, disabled";
const SESSION_COLUMNS: &str = "token_hash, account_id, csrf, created_at, last_seen_at, expires_at, user_agent";
const TOKEN_COLUMNS: &str = "id, name, token_hash, role, created_by, created_at, last_used_at, revoked_at";

macro_rules! accounts_backend {
    ($module:ident, $db:ty, $insert_audit:path) => {
        pub(crate) mod $module {
            use chrono::{DateTime, Utc};
            use sqlx::{Pool, Row, Transaction};

            use qunzhu_core::accounts::{Account, AccountChange, ApiToken, NewAccount, NewApiToken, Role, Session};
            use qunzhu_core::{NewAuditEntry, StoreError, StoreResult};

            use super::{ACCOUNT_COLUMNS, SESSION_COLUMNS, TOKEN_COLUMNS, role};
            use crate::common::{backend, from_micros, is_unique_violation, micros};

            type DbRow = <$db as sqlx::Database>::Row;

            fn account_from_row(row: &DbRow, prefix: &str) -> StoreResult<Account> {
                let column = |name: &str| format!("{prefix}{name}");
                let disabled: i64 = row.try_get(column("disabled").as_str()).map_err(backend)?;
                let role_name: String = row.try_get(column("role").as_str()).map_err(backend)?;
                Ok(Account {
                    id: row.try_get(column("id").as_str()).map_err(backend)?,
                    login: row.try_get(column("login").as_str()).map_err(backend)?,
                    display_name: row.try_get(column("display_name").as_str()).map_err(backend)?,
                    password_hash: row.try_get(column("password_hash").as_str()).map_err(backend)?,
                    role: role(&role_name)?,
                    created_at: from_micros(row.try_get(column("created_at").as_str()).map_err(backend)?, "account created_at")?,
                    disabled: disabled != 0,
                })
            }

            fn session_from_row(row: &DbRow) -> StoreResult<Session> {
                Ok(Session {
                    token_hash: row.try_get("token_hash").map_err(backend)?,
                    account: row.try_get("account_id").map_err(backend)?,
                    csrf: row.try_get("csrf").map_err(backend)?,
                    created_at: from_micros(row.try_get("created_at").map_err(backend)?, "session created_at")?,
                    last_seen_at: from_micros(row.try_get("last_seen_at").map_err(backend)?, "session last_seen_at")?,
                    expires_at: from_micros(row.try_get("expires_at").map_err(backend)?, "session expires_at")?,
                    user_agent: row.try_get("user_agent").map_err(backend)?,
                })
            }

            fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
                let role_name: String = row.try_get("role").map_err(backend)?;
                let last_used: Option<i64> = row.try_get("last_used_at").map_err(backend)?;
                let revoked: Option<i64> = row.try_get("revoked_at").map_err(backend)?;
                Ok(ApiToken {
                    id: row.try_get("id").map_err(backend)?,
                    name: row.try_get("name").map_err(backend)?,
                    token_hash: row.try_get("token_hash").map_err(backend)?,
                    role: role(&role_name)?,
                    created_by: row.try_get("created_by").map_err(backend)?,
                    created_at: from_micros(row.try_get("created_at").map_err(backend)?, "token created_at")?,
                    last_used_at: last_used.map(|at| from_micros(at, "token last_used_at")).transpose()?,
                    revoked_at: revoked.map(|at| from_micros(at, "token revoked_at")).transpose()?,
                })
            }

            pub(crate) async fn count(pool: &Pool<$db>) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(pool).await.map_err(backend)?;
                u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("account count {count}")))
            }

            pub(crate) async fn create(
                mut tx: Transaction<'static, $db>,
                new: &NewAccount,
                first: bool,
                audit: &NewAuditEntry,
            ) -> StoreResult<Account> {
                if first {
                    sqlx::query("INSERT INTO accounts_first_run (one, created_at) VALUES (1, $1)")
                        .bind(micros(new.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("the first account exists already".into()) } else { backend(e) })?;
                    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut *tx).await.map_err(backend)?;
                    if existing > 0 {
                        return Err(StoreError::Conflict("an account exists already".into()));
                    }
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO accounts (login, display_name, password_hash, role, created_at, disabled) \
                     VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
                )
                .bind(&new.login)
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(new.role.name())
                .bind(micros(new.created_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(format!("login {} is taken", new.login)) } else { backend(e) })?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(Account {
                    id,
                    login: new.login.clone(),
                    display_name: new.display_name.clone(),
                    password_hash: new.password_hash.clone(),
                    role: new.role,
                    created_at: new.created_at,
                    disabled: false,
                })
            }

            pub(crate) async fn get(pool: &Pool<$db>, id: i64) -> StoreResult<Option<Account>> {
                let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(|r| account_from_row(r, "")).transpose()
            }

            pub(crate) async fn by_login(pool: &Pool<$db>, login: &str) -> StoreResult<Option<Account>> {
                let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE login = $1"))
                    .bind(login)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(|r| account_from_row(r, "")).transpose()
            }

            pub(crate) async fn list(pool: &Pool<$db>) -> StoreResult<Vec<Account>> {
                let rows = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(|r| account_from_row(r, "")).collect()
            }

            pub(crate) async fn update(
                mut tx: Transaction<'static, $db>,
                id: i64,
                change: &AccountChange,
                audit: &NewAuditEntry,
            ) -> StoreResult<Account> {
                let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                let Some(mut account) = row.as_ref().map(|r| account_from_row(r, "")).transpose()? else {
                    return Err(StoreError::NotFound(format!("account {id}")));
                };
                if let Some(name) = &change.display_name {
                    account.display_name = name.clone();
                }
                if let Some(hash) = &change.password_hash {
                    account.password_hash = hash.clone();
                }
                if let Some(new_role) = change.role {
                    account.role = new_role;
                }
                if let Some(disabled) = change.disabled {
                    account.disabled = disabled;
                }
                let other_owners: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM accounts WHERE role = $1 AND disabled = 0 AND id <> $2",
                )
                .bind(Role::Owner.name())
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                if other_owners == 0 && !(account.role == Role::Owner && !account.disabled) {
                    return Err(StoreError::Conflict("no enabled owner would be left".into()));
                }
                sqlx::query(
                    "UPDATE accounts SET display_name = $1, password_hash = $2, role = $3, disabled = $4 WHERE id = $5",
                )
                .bind(&account.display_name)
                .bind(&account.password_hash)
                .bind(account.role.name())
                .bind(i64::from(account.disabled))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                if change.disabled == Some(true) || change.password_hash.is_some() {
                    sqlx::query("DELETE FROM account_sessions WHERE account_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(account)
            }

            pub(crate) async fn create_session(
                mut tx: Transaction<'static, $db>,
                session: &Session,
                audit: &NewAuditEntry,
            ) -> StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO account_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (token_hash) DO UPDATE SET account_id = excluded.account_id, csrf = excluded.csrf, \
                     created_at = excluded.created_at, last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at, \
                     user_agent = excluded.user_agent"
                ))
                .bind(&session.token_hash)
                .bind(session.account)
                .bind(&session.csrf)
                .bind(micros(session.created_at))
                .bind(micros(session.last_seen_at))
                .bind(micros(session.expires_at))
                .bind(session.user_agent.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            pub(crate) async fn session(pool: &Pool<$db>, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<(Session, Account)>> {
                let row = sqlx::query(
                    "SELECT s.token_hash, s.account_id, s.csrf, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, \
                     a.id AS a_id, a.login AS a_login, a.display_name AS a_display_name, a.password_hash AS a_password_hash, \
                     a.role AS a_role, a.created_at AS a_created_at, a.disabled AS a_disabled \
                     FROM account_sessions s JOIN accounts a ON a.id = s.account_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled = 0",
                )
                .bind(token_hash)
                .bind(micros(now))
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                match row {
                    Some(row) => Ok(Some((session_from_row(&row)?, account_from_row(&row, "a_")?))),
                    None => Ok(None),
                }
            }

            pub(crate) async fn touch_session(pool: &Pool<$db>, token_hash: &str, seen: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE account_sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3")
                    .bind(micros(seen))
                    .bind(micros(expires_at))
                    .bind(token_hash)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn delete_session(pool: &Pool<$db>, token_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM account_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            pub(crate) async fn delete_expired(pool: &Pool<$db>, now: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM account_sessions WHERE expires_at <= $1")
                    .bind(micros(now))
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected())
            }

            pub(crate) async fn create_token(
                mut tx: Transaction<'static, $db>,
                new: &NewApiToken,
                audit: &NewAuditEntry,
            ) -> StoreResult<ApiToken> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_tokens (name, token_hash, role, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&new.name)
                .bind(&new.token_hash)
                .bind(new.role.name())
                .bind(&new.created_by)
                .bind(micros(new.created_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(format!("a token named {} exists", new.name)) } else { backend(e) })?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(ApiToken {
                    id,
                    name: new.name.clone(),
                    token_hash: new.token_hash.clone(),
                    role: new.role,
                    created_by: new.created_by.clone(),
                    created_at: new.created_at,
                    last_used_at: None,
                    revoked_at: None,
                })
            }

            pub(crate) async fn token(pool: &Pool<$db>, token_hash: &str) -> StoreResult<Option<ApiToken>> {
                let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"))
                    .bind(token_hash)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(token_from_row).transpose()
            }

            pub(crate) async fn tokens(pool: &Pool<$db>) -> StoreResult<Vec<ApiToken>> {
                let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(token_from_row).collect()
            }

            pub(crate) async fn revoke_token(
                mut tx: Transaction<'static, $db>,
                id: i64,
                at: DateTime<Utc>,
                audit: &NewAuditEntry,
            ) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(micros(at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            pub(crate) async fn touch_token(pool: &Pool<$db>, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(micros(at))
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn append_audit(mut tx: Transaction<'static, $db>, entry: &NewAuditEntry) -> StoreResult<()> {
                $insert_audit(&mut *tx, entry).await?;
                tx.commit().await.map_err(backend)
            }
        }
    };
}

accounts_backend!(sqlite, sqlx::Sqlite, crate::sqlite::insert_audit);
accounts_backend!(postgres, sqlx::Postgres, crate::postgres::insert_audit);
