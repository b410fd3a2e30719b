//! The last life stage per group, and the care lines' baseline counts (migration
//! `0017_life_stage`), SQL written once for both backends ([`queries!`] instantiates it for
//! SQLite and PostgreSQL).

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use qunzhu_core::insight::{bucket_day, day_bucket};
            use qunzhu_core::life_stage::StageRecord;
            use qunzhu_core::{GroupKey, StoreResult};

            use crate::common::{backend, from_micros, micros};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            /// Replaces the group's record inside the commit's transaction.
            pub(crate) async fn apply(conn: &mut Conn, record: &StageRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO group_life_stages (connector, group_id, stage, checked_on, since) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (connector, group_id) DO UPDATE SET stage = excluded.stage, \
                     checked_on = excluded.checked_on, since = excluded.since",
                )
                .bind(record.group.connector.as_str())
                .bind(record.group.group.as_str())
                .bind(&record.stage)
                .bind(day_bucket(record.checked_on))
                .bind(micros(record.since))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn record(pool: &Pool, group: &GroupKey) -> StoreResult<Option<StageRecord>> {
                let row = sqlx::query("SELECT stage, checked_on, since FROM group_life_stages WHERE connector = $1 AND group_id = $2")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(StageRecord {
                    group: group.clone(),
                    stage: row.try_get("stage").map_err(backend)?,
                    checked_on: bucket_day(row.try_get("checked_on").map_err(backend)?),
                    since: from_micros(row.try_get("since").map_err(backend)?, "group_life_stages.since")?,
                }))
            }

            /// The group's care lines in `[since, until)`: all, and the negative ones.
            pub(crate) async fn care_line_counts(pool: &Pool, group: &GroupKey, since: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<(u64, u64)> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS lines, COUNT(CASE WHEN negative = 1 THEN 1 END) AS negatives FROM care_lines \
                     WHERE connector = $1 AND group_id = $2 AND at >= $3 AND at < $4",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(micros(since))
                .bind(micros(until))
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                let lines: i64 = row.try_get("lines").map_err(backend)?;
                let negatives: i64 = row.try_get("negatives").map_err(backend)?;
                Ok((lines.max(0).unsigned_abs(), negatives.max(0).unsigned_abs()))
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
