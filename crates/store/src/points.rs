//! Points ledger, balances and check-ins — SQL written once for both backends.
//!
//! The tables (migration `0003_points`) keep times as BIGINT microseconds and flags as BIGINT
//! in SQLite and PostgreSQL alike, so each query below is one text; [`queries!`] instantiates
//! the functions for each backend's connection and pool types. The backends' `Store` impls
//! only open the transaction and delegate here.

use chrono::NaiveDate;
use qunzhu_core::points::{CheckIn, LedgerEntry};
use qunzhu_core::{ConnectorId, GroupKey, MemberId, PlatformEventId, StoreError, StoreResult};

use crate::common::{from_json, from_micros};

/// How a day is kept: ISO `YYYY-MM-DD`, so text order is day order.
pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn day_from_text(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(format!("check-in day {text:?}: {e}")))
}

fn to_u32(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what}: {value} is out of range")))
}

fn group_from_text(text: &str) -> StoreResult<GroupKey> {
    GroupKey::parse(text).ok_or_else(|| StoreError::Corrupt(format!("group key {text:?}")))
}

#[allow(clippy::too_many_arguments)]
fn ledger_entry(
    id: String,
    connector: String,
    member: String,
    amount: i64,
    reason: &str,
    rule: String,
    group: Option<String>,
    cause: Option<String>,
    actor: String,
    time: i64,
) -> StoreResult<LedgerEntry> {
    Ok(LedgerEntry {
        id,
        connector: ConnectorId::new(connector),
        member: MemberId::new(member),
        amount,
        reason: from_json(reason, "ledger reason")?,
        rule,
        group: group.as_deref().map(group_from_text).transpose()?,
        cause: cause.map(PlatformEventId::new),
        actor,
        time: from_micros(time, "ledger time")?,
    })
}

fn check_in(group: &str, member: String, day: &str, streak: i64, points: i64, makeup: i64, time: i64) -> StoreResult<CheckIn> {
    Ok(CheckIn {
        group: group_from_text(group)?,
        member: MemberId::new(member),
        day: day_from_text(day)?,
        streak: to_u32(streak, "check-in streak")?,
        points,
        makeup: makeup != 0,
        time: from_micros(time, "check-in time")?,
    })
}

const LEDGER_COLUMNS: &str = "id, connector, member_id, amount, reason, rule, group_key, cause, actor, time";
const CHECK_IN_COLUMNS: &str = "group_key, member_id, day, streak, points, makeup, time";

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, NaiveDate, Utc};
            use sqlx::Row;
            use qunzhu_core::points::{CheckIn, LeaderboardRow, LedgerEntry, PointsBalance};
            use qunzhu_core::{ConnectorId, GroupKey, MemberId, StoreError, StoreResult};

            use super::*;
            use crate::common::{backend, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn ledger_from_row(row: &DbRow) -> StoreResult<LedgerEntry> {
                let reason: String = row.try_get("reason").map_err(backend)?;
                super::ledger_entry(
                    row.try_get("id").map_err(backend)?,
                    row.try_get("connector").map_err(backend)?,
                    row.try_get("member_id").map_err(backend)?,
                    row.try_get("amount").map_err(backend)?,
                    &reason,
                    row.try_get("rule").map_err(backend)?,
                    row.try_get("group_key").map_err(backend)?,
                    row.try_get("cause").map_err(backend)?,
                    row.try_get("actor").map_err(backend)?,
                    row.try_get("time").map_err(backend)?,
                )
            }

            fn check_in_from_row(row: &DbRow) -> StoreResult<CheckIn> {
                let group: String = row.try_get("group_key").map_err(backend)?;
                let day: String = row.try_get("day").map_err(backend)?;
                super::check_in(
                    &group,
                    row.try_get("member_id").map_err(backend)?,
                    &day,
                    row.try_get("streak").map_err(backend)?,
                    row.try_get("points").map_err(backend)?,
                    row.try_get("makeup").map_err(backend)?,
                    row.try_get("time").map_err(backend)?,
                )
            }

            /// Appends a ledger entry and moves the balance with it; `false` (nothing
            /// written) when the id is already there.
            pub(crate) async fn insert_entry(conn: &mut Conn, entry: &LedgerEntry) -> StoreResult<bool> {
                if !insert_row(&mut *conn, entry).await? {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO points_balances (connector, member_id, balance, earned) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connector, member_id) DO UPDATE SET balance = points_balances.balance + excluded.balance, \
                     earned = points_balances.earned + excluded.earned",
                )
                .bind(entry.connector.as_str())
                .bind(entry.member.as_str())
                .bind(entry.amount)
                .bind(entry.amount.max(0))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(true)
            }

            async fn insert_row(conn: &mut Conn, entry: &LedgerEntry) -> StoreResult<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO points_ledger (id, connector, member_id, amount, reason, rule, group_key, cause, actor, time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&entry.id)
                .bind(entry.connector.as_str())
                .bind(entry.member.as_str())
                .bind(entry.amount)
                .bind(to_json(&entry.reason, "ledger reason")?)
                .bind(&entry.rule)
                .bind(entry.group.as_ref().map(ToString::to_string))
                .bind(entry.cause.as_ref().map(|c| c.as_str().to_owned()))
                .bind(&entry.actor)
                .bind(micros(entry.time))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(inserted.rows_affected() == 1)
            }

            /// Appends an entry only if the balance stays at zero or above, inside the
            /// caller's transaction: a debit is one conditional UPDATE, so two concurrent
            /// debits can never both pass on either backend. `Conflict` when the balance does
            /// not cover it or the id is already there (the caller rolls back).
            pub(crate) async fn insert_entry_covered(conn: &mut Conn, entry: &LedgerEntry) -> StoreResult<PointsBalance> {
                if entry.amount >= 0 {
                    if !insert_entry(&mut *conn, entry).await? {
                        return Err(StoreError::Conflict(format!("ledger entry {} exists", entry.id)));
                    }
                } else {
                    let debited = sqlx::query(
                        "UPDATE points_balances SET balance = balance + $3 WHERE connector = $1 AND member_id = $2 AND balance + $3 >= 0",
                    )
                    .bind(entry.connector.as_str())
                    .bind(entry.member.as_str())
                    .bind(entry.amount)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    if debited.rows_affected() == 0 {
                        let have = balance_on(&mut *conn, &entry.connector, &entry.member).await?;
                        return Err(StoreError::Conflict(format!(
                            "insufficient points: balance {}, change {}",
                            have.balance, entry.amount
                        )));
                    }
                    if !insert_row(&mut *conn, entry).await? {
                        return Err(StoreError::Conflict(format!("ledger entry {} exists", entry.id)));
                    }
                }
                balance_on(&mut *conn, &entry.connector, &entry.member).await
            }

            async fn balance_on(conn: &mut Conn, connector: &ConnectorId, member: &MemberId) -> StoreResult<PointsBalance> {
                let row = sqlx::query("SELECT balance, earned FROM points_balances WHERE connector = $1 AND member_id = $2")
                    .bind(connector.as_str())
                    .bind(member.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                Ok(match row {
                    Some(row) => PointsBalance {
                        balance: row.try_get("balance").map_err(backend)?,
                        earned: row.try_get("earned").map_err(backend)?,
                    },
                    None => PointsBalance::default(),
                })
            }

            /// Records a check-in unless that day's is already there.
            pub(crate) async fn insert_check_in(conn: &mut Conn, check_in: &CheckIn) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO check_ins (group_key, member_id, day, streak, points, makeup, time) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (group_key, member_id, day) DO NOTHING",
                )
                .bind(check_in.group.to_string())
                .bind(check_in.member.as_str())
                .bind(day_text(check_in.day))
                .bind(i64::from(check_in.streak))
                .bind(check_in.points)
                .bind(i64::from(check_in.makeup))
                .bind(micros(check_in.time))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn balance(pool: &Pool, connector: &ConnectorId, member: &MemberId) -> StoreResult<PointsBalance> {
                let mut conn = pool.acquire().await.map_err(backend)?;
                balance_on(&mut conn, connector, member).await
            }

            pub(crate) async fn ledger(pool: &Pool, connector: &ConnectorId, member: &MemberId, limit: u32) -> StoreResult<Vec<LedgerEntry>> {
                let rows = sqlx::query(&format!(
                    "SELECT {LEDGER_COLUMNS} FROM points_ledger WHERE connector = $1 AND member_id = $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(connector.as_str())
                .bind(member.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(ledger_from_row).collect()
            }

            pub(crate) async fn by_rule_since(
                pool: &Pool,
                connector: &ConnectorId,
                member: &MemberId,
                rule: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<i64> {
                let sum: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(amount) AS BIGINT) FROM points_ledger WHERE connector = $1 AND member_id = $2 AND rule = $3 AND time >= $4",
                )
                .bind(connector.as_str())
                .bind(member.as_str())
                .bind(rule)
                .bind(micros(since))
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                Ok(sum.unwrap_or(0))
            }

            pub(crate) async fn leaderboard(pool: &Pool, connector: &ConnectorId, limit: u32) -> StoreResult<Vec<LeaderboardRow>> {
                let rows = sqlx::query(
                    "SELECT member_id, balance, earned FROM points_balances WHERE connector = $1 ORDER BY balance DESC, member_id LIMIT $2",
                )
                .bind(connector.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        Ok(LeaderboardRow {
                            member: MemberId::new(row.try_get::<String, _>("member_id").map_err(backend)?),
                            balance: row.try_get("balance").map_err(backend)?,
                            earned: row.try_get("earned").map_err(backend)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn last_check_in(pool: &Pool, group: &GroupKey, member: &MemberId) -> StoreResult<Option<CheckIn>> {
                let row = sqlx::query(&format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE group_key = $1 AND member_id = $2 ORDER BY day DESC LIMIT 1"
                ))
                .bind(group.to_string())
                .bind(member.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(check_in_from_row).transpose()
            }

            pub(crate) async fn check_in_on(pool: &Pool, group: &GroupKey, member: &MemberId, day: NaiveDate) -> StoreResult<Option<CheckIn>> {
                let row = sqlx::query(&format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE group_key = $1 AND member_id = $2 AND day = $3"
                ))
                .bind(group.to_string())
                .bind(member.as_str())
                .bind(day_text(day))
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(check_in_from_row).transpose()
            }

            pub(crate) async fn check_ins_on(pool: &Pool, group: &GroupKey, day: NaiveDate) -> StoreResult<Vec<CheckIn>> {
                let rows = sqlx::query(&format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE group_key = $1 AND day = $2 ORDER BY time, member_id"
                ))
                .bind(group.to_string())
                .bind(day_text(day))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(check_in_from_row).collect()
            }

            pub(crate) async fn count_check_ins(
                pool: &Pool,
                group: &GroupKey,
                member: &MemberId,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<u32> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM check_ins WHERE group_key = $1 AND member_id = $2 AND day >= $3 AND day <= $4",
                )
                .bind(group.to_string())
                .bind(member.as_str())
                .bind(day_text(from))
                .bind(day_text(to))
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                super::to_u32(count, "check-in count")
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
