//! Admission and the welcome ritual — SQL written once for both backends (migration
//! `0009_admission_welcome`): join requests, the join log (batched welcomes, join waves) and
//! guarded mode. Records are kept as JSON `body`s next to the columns queries filter on; the
//! columns win where both hold a value (`status`, `welcome_pending`, `welcomed_at`).

use qunzhu_core::admission::{GuardRecord, WelcomeJoin, JoinRequestRecord, JoinRequestStatus};
use qunzhu_core::{StoreError, StoreResult};

use crate::common::{from_json, from_micros};

fn request(body: &str, status: &str) -> StoreResult<JoinRequestRecord> {
    let mut record: JoinRequestRecord = from_json(body, "join request")?;
    record.status = JoinRequestStatus::from_name(status)
        .ok_or_else(|| StoreError::Corrupt(format!("join request status: unknown value {status:?}")))?;
    Ok(record)
}

fn join(body: &str, pending: i64, welcomed_at: Option<i64>) -> StoreResult<WelcomeJoin> {
    let mut record: WelcomeJoin = from_json(body, "join")?;
    record.welcome_pending = pending != 0;
    record.welcomed_at = welcomed_at.map(|at| from_micros(at, "join welcomed_at")).transpose()?;
    Ok(record)
}

fn guard(body: &str) -> StoreResult<GuardRecord> {
    from_json(body, "group guard")
}

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use qunzhu_core::admission::{AdmissionWrite, GuardRecord, WelcomeJoin, JoinRequestRecord, JoinRequestStatus};
            use qunzhu_core::{GroupKey, StoreError, StoreResult};

            use crate::common::{backend, from_micros, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            /// Applies one write inside the commit's transaction (see [`AdmissionWrite`]).
            pub(crate) async fn apply(conn: &mut Conn, write: &AdmissionWrite) -> StoreResult<()> {
                match write {
                    AdmissionWrite::Request(record) => {
                        sqlx::query(
                            "INSERT INTO join_requests (connector, group_id, request_id, status, updated_at, body) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (connector, group_id, request_id) DO UPDATE SET \
                             status = excluded.status, updated_at = excluded.updated_at, body = excluded.body \
                             WHERE join_requests.status NOT IN ('approved', 'rejected')",
                        )
                        .bind(record.group.connector.as_str())
                        .bind(record.group.group.as_str())
                        .bind(&record.request_id)
                        .bind(record.status.name())
                        .bind(micros(record.updated_at))
                        .bind(to_json(record, "join request")?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    AdmissionWrite::Join(record) => {
                        sqlx::query(
                            "INSERT INTO join_log (id, connector, group_id, joined_at, welcome_pending, welcomed_at, body) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(&record.id)
                        .bind(record.group.connector.as_str())
                        .bind(record.group.group.as_str())
                        .bind(micros(record.joined_at))
                        .bind(i64::from(record.welcome_pending))
                        .bind(record.welcomed_at.map(micros))
                        .bind(to_json(record, "join")?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    AdmissionWrite::Welcomed { group, ids, at } => {
                        for id in ids {
                            sqlx::query(
                                "UPDATE join_log SET welcome_pending = 0, welcomed_at = $1 \
                                 WHERE id = $2 AND connector = $3 AND group_id = $4 AND welcome_pending = 1",
                            )
                            .bind(micros(*at))
                            .bind(id)
                            .bind(group.connector.as_str())
                            .bind(group.group.as_str())
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                        }
                    }
                    AdmissionWrite::Guard(guard) => {
                        sqlx::query(
                            "INSERT INTO group_guards (connector, group_id, body) VALUES ($1, $2, $3) \
                             ON CONFLICT (connector, group_id) DO UPDATE SET body = excluded.body",
                        )
                        .bind(guard.group.connector.as_str())
                        .bind(guard.group.group.as_str())
                        .bind(to_json(guard, "group guard")?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    AdmissionWrite::EndGuard { group, .. } => {
                        sqlx::query("DELETE FROM group_guards WHERE connector = $1 AND group_id = $2")
                            .bind(group.connector.as_str())
                            .bind(group.group.as_str())
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                    }
                }
                Ok(())
            }

            pub(crate) async fn request(pool: &Pool, group: &GroupKey, request_id: &str) -> StoreResult<Option<JoinRequestRecord>> {
                let row = sqlx::query(
                    "SELECT status, body FROM join_requests WHERE connector = $1 AND group_id = $2 AND request_id = $3",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(request_id)
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                row.map(|row| {
                    let status: String = row.try_get("status").map_err(backend)?;
                    let body: String = row.try_get("body").map_err(backend)?;
                    super::request(&body, &status)
                })
                .transpose()
            }

            pub(crate) async fn requests(pool: &Pool, status: Option<JoinRequestStatus>, limit: u32) -> StoreResult<Vec<JoinRequestRecord>> {
                let rows = sqlx::query(
                    "SELECT status, body FROM join_requests WHERE ($1 IS NULL OR status = $1) \
                     ORDER BY updated_at DESC, connector, group_id, request_id LIMIT $2",
                )
                .bind(status.map(JoinRequestStatus::name))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let status: String = row.try_get("status").map_err(backend)?;
                        let body: String = row.try_get("body").map_err(backend)?;
                        super::request(&body, &status)
                    })
                    .collect()
            }

            pub(crate) async fn pending_welcomes(pool: &Pool, group: &GroupKey) -> StoreResult<Vec<WelcomeJoin>> {
                let rows = sqlx::query(
                    "SELECT welcome_pending, welcomed_at, body FROM join_log \
                     WHERE connector = $1 AND group_id = $2 AND welcome_pending = 1 ORDER BY joined_at, id",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let body: String = row.try_get("body").map_err(backend)?;
                        super::join(&body, row.try_get("welcome_pending").map_err(backend)?, row.try_get("welcomed_at").map_err(backend)?)
                    })
                    .collect()
            }

            pub(crate) async fn due_welcomes(pool: &Pool, limit: u32) -> StoreResult<Vec<(GroupKey, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT connector, group_id, MIN(joined_at) AS first_at FROM join_log WHERE welcome_pending = 1 \
                     GROUP BY connector, group_id ORDER BY first_at, connector, group_id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let connector: String = row.try_get("connector").map_err(backend)?;
                        let group: String = row.try_get("group_id").map_err(backend)?;
                        let first: i64 = row.try_get("first_at").map_err(backend)?;
                        Ok((GroupKey::new(connector, group), from_micros(first, "join_log joined_at")?))
                    })
                    .collect()
            }

            pub(crate) async fn count_joins(pool: &Pool, group: &GroupKey, since: DateTime<Utc>) -> StoreResult<u32> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM join_log WHERE connector = $1 AND group_id = $2 AND joined_at >= $3",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(micros(since))
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                u32::try_from(count).map_err(|_| StoreError::Corrupt(format!("join count {count} is out of range")))
            }

            pub(crate) async fn guard(pool: &Pool, group: &GroupKey) -> StoreResult<Option<GuardRecord>> {
                let body: Option<String> = sqlx::query_scalar("SELECT body FROM group_guards WHERE connector = $1 AND group_id = $2")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                body.map(|body| super::guard(&body)).transpose()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
