//! Lotteries (抽奖) — SQL written once for both backends.
//!
//! The tables (migration `0006_signups_lotteries`) keep times as BIGINT microseconds in
//! SQLite and PostgreSQL alike; [`queries!`] instantiates the functions for each backend. A
//! lottery's JSON `body` holds its definition; `status` and the JSON `draw` record win over
//! it.
//!
//! An entry and the draw cannot pass each other: both change the lottery's row (`entries`
//! counts the entries; the draw requires the count it read and status `open`). On SQLite the
//! write transactions are serialised; on PostgreSQL the second UPDATE waits for the first's
//! row lock and re-checks its WHERE clause against the committed row, so whichever comes
//! second is refused with a conflict and its event judged again.

use qunzhu_core::lottery::{DrawRecord, Lottery, LotteryEntry, LotteryStatus, MessageCount};
use qunzhu_core::{ConnectorId, GroupId, GroupKey, MemberId, StoreError, StoreResult};

use crate::common::{from_json, from_micros, name_from_db};

const LOTTERY_COLUMNS: &str = "id, status, body, draw";
const ENTRY_COLUMNS: &str = "lottery_id, connector, member_id, group_id, name, entered_at";
const COUNT_COLUMNS: &str = "lottery_id, connector, member_id, group_id, name, messages";

fn lottery(body: &str, status: &str, draw: Option<String>) -> StoreResult<Lottery> {
    let mut lottery: Lottery = from_json(body, "lottery")?;
    lottery.status = LotteryStatus::from_name(status)
        .ok_or_else(|| StoreError::Corrupt(format!("lottery status: unknown value {status:?}")))?;
    lottery.draw = draw.map(|d| from_json::<DrawRecord>(&d, "lottery draw")).transpose()?;
    Ok(lottery)
}

fn entry(
    lottery: String,
    connector: String,
    member: String,
    group: String,
    name: Option<String>,
    entered_at: i64,
) -> StoreResult<LotteryEntry> {
    let connector = ConnectorId::new(connector);
    Ok(LotteryEntry {
        lottery,
        group: GroupKey { connector: connector.clone(), group: GroupId::new(group) },
        connector,
        member: MemberId::new(member),
        name: name_from_db(name)?,
        entered_at: from_micros(entered_at, "lottery entry entered_at")?,
    })
}

fn count(lottery: String, connector: String, member: String, group: String, name: Option<String>, messages: i64) -> StoreResult<MessageCount> {
    let connector = ConnectorId::new(connector);
    Ok(MessageCount {
        lottery,
        group: GroupKey { connector: connector.clone(), group: GroupId::new(group) },
        connector,
        member: MemberId::new(member),
        name: name_from_db(name)?,
        messages: u32::try_from(messages)
            .map_err(|_| StoreError::Corrupt(format!("lottery message count: {messages} is out of range")))?,
    })
}

fn drawn(id: &str) -> StoreError {
    StoreError::Conflict(format!("lottery {id} is already drawn"))
}

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use qunzhu_core::lottery::{Lottery, LotteryEntry, LotteryStatus, LotteryWrite, MessageCount};
            use qunzhu_core::{ConnectorId, GroupKey, MemberId, StoreError, StoreResult};

            use super::*;
            use crate::common::{backend, micros, name_to_db, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn lottery_from_row(row: &DbRow) -> StoreResult<Lottery> {
                let body: String = row.try_get("body").map_err(backend)?;
                let status: String = row.try_get("status").map_err(backend)?;
                super::lottery(&body, &status, row.try_get("draw").map_err(backend)?)
            }

            fn entry_from_row(row: &DbRow) -> StoreResult<LotteryEntry> {
                super::entry(
                    row.try_get("lottery_id").map_err(backend)?,
                    row.try_get("connector").map_err(backend)?,
                    row.try_get("member_id").map_err(backend)?,
                    row.try_get("group_id").map_err(backend)?,
                    row.try_get("name").map_err(backend)?,
                    row.try_get("entered_at").map_err(backend)?,
                )
            }

            fn count_from_row(row: &DbRow) -> StoreResult<MessageCount> {
                super::count(
                    row.try_get("lottery_id").map_err(backend)?,
                    row.try_get("connector").map_err(backend)?,
                    row.try_get("member_id").map_err(backend)?,
                    row.try_get("group_id").map_err(backend)?,
                    row.try_get("name").map_err(backend)?,
                    row.try_get("messages").map_err(backend)?,
                )
            }

            /// `NotFound` for an unknown lottery, `Conflict` for a drawn one.
            async fn require_open(conn: &mut Conn, id: &str) -> StoreResult<()> {
                let status: Option<String> = sqlx::query_scalar("SELECT status FROM lotteries WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                match status.as_deref() {
                    None => Err(StoreError::NotFound(format!("lottery {id}"))),
                    Some("open") => Ok(()),
                    Some(_) => Err(super::drawn(id)),
                }
            }

            /// Stores an entry unless the member already has one; `true` when it was new.
            async fn insert_entry(conn: &mut Conn, entry: &LotteryEntry) -> StoreResult<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO lottery_entries (lottery_id, connector, member_id, group_id, name, entered_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (lottery_id, connector, member_id) DO NOTHING",
                )
                .bind(&entry.lottery)
                .bind(entry.connector.as_str())
                .bind(entry.member.as_str())
                .bind(entry.group.group.as_str())
                .bind(name_to_db(entry.name.as_deref())?)
                .bind(micros(entry.entered_at))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(inserted.rows_affected() == 1)
            }

            /// Applies one write inside the commit's transaction (see [`LotteryWrite`]).
            pub(crate) async fn apply(conn: &mut Conn, write: &LotteryWrite) -> StoreResult<()> {
                match write {
                    LotteryWrite::Create(lottery) => create(conn, lottery).await,
                    LotteryWrite::Enter(entry) => {
                        if !insert_entry(&mut *conn, entry).await? {
                            return require_open(&mut *conn, &entry.lottery).await;
                        }
                        let counted = sqlx::query("UPDATE lotteries SET entries = entries + 1 WHERE id = $1 AND status = 'open'")
                            .bind(&entry.lottery)
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                        if counted.rows_affected() == 0 {
                            // Drawn (or unknown): the caller's transaction rolls the entry back.
                            require_open(&mut *conn, &entry.lottery).await?;
                        }
                        Ok(())
                    }
                    LotteryWrite::CountMessage { lottery, group, member, name } => {
                        sqlx::query(
                            "INSERT INTO lottery_counts (lottery_id, connector, member_id, group_id, name, messages) \
                             SELECT $1, $2, $3, $4, $5, 1 WHERE EXISTS (SELECT 1 FROM lotteries WHERE id = $1 AND status = 'open') \
                             ON CONFLICT (lottery_id, connector, member_id) DO UPDATE SET \
                             messages = lottery_counts.messages + 1, group_id = excluded.group_id, \
                             name = COALESCE(excluded.name, lottery_counts.name)",
                        )
                        .bind(lottery)
                        .bind(group.connector.as_str())
                        .bind(member.as_str())
                        .bind(group.group.as_str())
                        .bind(name_to_db(name.as_deref())?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    }
                    LotteryWrite::Draw { lottery, record, keyword_entries, added } => {
                        let keyword_entries = i64::try_from(*keyword_entries)
                            .map_err(|_| StoreError::Conflict(format!("lottery {lottery}: entry count out of range")))?;
                        let done = sqlx::query(
                            "UPDATE lotteries SET status = 'drawn', draw = $2 WHERE id = $1 AND status = 'open' AND entries = $3",
                        )
                        .bind(lottery)
                        .bind(to_json(record, "lottery draw")?)
                        .bind(keyword_entries)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        if done.rows_affected() == 0 {
                            require_open(&mut *conn, lottery).await?;
                            return Err(StoreError::Conflict(format!(
                                "lottery {lottery} gained entries after the draw read {keyword_entries}"
                            )));
                        }
                        for entry in added {
                            insert_entry(&mut *conn, entry).await?;
                        }
                        sqlx::query(
                            "UPDATE lotteries SET entries = (SELECT COUNT(*) FROM lottery_entries WHERE lottery_id = $1) WHERE id = $1",
                        )
                        .bind(lottery)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    }
                }
            }

            async fn create(conn: &mut Conn, lottery: &Lottery) -> StoreResult<()> {
                let mut body = lottery.clone();
                body.draw = None;
                let inserted = sqlx::query(
                    "INSERT INTO lotteries (id, status, draw_at, created_at, entries, body, draw) \
                     VALUES ($1, $2, $3, $4, 0, $5, $6) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&lottery.id)
                .bind(lottery.status.name())
                .bind(micros(lottery.draw_at))
                .bind(micros(lottery.created_at))
                .bind(to_json(&body, "lottery")?)
                .bind(lottery.draw.as_ref().map(|d| to_json(d, "lottery draw")).transpose()?)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                if inserted.rows_affected() == 0 {
                    return Ok(());
                }
                for group in &lottery.groups {
                    sqlx::query(
                        "INSERT INTO lottery_groups (lottery_id, connector, group_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (lottery_id, connector, group_id) DO NOTHING",
                    )
                    .bind(&lottery.id)
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                }
                Ok(())
            }

            pub(crate) async fn get(pool: &Pool, id: &str) -> StoreResult<Option<Lottery>> {
                let row = sqlx::query(&format!("SELECT {LOTTERY_COLUMNS} FROM lotteries WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(lottery_from_row).transpose()
            }

            pub(crate) async fn list(pool: &Pool, status: Option<LotteryStatus>, limit: u32) -> StoreResult<Vec<Lottery>> {
                let rows = sqlx::query(&format!(
                    "SELECT {LOTTERY_COLUMNS} FROM lotteries WHERE ($1 IS NULL OR status = $1) ORDER BY seq DESC LIMIT $2"
                ))
                .bind(status.map(|s| s.name()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(lottery_from_row).collect()
            }

            pub(crate) async fn open_in(pool: &Pool, group: &GroupKey) -> StoreResult<Vec<Lottery>> {
                let rows = sqlx::query(
                    "SELECT l.id, l.status, l.body, l.draw FROM lotteries l \
                     JOIN lottery_groups g ON g.lottery_id = l.id \
                     WHERE g.connector = $1 AND g.group_id = $2 AND l.status = 'open' ORDER BY l.seq",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(lottery_from_row).collect()
            }

            pub(crate) async fn entries(pool: &Pool, id: &str) -> StoreResult<Vec<LotteryEntry>> {
                let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM lottery_entries WHERE lottery_id = $1 ORDER BY seq"))
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(entry_from_row).collect()
            }

            pub(crate) async fn entry(pool: &Pool, id: &str, connector: &ConnectorId, member: &MemberId) -> StoreResult<Option<LotteryEntry>> {
                let row = sqlx::query(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM lottery_entries WHERE lottery_id = $1 AND connector = $2 AND member_id = $3"
                ))
                .bind(id)
                .bind(connector.as_str())
                .bind(member.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(entry_from_row).transpose()
            }

            pub(crate) async fn message_count(pool: &Pool, id: &str, connector: &ConnectorId, member: &MemberId) -> StoreResult<u32> {
                let messages: Option<i64> = sqlx::query_scalar(
                    "SELECT messages FROM lottery_counts WHERE lottery_id = $1 AND connector = $2 AND member_id = $3",
                )
                .bind(id)
                .bind(connector.as_str())
                .bind(member.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                let messages = messages.unwrap_or(0);
                u32::try_from(messages).map_err(|_| StoreError::Corrupt(format!("lottery message count: {messages} is out of range")))
            }

            pub(crate) async fn message_counts(pool: &Pool, id: &str, at_least: u32) -> StoreResult<Vec<MessageCount>> {
                let rows = sqlx::query(&format!(
                    "SELECT {COUNT_COLUMNS} FROM lottery_counts WHERE lottery_id = $1 AND messages >= $2"
                ))
                .bind(id)
                .bind(i64::from(at_least))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(count_from_row).collect()
            }

            pub(crate) async fn due(pool: &Pool, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lottery>> {
                let rows = sqlx::query(&format!(
                    "SELECT {LOTTERY_COLUMNS} FROM lotteries WHERE status = 'open' AND draw_at <= $1 ORDER BY draw_at, seq LIMIT $2"
                ))
                .bind(micros(now))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(lottery_from_row).collect()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
