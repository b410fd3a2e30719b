//! Scheduled posts — SQL written once for both backends.
//!
//! The table (migration `0005_schedules`) keeps times as BIGINT microseconds and the paused
//! flag as BIGINT in SQLite and PostgreSQL alike, so each query below is one text; the
//! [`queries!`] macro instantiates the functions for each backend. The backends' `Store`
//! impls open the transaction, delegate here and add the audit row
//! ([`qunzhu_core::schedule::change_audit`]).

use chrono::{DateTime, Utc};
use qunzhu_core::schedule::{Schedule, ScheduleDef, ScheduleId};
use qunzhu_core::StoreResult;
use serde::{Deserialize, Serialize};

use crate::common::{from_json, from_micros, to_json};

/// The `body` column: what no query filters on.
#[derive(Serialize, Deserialize)]
struct Body {
    def: ScheduleDef,
    updated_by: String,
}

fn body(def: &ScheduleDef, by: &str) -> StoreResult<String> {
    to_json(&Body { def: def.clone(), updated_by: by.to_owned() }, "schedule")
}

fn optional_time(value: Option<i64>, what: &str) -> StoreResult<Option<DateTime<Utc>>> {
    value.map(|v| from_micros(v, what)).transpose()
}

#[allow(clippy::too_many_arguments)]
fn schedule(
    id: i64,
    paused: i64,
    next_run: Option<i64>,
    last_run: Option<i64>,
    created_at: i64,
    updated_at: i64,
    body: &str,
) -> StoreResult<Schedule> {
    let Body { def, updated_by } = from_json(body, "schedule")?;
    Ok(Schedule {
        id: ScheduleId(id),
        def,
        paused: paused != 0,
        next_run: optional_time(next_run, "schedule next_run")?,
        last_run: optional_time(last_run, "schedule last_run")?,
        created_at: from_micros(created_at, "schedule created_at")?,
        updated_at: from_micros(updated_at, "schedule updated_at")?,
        updated_by,
    })
}

const COLUMNS: &str = "id, paused, next_run, last_run, created_at, updated_at, body";

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use qunzhu_core::schedule::{NewSchedule, Schedule, ScheduleId, ScheduleRun, ScheduleUpdate};
            use qunzhu_core::{StoreError, StoreResult};

            use super::*;
            use crate::common::{backend, micros};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn from_row(row: &DbRow) -> StoreResult<Schedule> {
                let body: String = row.try_get("body").map_err(backend)?;
                super::schedule(
                    row.try_get("id").map_err(backend)?,
                    row.try_get("paused").map_err(backend)?,
                    row.try_get("next_run").map_err(backend)?,
                    row.try_get("last_run").map_err(backend)?,
                    row.try_get("created_at").map_err(backend)?,
                    row.try_get("updated_at").map_err(backend)?,
                    &body,
                )
            }

            async fn get_on(conn: &mut Conn, id: ScheduleId) -> StoreResult<Option<Schedule>> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(from_row).transpose()
            }

            /// Inserts a schedule in the caller's transaction; the database numbers it.
            pub(crate) async fn insert(conn: &mut Conn, new: &NewSchedule) -> StoreResult<Schedule> {
                let row = sqlx::query(&format!(
                    "INSERT INTO schedules (paused, next_run, last_run, created_at, updated_at, body) \
                     VALUES ($1, $2, NULL, $3, $3, $4) RETURNING {COLUMNS}"
                ))
                .bind(i64::from(new.paused))
                .bind(new.next_run.map(micros))
                .bind(micros(new.at))
                .bind(body(&new.def, &new.by)?)
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?;
                from_row(&row)
            }

            /// Replaces definition, paused flag and next run in the caller's transaction.
            pub(crate) async fn update(conn: &mut Conn, id: ScheduleId, update: &ScheduleUpdate) -> StoreResult<Schedule> {
                let row = sqlx::query(&format!(
                    "UPDATE schedules SET paused = $2, next_run = $3, updated_at = $4, body = $5 WHERE id = $1 RETURNING {COLUMNS}"
                ))
                .bind(id.0)
                .bind(i64::from(update.paused))
                .bind(update.next_run.map(micros))
                .bind(micros(update.at))
                .bind(body(&update.def, &update.by)?)
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?;
                row.as_ref().map(from_row).transpose()?.ok_or_else(|| StoreError::NotFound(format!("schedule {id}")))
            }

            /// Deletes in the caller's transaction and returns the schedule as it was.
            pub(crate) async fn delete(conn: &mut Conn, id: ScheduleId) -> StoreResult<Schedule> {
                let schedule = get_on(&mut *conn, id).await?.ok_or_else(|| StoreError::NotFound(format!("schedule {id}")))?;
                sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id.0).execute(&mut *conn).await.map_err(backend)?;
                Ok(schedule)
            }

            /// Moves `last_run` / `next_run` in the caller's transaction, only while the
            /// stored next run is still the expected one (one UPDATE, so two schedulers
            /// cannot both apply it); whether it applied.
            pub(crate) async fn record_run(conn: &mut Conn, id: ScheduleId, run: &ScheduleRun) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE schedules SET last_run = COALESCE($2, last_run), next_run = $3 WHERE id = $1 AND next_run = $4",
                )
                .bind(id.0)
                .bind(run.ran.map(micros))
                .bind(run.next_run.map(micros))
                .bind(micros(run.expected))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn get(pool: &Pool, id: ScheduleId) -> StoreResult<Option<Schedule>> {
                let mut conn = pool.acquire().await.map_err(backend)?;
                get_on(&mut conn, id).await
            }

            pub(crate) async fn list(pool: &Pool) -> StoreResult<Vec<Schedule>> {
                let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules ORDER BY id"))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(from_row).collect()
            }

            pub(crate) async fn due(pool: &Pool, until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Schedule>> {
                let rows = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM schedules WHERE paused = 0 AND next_run IS NOT NULL AND next_run <= $1 \
                     ORDER BY next_run, id LIMIT $2"
                ))
                .bind(micros(until))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(from_row).collect()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
