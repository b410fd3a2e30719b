//! Sign-up lists (接龙) — SQL written once for both backends.
//!
//! The tables (migration `0006_signups_lotteries`) keep times as BIGINT microseconds in
//! SQLite and PostgreSQL alike, so each query below is one text; [`queries!`] instantiates the
//! functions for each backend. A list's JSON `body` holds what never changes (its title,
//! limit, starter); the columns hold what does and win over the body. Names and notes are
//! JSON strings (chat text may hold a NUL).
//!
//! One open list per group is the partial unique index `signups_open`: a second `Start` in a
//! group hits it and is refused with a conflict, on both backends.

use qunzhu_core::signup::{CloseReason, Signup, SignupEntry, SignupStatus};
use qunzhu_core::{MemberId, StoreError, StoreResult};

use crate::common::{from_json, from_micros, name_from_db};

const SIGNUP_COLUMNS: &str =
    "id, status, closes_at, repost_due_at, last_posted_at, close_reason, closed_at, closed_by, body";
const ENTRY_COLUMNS: &str = "signup_id, member_id, name, note, joined_at, withdrawn_at";

fn time(value: Option<i64>, what: &str) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    value.map(|v| from_micros(v, what)).transpose()
}

/// A list from its row: the body, with the mutable columns over it.
#[allow(clippy::too_many_arguments)]
fn signup(
    body: &str,
    status: &str,
    closes_at: Option<i64>,
    repost_due_at: Option<i64>,
    last_posted_at: Option<i64>,
    close_reason: Option<String>,
    closed_at: Option<i64>,
    closed_by: Option<String>,
) -> StoreResult<Signup> {
    let mut signup: Signup = from_json(body, "sign-up list")?;
    signup.status = SignupStatus::from_name(status)
        .ok_or_else(|| StoreError::Corrupt(format!("sign-up status: unknown value {status:?}")))?;
    signup.closes_at = time(closes_at, "sign-up closes_at")?;
    signup.repost_due_at = time(repost_due_at, "sign-up repost_due_at")?;
    signup.last_posted_at = time(last_posted_at, "sign-up last_posted_at")?;
    signup.close_reason = close_reason
        .map(|r| CloseReason::from_name(&r).ok_or_else(|| StoreError::Corrupt(format!("sign-up close reason {r:?}"))))
        .transpose()?;
    signup.closed_at = time(closed_at, "sign-up closed_at")?;
    signup.closed_by = closed_by;
    Ok(signup)
}

fn entry(
    signup: String,
    member: String,
    name: Option<String>,
    note: Option<String>,
    joined_at: i64,
    withdrawn_at: Option<i64>,
) -> StoreResult<SignupEntry> {
    Ok(SignupEntry {
        signup,
        member: MemberId::new(member),
        name: name_from_db(name)?,
        note: name_from_db(note)?,
        joined_at: from_micros(joined_at, "sign-up entry joined_at")?,
        withdrawn_at: time(withdrawn_at, "sign-up entry withdrawn_at")?,
    })
}

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use qunzhu_core::signup::{Signup, SignupEntry, SignupStatus, SignupWrite};
            use qunzhu_core::{GroupKey, StoreError, StoreResult};

            use super::*;
            use crate::common::{backend, is_unique_violation, micros, name_to_db, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn signup_from_row(row: &DbRow) -> StoreResult<Signup> {
                let body: String = row.try_get("body").map_err(backend)?;
                let status: String = row.try_get("status").map_err(backend)?;
                super::signup(
                    &body,
                    &status,
                    row.try_get("closes_at").map_err(backend)?,
                    row.try_get("repost_due_at").map_err(backend)?,
                    row.try_get("last_posted_at").map_err(backend)?,
                    row.try_get("close_reason").map_err(backend)?,
                    row.try_get("closed_at").map_err(backend)?,
                    row.try_get("closed_by").map_err(backend)?,
                )
            }

            fn entry_from_row(row: &DbRow) -> StoreResult<SignupEntry> {
                super::entry(
                    row.try_get("signup_id").map_err(backend)?,
                    row.try_get("member_id").map_err(backend)?,
                    row.try_get("name").map_err(backend)?,
                    row.try_get("note").map_err(backend)?,
                    row.try_get("joined_at").map_err(backend)?,
                    row.try_get("withdrawn_at").map_err(backend)?,
                )
            }

            /// `NotFound` for an unknown list, `Conflict` for a closed one.
            async fn require_open(conn: &mut Conn, id: &str) -> StoreResult<()> {
                let status: Option<String> = sqlx::query_scalar("SELECT status FROM signups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                match status.as_deref() {
                    None => Err(StoreError::NotFound(format!("sign-up list {id}"))),
                    Some("open") => Ok(()),
                    Some(_) => Err(StoreError::Conflict(format!("sign-up list {id} is closed"))),
                }
            }

            async fn require_exists(conn: &mut Conn, id: &str) -> StoreResult<()> {
                let found: Option<i64> = sqlx::query_scalar("SELECT seq FROM signups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                found.map(|_| ()).ok_or_else(|| StoreError::NotFound(format!("sign-up list {id}")))
            }

            /// Applies one write inside the commit's transaction (see [`SignupWrite`]).
            pub(crate) async fn apply(conn: &mut Conn, write: &SignupWrite) -> StoreResult<()> {
                match write {
                    SignupWrite::Start(signup) => start(conn, signup).await,
                    SignupWrite::Join { signup, member, name, note, at } => {
                        require_open(&mut *conn, signup).await?;
                        let existing: Option<Option<i64>> = sqlx::query_scalar(
                            "SELECT withdrawn_at FROM signup_entries WHERE signup_id = $1 AND member_id = $2",
                        )
                        .bind(signup)
                        .bind(member.as_str())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(backend)?;
                        match existing {
                            Some(None) => {
                                sqlx::query(
                                    "UPDATE signup_entries SET name = COALESCE($3, name), note = COALESCE($4, note) \
                                     WHERE signup_id = $1 AND member_id = $2",
                                )
                                .bind(signup)
                                .bind(member.as_str())
                                .bind(name_to_db(name.as_deref())?)
                                .bind(name_to_db(note.as_deref())?)
                                .execute(&mut *conn)
                                .await
                                .map_err(backend)?;
                            }
                            withdrawn => {
                                if withdrawn.is_some() {
                                    // Joining again: a new row, so the member goes to the end.
                                    sqlx::query("DELETE FROM signup_entries WHERE signup_id = $1 AND member_id = $2")
                                        .bind(signup)
                                        .bind(member.as_str())
                                        .execute(&mut *conn)
                                        .await
                                        .map_err(backend)?;
                                }
                                sqlx::query(
                                    "INSERT INTO signup_entries (signup_id, member_id, name, note, joined_at) VALUES ($1, $2, $3, $4, $5)",
                                )
                                .bind(signup)
                                .bind(member.as_str())
                                .bind(name_to_db(name.as_deref())?)
                                .bind(name_to_db(note.as_deref())?)
                                .bind(micros(*at))
                                .execute(&mut *conn)
                                .await
                                .map_err(backend)?;
                            }
                        }
                        Ok(())
                    }
                    SignupWrite::Withdraw { signup, member, at } => {
                        require_open(&mut *conn, signup).await?;
                        sqlx::query(
                            "UPDATE signup_entries SET withdrawn_at = $3 \
                             WHERE signup_id = $1 AND member_id = $2 AND withdrawn_at IS NULL",
                        )
                        .bind(signup)
                        .bind(member.as_str())
                        .bind(micros(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    }
                    SignupWrite::Posted { signup, at } => {
                        let done = sqlx::query("UPDATE signups SET last_posted_at = $2, repost_due_at = NULL WHERE id = $1")
                            .bind(signup)
                            .bind(micros(*at))
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                        if done.rows_affected() == 0 {
                            require_exists(&mut *conn, signup).await?;
                        }
                        Ok(())
                    }
                    SignupWrite::RepostDue { signup, at } => {
                        let done = sqlx::query(
                            "UPDATE signups SET repost_due_at = CASE WHEN repost_due_at IS NULL OR repost_due_at > $2 \
                             THEN $2 ELSE repost_due_at END WHERE id = $1 AND status = 'open'",
                        )
                        .bind(signup)
                        .bind(micros(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        if done.rows_affected() == 0 {
                            require_exists(&mut *conn, signup).await?;
                        }
                        Ok(())
                    }
                    SignupWrite::Close { signup, reason, by, at } => {
                        let done = sqlx::query(
                            "UPDATE signups SET status = 'closed', close_reason = $2, closed_by = $3, closed_at = $4, \
                             repost_due_at = NULL WHERE id = $1 AND status = 'open'",
                        )
                        .bind(signup)
                        .bind(reason.name())
                        .bind(by)
                        .bind(micros(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        if done.rows_affected() == 0 {
                            require_exists(&mut *conn, signup).await?;
                        }
                        Ok(())
                    }
                }
            }

            async fn start(conn: &mut Conn, signup: &Signup) -> StoreResult<()> {
                let inserted = sqlx::query(
                    "INSERT INTO signups (id, connector, group_id, status, closes_at, repost_due_at, last_posted_at, \
                     close_reason, closed_at, closed_by, created_at, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&signup.id)
                .bind(signup.group.connector.as_str())
                .bind(signup.group.group.as_str())
                .bind(signup.status.name())
                .bind(signup.closes_at.map(micros))
                .bind(signup.repost_due_at.map(micros))
                .bind(signup.last_posted_at.map(micros))
                .bind(signup.close_reason.map(|r| r.name()))
                .bind(signup.closed_at.map(micros))
                .bind(signup.closed_by.as_deref())
                .bind(micros(signup.created_at))
                .bind(to_json(signup, "sign-up list")?)
                .execute(&mut *conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!(
                        "group {} already has an open sign-up list",
                        signup.group
                    ))),
                    Err(error) => Err(backend(error)),
                }
            }

            pub(crate) async fn open_signup(pool: &Pool, group: &GroupKey) -> StoreResult<Option<Signup>> {
                let row = sqlx::query(&format!(
                    "SELECT {SIGNUP_COLUMNS} FROM signups WHERE connector = $1 AND group_id = $2 AND status = 'open'"
                ))
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(signup_from_row).transpose()
            }

            pub(crate) async fn get_signup(pool: &Pool, id: &str) -> StoreResult<Option<Signup>> {
                let row = sqlx::query(&format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(signup_from_row).transpose()
            }

            pub(crate) async fn list_signups(
                pool: &Pool,
                group: Option<&GroupKey>,
                status: Option<SignupStatus>,
                limit: u32,
            ) -> StoreResult<Vec<Signup>> {
                let rows = sqlx::query(&format!(
                    "SELECT {SIGNUP_COLUMNS} FROM signups \
                     WHERE ($1 IS NULL OR (connector = $1 AND group_id = $2)) AND ($3 IS NULL OR status = $3) \
                     ORDER BY seq DESC LIMIT $4"
                ))
                .bind(group.map(|g| g.connector.as_str().to_owned()))
                .bind(group.map(|g| g.group.as_str().to_owned()))
                .bind(status.map(|s| s.name()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(signup_from_row).collect()
            }

            pub(crate) async fn entries(pool: &Pool, id: &str) -> StoreResult<Vec<SignupEntry>> {
                let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM signup_entries WHERE signup_id = $1 ORDER BY seq"))
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(entry_from_row).collect()
            }

            pub(crate) async fn due_signups(pool: &Pool, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Signup>> {
                let rows = sqlx::query(&format!(
                    "SELECT {SIGNUP_COLUMNS} FROM signups WHERE status = 'open' \
                     AND ((repost_due_at IS NOT NULL AND repost_due_at <= $1) OR (closes_at IS NOT NULL AND closes_at <= $1)) \
                     ORDER BY seq"
                ))
                .bind(micros(now))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                let mut due = rows.iter().map(signup_from_row).collect::<StoreResult<Vec<Signup>>>()?;
                // Soonest first; a stable sort keeps creation order among equal times.
                due.sort_by_key(Signup::due_at);
                due.truncate(limit as usize);
                Ok(due)
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
