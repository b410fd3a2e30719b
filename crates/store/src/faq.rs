//! Auto-reply (FAQ) state on both backends, the SQL written once in a macro instantiated for
//! SQLite and PostgreSQL: hit counts per (template, entry, group, local day) and each
//! entry's last answer per member (its cooldowns). Times are BIGINT microseconds, days
//! `YYYY-MM-DD` text (their order is date order). Tables from migration 0004.

use chrono::NaiveDate;
use qunzhu_core::faq::{FaqHitCount, FaqStatsFilter};
use qunzhu_core::{GroupKey, StoreError, StoreResult};

use crate::common::from_micros;

/// Day format in the `day` column.
const DAY: &str = "%Y-%m-%d";

fn day_to_db(day: NaiveDate) -> String {
    day.format(DAY).to_string()
}

fn day_from_db(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, DAY).map_err(|e| StoreError::Corrupt(format!("faq day {text:?}: {e}")))
}

fn hits_from_db(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("faq hits: {value} is out of range")))
}

/// The WHERE clause of a stats query (`$1`… in filter order) and the values to bind.
fn stats_where(filter: &FaqStatsFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    let mut add = |clause: &str, value: String| {
        values.push(value);
        clauses.push(format!("{clause} ${}", values.len()));
    };
    if let Some(group) = &filter.group {
        add("connector =", group.connector.to_string());
        add("group_id =", group.group.to_string());
    }
    if let Some(template) = &filter.template {
        add("template =", template.clone());
    }
    if let Some(entry) = &filter.entry {
        add("entry =", entry.clone());
    }
    if let Some(from) = filter.from {
        add("day >=", day_to_db(from));
    }
    if let Some(to) = filter.to {
        add("day <=", day_to_db(to));
    }
    let sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    (sql, values)
}

fn hit_count(
    template: String,
    entry: String,
    (connector, group): (String, String),
    day: &str,
    hits: i64,
    last_at: i64,
) -> StoreResult<FaqHitCount> {
    Ok(FaqHitCount {
        template,
        entry,
        group: GroupKey::new(connector, group),
        day: day_from_db(day)?,
        hits: hits_from_db(hits)?,
        last_at: from_micros(last_at, "faq last_at")?,
    })
}

macro_rules! faq_backend {
    ($module:ident, $db:ty) => {
        pub(crate) mod $module {
            use sqlx::{Pool, Row};

            use qunzhu_core::faq::{FaqAnswer, FaqHitCount, FaqLastAnswers, FaqStatsFilter};
            use qunzhu_core::{GroupKey, MemberId, StoreResult};

            use super::{day_to_db, hit_count, stats_where};
            use crate::common::{backend, from_micros, micros};

            pub(crate) async fn last_answers(
                pool: &Pool<$db>,
                group: &GroupKey,
                entry: &str,
                member: &MemberId,
            ) -> StoreResult<FaqLastAnswers> {
                let row = sqlx::query(
                    "SELECT MAX(last_at) AS in_group, \
                            MAX(CASE WHEN member_id = $4 THEN last_at END) AS to_member \
                     FROM faq_last_answers WHERE connector = $1 AND group_id = $2 AND entry = $3",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(entry)
                .bind(member.as_str())
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                let time = |column: &str| -> StoreResult<_> {
                    row.try_get::<Option<i64>, _>(column)
                        .map_err(backend)?
                        .map(|v| from_micros(v, "faq last answer"))
                        .transpose()
                };
                Ok(FaqLastAnswers { in_group: time("in_group")?, to_member: time("to_member")? })
            }

            /// Applies a [`FaqAnswer`] inside a commit; skipped when its id is already the
            /// member's last answer for the entry (a re-run of the same event).
            pub(crate) async fn record_answer(conn: &mut <$db as sqlx::Database>::Connection, answer: &FaqAnswer) -> StoreResult<()> {
                let last: Option<String> = sqlx::query_scalar(
                    "SELECT last_id FROM faq_last_answers WHERE connector = $1 AND group_id = $2 AND entry = $3 AND member_id = $4",
                )
                .bind(answer.group.connector.as_str())
                .bind(answer.group.group.as_str())
                .bind(&answer.entry)
                .bind(answer.member.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?;
                if last.as_deref() == Some(answer.id.as_str()) {
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO faq_hits (template, entry, connector, group_id, day, hits, last_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6) \
                     ON CONFLICT (template, entry, connector, group_id, day) \
                     DO UPDATE SET hits = faq_hits.hits + 1, last_at = excluded.last_at",
                )
                .bind(&answer.template)
                .bind(&answer.entry)
                .bind(answer.group.connector.as_str())
                .bind(answer.group.group.as_str())
                .bind(day_to_db(answer.day))
                .bind(micros(answer.at))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                sqlx::query(
                    "INSERT INTO faq_last_answers (connector, group_id, entry, member_id, last_id, last_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (connector, group_id, entry, member_id) \
                     DO UPDATE SET last_id = excluded.last_id, last_at = excluded.last_at",
                )
                .bind(answer.group.connector.as_str())
                .bind(answer.group.group.as_str())
                .bind(&answer.entry)
                .bind(answer.member.as_str())
                .bind(&answer.id)
                .bind(micros(answer.at))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn stats(pool: &Pool<$db>, filter: &FaqStatsFilter, limit: u32) -> StoreResult<Vec<FaqHitCount>> {
                let (clause, values) = stats_where(filter);
                let sql = format!(
                    "SELECT template, entry, connector, group_id, day, hits, last_at FROM faq_hits {clause} \
                     ORDER BY day DESC, template, entry, connector, group_id LIMIT ${}",
                    values.len() + 1
                );
                let mut query = sqlx::query(&sql);
                for value in &values {
                    query = query.bind(value.as_str());
                }
                let rows = query.bind(i64::from(limit)).fetch_all(pool).await.map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let text = |column: &str| row.try_get::<String, _>(column).map_err(backend);
                        let int = |column: &str| row.try_get::<i64, _>(column).map_err(backend);
                        hit_count(
                            text("template")?,
                            text("entry")?,
                            (text("connector")?, text("group_id")?),
                            &text("day")?,
                            int("hits")?,
                            int("last_at")?,
                        )
                    })
                    .collect()
            }
        }
    };
}

faq_backend!(sqlite, sqlx::Sqlite);
faq_backend!(postgres, sqlx::Postgres);
