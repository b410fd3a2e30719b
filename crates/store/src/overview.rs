//! Batched reads for the dashboard's overview of every group — one query per figure for the
//! whole page, never one per group. SQL written once for both backends (the tables read are
//! `insight_rollups`, whose SQL is identical in both, and `members`).

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use sqlx::Row;

            use qunzhu_core::insight::{Counts, Granularity, Rollup};
            use qunzhu_core::{ConnectorId, GroupId, GroupKey, StoreError, StoreResult};

            use crate::common::backend;

            type Pool = sqlx::Pool<$db>;

            fn key(row: &<$db as sqlx::Database>::Row) -> StoreResult<GroupKey> {
                let connector: String = row.try_get("connector").map_err(backend)?;
                let group: String = row.try_get("group_id").map_err(backend)?;
                Ok(GroupKey::new(ConnectorId::new(connector), GroupId::new(group)))
            }

            /// The groups' own day rows (member `''`) with a bucket in `[from, until)`.
            pub(crate) async fn group_days(pool: &Pool, from: i64, until: i64) -> StoreResult<Vec<Rollup>> {
                let rows = sqlx::query(
                    "SELECT connector, group_id, bucket, messages, joins, leaves, check_ins, violations, questions, answers \
                     FROM insight_rollups WHERE granularity = 'day' AND member_id = '' AND bucket >= $1 AND bucket < $2 \
                     ORDER BY connector, group_id, bucket",
                )
                .bind(from)
                .bind(until)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        Ok(Rollup {
                            group: key(row)?,
                            member: None,
                            granularity: Granularity::Day,
                            bucket: row.try_get("bucket").map_err(backend)?,
                            counts: Counts {
                                messages: row.try_get("messages").map_err(backend)?,
                                joins: row.try_get("joins").map_err(backend)?,
                                leaves: row.try_get("leaves").map_err(backend)?,
                                check_ins: row.try_get("check_ins").map_err(backend)?,
                                violations: row.try_get("violations").map_err(backend)?,
                                questions: row.try_get("questions").map_err(backend)?,
                                answers: row.try_get("answers").map_err(backend)?,
                            },
                        })
                    })
                    .collect()
            }

            /// Each group's first day bucket with a rollup row.
            pub(crate) async fn first_days(pool: &Pool) -> StoreResult<Vec<(GroupKey, i64)>> {
                let rows = sqlx::query(
                    "SELECT connector, group_id, MIN(bucket) AS first FROM insight_rollups \
                     WHERE granularity = 'day' AND member_id = '' GROUP BY connector, group_id ORDER BY connector, group_id",
                )
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| Ok((key(row)?, row.try_get::<i64, _>("first").map_err(backend)?))).collect()
            }

            /// Members in each group now (no `left_at`).
            pub(crate) async fn member_counts(pool: &Pool) -> StoreResult<Vec<(GroupKey, u32)>> {
                let rows = sqlx::query(
                    "SELECT connector, group_id, COUNT(*) AS n FROM members WHERE left_at IS NULL \
                     GROUP BY connector, group_id ORDER BY connector, group_id",
                )
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let n: i64 = row.try_get("n").map_err(backend)?;
                        let n = u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("member count {n} is out of range")))?;
                        Ok((key(row)?, n))
                    })
                    .collect()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
