//! Insight rollups, remembered questions, conversions and daily digests — SQL written once for
//! both backends (migration `0015_insight`: times as BIGINT microseconds in both, so each
//! query is one text; [`queries!`] instantiates them for SQLite and PostgreSQL).
//!
//! A tally adds its counts with `INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n` to the
//! hour and day rows of its member and of its group (member `''`), after claiming its id in
//! `insight_tallies` (a claimed id skips the tally: a re-run counts nothing twice).

macro_rules! queries {
    ($backend:ident, $db:ty, $processed:literal) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, NaiveDate, Utc};
            use sqlx::{Row, Transaction};

            use qunzhu_core::insight::{
                Conversion, Counts, DigestRecord, Granularity, InsightWrite, Rollup, Tally, day_bucket, hour_bucket,
            };
            use qunzhu_core::{ConnectorId, Event, GroupId, GroupKey, MemberId, MessageId, StoreError, StoreResult};

            use crate::common::{backend, from_json, from_micros, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COUNT_COLUMNS: &str = "connector, group_id, granularity, bucket, member_id, messages, joins, leaves, \
                                         check_ins, violations, questions, answers";

            /// Applies one insight write inside the commit's transaction.
            pub(crate) async fn apply(conn: &mut Conn, write: &InsightWrite) -> StoreResult<()> {
                match write {
                    InsightWrite::Tally(tally) => apply_tally(conn, tally).await,
                }
            }

            async fn apply_tally(conn: &mut Conn, tally: &Tally) -> StoreResult<()> {
                let claimed = sqlx::query("INSERT INTO insight_tallies (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
                    .bind(&tally.id)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                if claimed.rows_affected() == 0 {
                    return Ok(());
                }
                let member = tally.member.as_ref().map(|m| m.as_str().to_owned());
                let buckets = [(Granularity::Hour, hour_bucket(tally.at)), (Granularity::Day, day_bucket(tally.day))];
                for (granularity, bucket) in buckets {
                    let mut rows = vec![String::new()];
                    rows.extend(member.clone());
                    for who in rows {
                        let c = &tally.counts;
                        sqlx::query(
                            "INSERT INTO insight_rollups (connector, group_id, granularity, bucket, member_id, messages, joins, \
                             leaves, check_ins, violations, questions, answers) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                             ON CONFLICT (connector, group_id, granularity, bucket, member_id) DO UPDATE SET \
                             messages = insight_rollups.messages + excluded.messages, \
                             joins = insight_rollups.joins + excluded.joins, \
                             leaves = insight_rollups.leaves + excluded.leaves, \
                             check_ins = insight_rollups.check_ins + excluded.check_ins, \
                             violations = insight_rollups.violations + excluded.violations, \
                             questions = insight_rollups.questions + excluded.questions, \
                             answers = insight_rollups.answers + excluded.answers",
                        )
                        .bind(tally.group.connector.as_str())
                        .bind(tally.group.group.as_str())
                        .bind(granularity.name())
                        .bind(bucket)
                        .bind(who)
                        .bind(c.messages)
                        .bind(c.joins)
                        .bind(c.leaves)
                        .bind(c.check_ins)
                        .bind(c.violations)
                        .bind(c.questions)
                        .bind(c.answers)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                }
                if let (Some(message), Some(asker)) = (&tally.question, &tally.member) {
                    sqlx::query(
                        "INSERT INTO insight_questions (connector, group_id, message_id, asker, at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (connector, group_id, message_id) DO NOTHING",
                    )
                    .bind(tally.group.connector.as_str())
                    .bind(tally.group.group.as_str())
                    .bind(message.as_str())
                    .bind(asker.as_str())
                    .bind(micros(tally.at))
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                }
                Ok(())
            }

            fn rollup_from_row(row: &DbRow) -> StoreResult<Rollup> {
                let connector: String = row.try_get("connector").map_err(backend)?;
                let group: String = row.try_get("group_id").map_err(backend)?;
                let granularity: String = row.try_get("granularity").map_err(backend)?;
                let member: String = row.try_get("member_id").map_err(backend)?;
                Ok(Rollup {
                    group: GroupKey::new(ConnectorId::new(connector), GroupId::new(group)),
                    member: (!member.is_empty()).then(|| MemberId::new(member)),
                    granularity: Granularity::from_name(&granularity)
                        .ok_or_else(|| StoreError::Corrupt(format!("insight granularity: unknown value {granularity:?}")))?,
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
            }

            pub(crate) async fn question_asker(pool: &Pool, group: &GroupKey, message: &MessageId) -> StoreResult<Option<MemberId>> {
                let asker: Option<String> = sqlx::query_scalar(
                    "SELECT asker FROM insight_questions WHERE connector = $1 AND group_id = $2 AND message_id = $3",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(message.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                Ok(asker.map(MemberId::new))
            }

            pub(crate) async fn asked_between(
                pool: &Pool,
                group: &GroupKey,
                member: &MemberId,
                since: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM insight_questions WHERE connector = $1 AND group_id = $2 AND asker = $3 \
                     AND at >= $4 AND at < $5",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(member.as_str())
                .bind(micros(since))
                .bind(micros(until))
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                Ok(n > 0)
            }

            pub(crate) async fn rollups(
                pool: &Pool,
                group: &GroupKey,
                granularity: Granularity,
                from: i64,
                until: i64,
            ) -> StoreResult<Vec<Rollup>> {
                let sql = format!(
                    "SELECT {COUNT_COLUMNS} FROM insight_rollups WHERE connector = $1 AND group_id = $2 AND granularity = $3 \
                     AND bucket >= $4 AND bucket < $5 ORDER BY bucket, member_id"
                );
                let rows = sqlx::query(&sql)
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(granularity.name())
                    .bind(from)
                    .bind(until)
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(rollup_from_row).collect()
            }

            pub(crate) async fn member_days(pool: &Pool, connector: &ConnectorId, member: &MemberId) -> StoreResult<Vec<Rollup>> {
                let sql = format!(
                    "SELECT {COUNT_COLUMNS} FROM insight_rollups WHERE connector = $1 AND member_id = $2 AND granularity = 'day' \
                     ORDER BY group_id, bucket"
                );
                let rows = sqlx::query(&sql)
                    .bind(connector.as_str())
                    .bind(member.as_str())
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(rollup_from_row).collect()
            }

            pub(crate) async fn reset(mut tx: Transaction<'static, $db>) -> StoreResult<()> {
                for table in ["insight_rollups", "insight_tallies", "insight_questions"] {
                    sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await.map_err(backend)?;
                }
                tx.commit().await.map_err(backend)
            }

            pub(crate) async fn processed_events(pool: &Pool, after: i64, limit: u32) -> StoreResult<Vec<(i64, Event)>> {
                let sql = format!("SELECT seq, body FROM events WHERE seq > $1 AND {} ORDER BY seq LIMIT $2", $processed);
                let rows = sqlx::query(&sql).bind(after).bind(i64::from(limit)).fetch_all(pool).await.map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let seq: i64 = row.try_get("seq").map_err(backend)?;
                        let body: String = row.try_get("body").map_err(backend)?;
                        Ok((seq, from_json(&body, "event")?))
                    })
                    .collect()
            }

            pub(crate) async fn record_conversion(pool: &Pool, conversion: &Conversion) -> StoreResult<(Conversion, bool)> {
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM conversions")
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
                let done = sqlx::query("INSERT INTO conversions (id, seq, at, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
                    .bind(&conversion.id)
                    .bind(seq)
                    .bind(micros(conversion.at))
                    .bind(to_json(conversion, "conversion")?)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                if done.rows_affected() > 0 {
                    return Ok((conversion.clone(), true));
                }
                let body: String = sqlx::query_scalar("SELECT body FROM conversions WHERE id = $1")
                    .bind(&conversion.id)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
                Ok((from_json(&body, "conversion")?, false))
            }

            pub(crate) async fn conversions(pool: &Pool) -> StoreResult<Vec<Conversion>> {
                let bodies: Vec<String> =
                    sqlx::query_scalar("SELECT body FROM conversions ORDER BY seq").fetch_all(pool).await.map_err(backend)?;
                bodies.iter().map(|b| from_json(b, "conversion")).collect()
            }

            pub(crate) async fn save_digest(pool: &Pool, digest: &DigestRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO digests (connector, group_id, day, created_at, body, text) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (connector, group_id, day) DO UPDATE SET created_at = excluded.created_at, \
                     body = excluded.body, text = excluded.text",
                )
                .bind(digest.group.connector.as_str())
                .bind(digest.group.group.as_str())
                .bind(digest.day.to_string())
                .bind(micros(digest.created_at))
                .bind(&digest.body)
                .bind(&digest.text)
                .execute(pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            fn digest_from_row(group: &GroupKey, row: &DbRow) -> StoreResult<DigestRecord> {
                let day: String = row.try_get("day").map_err(backend)?;
                Ok(DigestRecord {
                    group: group.clone(),
                    day: day.parse::<NaiveDate>().map_err(|e| StoreError::Corrupt(format!("digest day {day:?}: {e}")))?,
                    created_at: from_micros(row.try_get("created_at").map_err(backend)?, "digest created_at")?,
                    body: row.try_get("body").map_err(backend)?,
                    text: row.try_get("text").map_err(backend)?,
                })
            }

            pub(crate) async fn digest(pool: &Pool, group: &GroupKey, day: NaiveDate) -> StoreResult<Option<DigestRecord>> {
                let row = sqlx::query("SELECT day, created_at, body, text FROM digests WHERE connector = $1 AND group_id = $2 AND day = $3")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(day.to_string())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(|row| digest_from_row(group, row)).transpose()
            }

            pub(crate) async fn digests(pool: &Pool, group: &GroupKey, limit: u32) -> StoreResult<Vec<DigestRecord>> {
                let rows = sqlx::query(
                    "SELECT day, created_at, body, text FROM digests WHERE connector = $1 AND group_id = $2 ORDER BY day DESC LIMIT $3",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| digest_from_row(group, row)).collect()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite, "processed = 1");
queries!(postgres, sqlx::Postgres, "processed");
