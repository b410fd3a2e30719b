//! Membership on both backends, the SQL written once in a macro instantiated for SQLite and
//! PostgreSQL: member counts (table `members`, migration 0002), and channels (渠道活码),
//! group pools, the join log, leaves, remembered invite codes and member profiles
//! (migration 0008). The 0008 tables keep times as BIGINT microseconds in both backends;
//! the one difference is how the older `members` table's times are read (INTEGER
//! microseconds in SQLite, TIMESTAMPTZ in PostgreSQL), passed in as `$member_times`.
//!
//! Ordering by text is done in Rust (bytewise), not by the database's collation, so both
//! backends list the same order as the memory store.

use chrono::{DateTime, Utc};
use qunzhu_core::membership::{Channel, ChannelPool, ChannelRef, JoinCount, LeaveReason, PoolGroup};
use qunzhu_core::{JoinScene, StoreError, StoreResult};

use crate::common::{from_json, from_micros};

fn time(value: Option<i64>, what: &str) -> StoreResult<Option<DateTime<Utc>>> {
    value.map(|v| from_micros(v, what)).transpose()
}

/// LIKE pattern for "the JSON-stored name contains `query`" (`\` escapes).
fn contains_pattern(query: &str) -> StoreResult<String> {
    let json = crate::common::to_json(query, "query")?;
    let inner = json.get(1..json.len().saturating_sub(1)).unwrap_or_default();
    let mut pattern = String::from("%");
    for c in inner.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Ok(pattern)
}

fn join_scene(name: Option<String>) -> StoreResult<Option<JoinScene>> {
    name.map(|n| JoinScene::from_name(&n).ok_or_else(|| StoreError::Corrupt(format!("join scene {n:?}")))).transpose()
}

fn reason(name: &str) -> StoreResult<LeaveReason> {
    LeaveReason::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("leave reason {name:?}")))
}

fn count(key: Option<String>, joins: i64, stays: i64) -> StoreResult<JoinCount> {
    let n = |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("join count {v}")));
    Ok(JoinCount { key, joins: n(joins)?, stays: n(stays)? })
}

fn channel_ref(id: Option<String>, name: Option<String>, tier: Option<String>, tags: &str) -> StoreResult<Option<ChannelRef>> {
    Ok(match (id, name, tier) {
        (Some(id), Some(name), Some(tier)) => Some(ChannelRef { id, name, tier, tags: from_json(tags, "join channel tags")? }),
        _ => None,
    })
}

#[allow(clippy::too_many_arguments)]
fn pool(
    id: String,
    name: String,
    groups: &str,
    alert_at_percent: i64,
    alerted_at: Option<i64>,
    updated_at: i64,
    updated_by: String,
) -> StoreResult<ChannelPool> {
    let groups: Vec<PoolGroup> = from_json(groups, "pool groups")?;
    Ok(ChannelPool {
        id,
        name,
        groups,
        alert_at_percent: u8::try_from(alert_at_percent).map_err(|_| StoreError::Corrupt(format!("pool alert {alert_at_percent}")))?,
        alerted_at: time(alerted_at, "pool alerted_at")?,
        updated_at: from_micros(updated_at, "pool updated_at")?,
        updated_by,
    })
}

fn sorted_channels(mut channels: Vec<Channel>) -> Vec<Channel> {
    channels.sort_by(|a, b| a.id.cmp(&b.id));
    channels
}

const CHANNEL_COLUMNS: &str = "id, code, name, tier, tags, pool_id, archived, created_at, updated_at, updated_by";
const POOL_COLUMNS: &str = "id, name, groups_json, alert_at_percent, alerted_at, updated_at, updated_by";
const JOIN_COLUMNS: &str =
    "id, connector, group_id, member_id, name, channel_id, channel_name, tier, tags, inviter_id, joined_at, join_scene";
const LEAVE_COLUMNS: &str =
    "id, connector, group_id, member_id, name, reason, removed_by, joined_at, left_at, tenure_secs, channel_id, tier";

macro_rules! membership_backend {
    ($module:ident, $db:ty, $insert_audit:path, $member_times:literal) => {
        pub(crate) mod $module {
            use chrono::{DateTime, Utc};
            use sqlx::{Pool, Row, Transaction};

            use qunzhu_core::membership::{
                clean_tags, Channel, ChannelPool, JoinCounts, JoinRecord, LeaveRecord, MemberProfile, MembershipWrite,
                ProfileGroup,
            };
            use qunzhu_core::{ConnectorId, GroupId, GroupKey, MemberId, NewAuditEntry, StoreError, StoreResult};

            use super::*;
            use crate::common::{backend, is_unique_violation, micros, name_from_db, name_to_db, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            pub(crate) async fn count_members(pool: &Pool<$db>, group: &GroupKey) -> StoreResult<u32> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM members WHERE connector = $1 AND group_id = $2 AND left_at IS NULL",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                u32::try_from(count).map_err(|_| StoreError::Corrupt(format!("member count {count} is out of range")))
            }

            // --- channels ---

            fn channel_from_row(row: &DbRow) -> StoreResult<Channel> {
                let tags: String = row.try_get("tags").map_err(backend)?;
                let archived: i64 = row.try_get("archived").map_err(backend)?;
                Ok(Channel {
                    id: row.try_get("id").map_err(backend)?,
                    name: row.try_get("name").map_err(backend)?,
                    tier: row.try_get("tier").map_err(backend)?,
                    tags: from_json(&tags, "channel tags")?,
                    pool: row.try_get("pool_id").map_err(backend)?,
                    code: row.try_get("code").map_err(backend)?,
                    archived: archived != 0,
                    created_at: from_micros(row.try_get("created_at").map_err(backend)?, "channel created_at")?,
                    updated_at: from_micros(row.try_get("updated_at").map_err(backend)?, "channel updated_at")?,
                    updated_by: row.try_get("updated_by").map_err(backend)?,
                })
            }

            fn code_conflict(error: sqlx::Error, code: &str) -> StoreError {
                if is_unique_violation(&error) {
                    StoreError::Conflict(format!("invite code {code} is taken"))
                } else {
                    backend(error)
                }
            }

            pub(crate) async fn create_channel(
                mut tx: Transaction<'static, $db>,
                channel: &Channel,
                audit: &NewAuditEntry,
            ) -> StoreResult<Channel> {
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM channels WHERE id = $1")
                    .bind(&channel.id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                if exists.is_some() {
                    return Err(StoreError::Conflict(format!("channel {} exists", channel.id)));
                }
                sqlx::query(&format!("INSERT INTO channels ({CHANNEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
                    .bind(&channel.id)
                    .bind(&channel.code)
                    .bind(&channel.name)
                    .bind(&channel.tier)
                    .bind(to_json(&channel.tags, "channel tags")?)
                    .bind(channel.pool.as_deref())
                    .bind(i64::from(channel.archived))
                    .bind(micros(channel.created_at))
                    .bind(micros(channel.updated_at))
                    .bind(&channel.updated_by)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| code_conflict(e, &channel.code))?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(channel.clone())
            }

            pub(crate) async fn update_channel(
                mut tx: Transaction<'static, $db>,
                channel: &Channel,
                audit: &NewAuditEntry,
            ) -> StoreResult<Channel> {
                let done = sqlx::query(
                    "UPDATE channels SET code = $2, name = $3, tier = $4, tags = $5, pool_id = $6, archived = $7, \
                     created_at = $8, updated_at = $9, updated_by = $10 WHERE id = $1",
                )
                .bind(&channel.id)
                .bind(&channel.code)
                .bind(&channel.name)
                .bind(&channel.tier)
                .bind(to_json(&channel.tags, "channel tags")?)
                .bind(channel.pool.as_deref())
                .bind(i64::from(channel.archived))
                .bind(micros(channel.created_at))
                .bind(micros(channel.updated_at))
                .bind(&channel.updated_by)
                .execute(&mut *tx)
                .await
                .map_err(|e| code_conflict(e, &channel.code))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("channel {}", channel.id)));
                }
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(channel.clone())
            }

            pub(crate) async fn get_channel(pool: &Pool<$db>, id: &str) -> StoreResult<Option<Channel>> {
                let row = sqlx::query(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(channel_from_row).transpose()
            }

            pub(crate) async fn channel_by_code(pool: &Pool<$db>, code: &str) -> StoreResult<Option<Channel>> {
                let row = sqlx::query(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE code = $1"))
                    .bind(code)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(channel_from_row).transpose()
            }

            pub(crate) async fn list_channels(pool: &Pool<$db>, archived: bool) -> StoreResult<Vec<Channel>> {
                let rows = sqlx::query(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE archived <= $1"))
                    .bind(i64::from(archived))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                Ok(sorted_channels(rows.iter().map(channel_from_row).collect::<StoreResult<_>>()?))
            }

            // --- pools ---

            fn pool_from_row(row: &DbRow) -> StoreResult<ChannelPool> {
                let groups: String = row.try_get("groups_json").map_err(backend)?;
                super::pool(
                    row.try_get("id").map_err(backend)?,
                    row.try_get("name").map_err(backend)?,
                    &groups,
                    row.try_get("alert_at_percent").map_err(backend)?,
                    row.try_get("alerted_at").map_err(backend)?,
                    row.try_get("updated_at").map_err(backend)?,
                    row.try_get("updated_by").map_err(backend)?,
                )
            }

            pub(crate) async fn save_pool(
                mut tx: Transaction<'static, $db>,
                saved: &ChannelPool,
                audit: &NewAuditEntry,
            ) -> StoreResult<ChannelPool> {
                sqlx::query(&format!(
                    "INSERT INTO channel_pools ({POOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, groups_json = excluded.groups_json, \
                     alert_at_percent = excluded.alert_at_percent, alerted_at = excluded.alerted_at, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by"
                ))
                .bind(&saved.id)
                .bind(&saved.name)
                .bind(to_json(&saved.groups, "pool groups")?)
                .bind(i64::from(saved.alert_at_percent))
                .bind(saved.alerted_at.map(micros))
                .bind(micros(saved.updated_at))
                .bind(&saved.updated_by)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(saved.clone())
            }

            pub(crate) async fn get_pool(pool: &Pool<$db>, id: &str) -> StoreResult<Option<ChannelPool>> {
                let row = sqlx::query(&format!("SELECT {POOL_COLUMNS} FROM channel_pools WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(pool_from_row).transpose()
            }

            pub(crate) async fn list_pools(pool: &Pool<$db>) -> StoreResult<Vec<ChannelPool>> {
                let rows = sqlx::query(&format!("SELECT {POOL_COLUMNS} FROM channel_pools"))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                let mut pools = rows.iter().map(pool_from_row).collect::<StoreResult<Vec<_>>>()?;
                pools.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(pools)
            }

            pub(crate) async fn mark_pool_alerted(pool: &Pool<$db>, id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE channel_pools SET alerted_at = $1 WHERE id = $2 AND alerted_at IS NULL")
                    .bind(micros(at))
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() == 1)
            }

            // --- the join log, leaves, codes, profiles (written with events) ---

            /// Applies one write inside the commit's transaction (see [`MembershipWrite`]).
            pub(crate) async fn apply(conn: &mut Conn, write: &MembershipWrite) -> StoreResult<()> {
                match write {
                    MembershipWrite::Joined(record) => joined(conn, record).await,
                    MembershipWrite::Left(leave) => left(conn, leave).await,
                    MembershipWrite::CodeSeen { group, member, code, at } => {
                        sqlx::query(
                            "INSERT INTO member_codes (connector, group_id, member_id, code, seen_at) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (connector, group_id, member_id) DO UPDATE SET code = excluded.code, seen_at = excluded.seen_at",
                        )
                        .bind(group.connector.as_str())
                        .bind(group.group.as_str())
                        .bind(member.as_str())
                        .bind(code)
                        .bind(micros(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    }
                    MembershipWrite::Attributed { group, member, channel, .. } => {
                        sqlx::query(
                            "UPDATE member_joins SET channel_id = $1, channel_name = $2, tier = $3, tags = $4 \
                             WHERE channel_id IS NULL AND seq = (SELECT MAX(seq) FROM member_joins \
                             WHERE connector = $5 AND group_id = $6 AND member_id = $7)",
                        )
                        .bind(&channel.id)
                        .bind(&channel.name)
                        .bind(&channel.tier)
                        .bind(to_json(&channel.tags, "join channel tags")?)
                        .bind(group.connector.as_str())
                        .bind(group.group.as_str())
                        .bind(member.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        if profile_exists(&mut *conn, &group.connector, member).await? {
                            attribute(&mut *conn, &group.connector, member, channel).await?;
                        }
                        Ok(())
                    }
                }
            }

            async fn profile_exists(conn: &mut Conn, connector: &ConnectorId, member: &MemberId) -> StoreResult<bool> {
                let found: Option<String> =
                    sqlx::query_scalar("SELECT member_id FROM member_profiles WHERE connector = $1 AND member_id = $2")
                        .bind(connector.as_str())
                        .bind(member.as_str())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(backend)?;
                Ok(found.is_some())
            }

            /// Channel and tier where none is known yet; the channel's tags added.
            async fn attribute(
                conn: &mut Conn,
                connector: &ConnectorId,
                member: &MemberId,
                channel: &qunzhu_core::membership::ChannelRef,
            ) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE member_profiles SET tier = CASE WHEN channel_id IS NULL THEN $1 ELSE tier END, \
                     channel_id = COALESCE(channel_id, $2) WHERE connector = $3 AND member_id = $4",
                )
                .bind(&channel.tier)
                .bind(&channel.id)
                .bind(connector.as_str())
                .bind(member.as_str())
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                add_tags(conn, connector, member, &channel.tags).await
            }

            async fn add_tags(conn: &mut Conn, connector: &ConnectorId, member: &MemberId, tags: &[String]) -> StoreResult<()> {
                for tag in clean_tags(tags) {
                    sqlx::query(
                        "INSERT INTO member_tags (connector, member_id, tag) VALUES ($1, $2, $3) \
                         ON CONFLICT (connector, member_id, tag) DO NOTHING",
                    )
                    .bind(connector.as_str())
                    .bind(member.as_str())
                    .bind(&tag)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                }
                Ok(())
            }

            async fn joined(conn: &mut Conn, record: &JoinRecord) -> StoreResult<()> {
                let channel = record.channel.as_ref();
                let tags = channel.map(|c| c.tags.as_slice()).unwrap_or_default();
                let inserted = sqlx::query(&format!(
                    "INSERT INTO member_joins ({JOIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO NOTHING"
                ))
                .bind(&record.id)
                .bind(record.group.connector.as_str())
                .bind(record.group.group.as_str())
                .bind(record.member.as_str())
                .bind(name_to_db(record.name.as_deref())?)
                .bind(channel.map(|c| c.id.as_str()))
                .bind(channel.map(|c| c.name.as_str()))
                .bind(channel.map(|c| c.tier.as_str()))
                .bind(to_json(tags, "join channel tags")?)
                .bind(record.inviter.as_ref().map(|m| m.as_str()))
                .bind(micros(record.at))
                .bind(record.join_scene.map(JoinScene::name))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                if inserted.rows_affected() == 0 {
                    return Ok(());
                }
                let connector = &record.group.connector;
                if profile_exists(&mut *conn, connector, &record.member).await? {
                    sqlx::query(
                        "UPDATE member_profiles SET name = COALESCE($1, name), inviter_id = COALESCE(inviter_id, $2) \
                         WHERE connector = $3 AND member_id = $4",
                    )
                    .bind(name_to_db(record.name.as_deref())?)
                    .bind(record.inviter.as_ref().map(|m| m.as_str()))
                    .bind(connector.as_str())
                    .bind(record.member.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                } else {
                    sqlx::query(
                        "INSERT INTO member_profiles (connector, member_id, name, first_seen, inviter_id) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(connector.as_str())
                    .bind(record.member.as_str())
                    .bind(name_to_db(record.name.as_deref())?)
                    .bind(micros(record.at))
                    .bind(record.inviter.as_ref().map(|m| m.as_str()))
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                }
                if let Some(channel) = channel {
                    attribute(conn, connector, &record.member, channel).await?;
                }
                Ok(())
            }

            async fn left(conn: &mut Conn, leave: &LeaveRecord) -> StoreResult<()> {
                let inserted = sqlx::query(&format!(
                    "INSERT INTO member_leaves ({LEAVE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO NOTHING"
                ))
                .bind(&leave.id)
                .bind(leave.group.connector.as_str())
                .bind(leave.group.group.as_str())
                .bind(leave.member.as_str())
                .bind(name_to_db(leave.name.as_deref())?)
                .bind(leave.reason.name())
                .bind(leave.removed_by.as_ref().map(|m| m.as_str()))
                .bind(leave.joined_at.map(micros))
                .bind(micros(leave.at))
                .bind(leave.tenure_secs)
                .bind(leave.channel.as_deref())
                .bind(leave.tier.as_deref())
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                if inserted.rows_affected() == 0 {
                    return Ok(());
                }
                sqlx::query(
                    "UPDATE member_joins SET left_at = $1 WHERE connector = $2 AND group_id = $3 AND member_id = $4 AND left_at IS NULL",
                )
                .bind(micros(leave.at))
                .bind(leave.group.connector.as_str())
                .bind(leave.group.group.as_str())
                .bind(leave.member.as_str())
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            // --- reads ---

            async fn counts(
                pool: &Pool<$db>,
                column: &str,
                from: i64,
                until: i64,
            ) -> StoreResult<Vec<qunzhu_core::membership::JoinCount>> {
                let rows = sqlx::query(&format!(
                    "SELECT {column} AS key, COUNT(*) AS joins, \
                     CAST(SUM(CASE WHEN left_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS stays \
                     FROM member_joins WHERE joined_at >= $1 AND joined_at < $2 GROUP BY {column}"
                ))
                .bind(from)
                .bind(until)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                let mut counts = rows
                    .iter()
                    .map(|row| {
                        count(
                            row.try_get("key").map_err(backend)?,
                            row.try_get("joins").map_err(backend)?,
                            row.try_get("stays").map_err(backend)?,
                        )
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.sort_by(|a, b| a.key.cmp(&b.key));
                Ok(counts)
            }

            pub(crate) async fn join_counts(
                pool: &Pool<$db>,
                from: Option<DateTime<Utc>>,
                until: Option<DateTime<Utc>>,
            ) -> StoreResult<JoinCounts> {
                let from = from.map_or(i64::MIN, micros);
                let until = until.map_or(i64::MAX, micros);
                Ok(JoinCounts {
                    by_channel: counts(pool, "channel_id", from, until).await?,
                    by_tier: counts(pool, "tier", from, until).await?,
                })
            }

            pub(crate) async fn latest_join(pool: &Pool<$db>, group: &GroupKey, member: &MemberId) -> StoreResult<Option<JoinRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {JOIN_COLUMNS} FROM member_joins WHERE connector = $1 AND group_id = $2 AND member_id = $3 \
                     ORDER BY seq DESC LIMIT 1"
                ))
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(member.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                let Some(row) = row else { return Ok(None) };
                let tags: String = row.try_get("tags").map_err(backend)?;
                let inviter: Option<String> = row.try_get("inviter_id").map_err(backend)?;
                Ok(Some(JoinRecord {
                    id: row.try_get("id").map_err(backend)?,
                    group: GroupKey {
                        connector: ConnectorId(row.try_get("connector").map_err(backend)?),
                        group: GroupId(row.try_get("group_id").map_err(backend)?),
                    },
                    member: MemberId(row.try_get("member_id").map_err(backend)?),
                    name: name_from_db(row.try_get("name").map_err(backend)?)?,
                    channel: channel_ref(
                        row.try_get("channel_id").map_err(backend)?,
                        row.try_get("channel_name").map_err(backend)?,
                        row.try_get("tier").map_err(backend)?,
                        &tags,
                    )?,
                    inviter: inviter.map(MemberId),
                    at: from_micros(row.try_get("joined_at").map_err(backend)?, "join joined_at")?,
                    join_scene: join_scene(row.try_get("join_scene").map_err(backend)?)?,
                }))
            }

            pub(crate) async fn remembered_code(pool: &Pool<$db>, group: &GroupKey, member: &MemberId) -> StoreResult<Option<String>> {
                sqlx::query_scalar("SELECT code FROM member_codes WHERE connector = $1 AND group_id = $2 AND member_id = $3")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(member.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)
            }

            pub(crate) async fn member_profile(
                pool: &Pool<$db>,
                connector: &ConnectorId,
                member: &MemberId,
            ) -> StoreResult<Option<MemberProfile>> {
                let row = sqlx::query(
                    "SELECT name, first_seen, channel_id, tier, inviter_id FROM member_profiles WHERE connector = $1 AND member_id = $2",
                )
                .bind(connector.as_str())
                .bind(member.as_str())
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                let records = sqlx::query(&format!(
                    "SELECT group_id, name, {} FROM members WHERE connector = $1 AND member_id = $2",
                    $member_times
                ))
                .bind(connector.as_str())
                .bind(member.as_str())
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                let mut groups = Vec::new();
                let mut first_seen: Option<DateTime<Utc>> = None;
                let mut record_name: Option<String> = None;
                for record in &records {
                    let seen = from_micros(record.try_get("first_seen").map_err(backend)?, "member first_seen")?;
                    first_seen = Some(first_seen.map_or(seen, |f| f.min(seen)));
                    if record_name.is_none() {
                        record_name = name_from_db(record.try_get("name").map_err(backend)?)?;
                    }
                    groups.push(ProfileGroup {
                        group: GroupKey { connector: connector.clone(), group: GroupId(record.try_get("group_id").map_err(backend)?) },
                        joined_at: time(record.try_get("joined_at").map_err(backend)?, "member joined_at")?,
                        left_at: time(record.try_get("left_at").map_err(backend)?, "member left_at")?,
                        join_scene: None,
                    });
                }
                groups.sort_by(|a, b| a.group.cmp(&b.group));
                for group in &mut groups {
                    group.join_scene = latest_join(pool, &group.group, member).await?.and_then(|j| j.join_scene);
                }
                let mut profile = MemberProfile {
                    connector: connector.clone(),
                    member: member.clone(),
                    name: None,
                    first_seen: DateTime::<Utc>::MIN_UTC,
                    channel: None,
                    tier: None,
                    inviter: None,
                    tags: Vec::new(),
                    groups,
                };
                if let Some(row) = &row {
                    let seen = from_micros(row.try_get("first_seen").map_err(backend)?, "profile first_seen")?;
                    first_seen = Some(first_seen.map_or(seen, |f| f.min(seen)));
                    profile.name = name_from_db(row.try_get("name").map_err(backend)?)?;
                    profile.channel = row.try_get("channel_id").map_err(backend)?;
                    profile.tier = row.try_get("tier").map_err(backend)?;
                    profile.inviter = row.try_get::<Option<String>, _>("inviter_id").map_err(backend)?.map(MemberId);
                    let tags: Vec<String> =
                        sqlx::query_scalar("SELECT tag FROM member_tags WHERE connector = $1 AND member_id = $2")
                            .bind(connector.as_str())
                            .bind(member.as_str())
                            .fetch_all(pool)
                            .await
                            .map_err(backend)?;
                    profile.tags = clean_tags(tags);
                }
                let Some(first_seen) = first_seen else { return Ok(None) };
                profile.first_seen = first_seen;
                if profile.name.is_none() {
                    profile.name = record_name;
                }
                Ok(Some(profile))
            }

            pub(crate) async fn search_profiles(
                pool: &Pool<$db>,
                tag: Option<&str>,
                query: Option<&str>,
                limit: u32,
            ) -> StoreResult<Vec<MemberProfile>> {
                let pattern = query.map(contains_pattern).transpose()?;
                let rows = sqlx::query(
                    "SELECT connector, member_id FROM member_profiles p \
                     WHERE ($1 IS NULL OR EXISTS (SELECT 1 FROM member_tags t \
                         WHERE t.connector = p.connector AND t.member_id = p.member_id AND t.tag = $1)) \
                     AND ($2 IS NULL OR p.member_id = $2 OR LOWER(p.name) LIKE $3 ESCAPE '\\') \
                     ORDER BY connector, member_id LIMIT $4",
                )
                .bind(tag)
                .bind(query)
                .bind(pattern)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                let mut keys = rows
                    .iter()
                    .map(|row| Ok((ConnectorId(row.try_get("connector").map_err(backend)?), MemberId(row.try_get("member_id").map_err(backend)?))))
                    .collect::<StoreResult<Vec<_>>>()?;
                keys.sort();
                let mut profiles = Vec::new();
                for (connector, member) in keys {
                    if let Some(profile) = member_profile(pool, &connector, &member).await? {
                        profiles.push(profile);
                    }
                }
                Ok(profiles)
            }

            pub(crate) async fn tag_profile(
                mut tx: Transaction<'static, $db>,
                connector: &ConnectorId,
                member: &MemberId,
                add: &[String],
                remove: &[String],
                audit: &NewAuditEntry,
            ) -> StoreResult<()> {
                if !profile_exists(&mut *tx, connector, member).await? {
                    return Err(StoreError::NotFound(format!("profile of {connector}/{member}")));
                }
                add_tags(&mut *tx, connector, member, add).await?;
                for tag in clean_tags(remove) {
                    sqlx::query("DELETE FROM member_tags WHERE connector = $1 AND member_id = $2 AND tag = $3")
                        .bind(connector.as_str())
                        .bind(member.as_str())
                        .bind(&tag)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            pub(crate) async fn churn(pool: &Pool<$db>, group: &GroupKey, limit: u32) -> StoreResult<Vec<LeaveRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {LEAVE_COLUMNS} FROM member_leaves WHERE connector = $1 AND group_id = $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let reason_name: String = row.try_get("reason").map_err(backend)?;
                        let removed_by: Option<String> = row.try_get("removed_by").map_err(backend)?;
                        Ok(LeaveRecord {
                            id: row.try_get("id").map_err(backend)?,
                            group: group.clone(),
                            member: MemberId(row.try_get("member_id").map_err(backend)?),
                            name: name_from_db(row.try_get("name").map_err(backend)?)?,
                            reason: reason(&reason_name)?,
                            removed_by: removed_by.map(MemberId),
                            joined_at: time(row.try_get("joined_at").map_err(backend)?, "leave joined_at")?,
                            at: from_micros(row.try_get("left_at").map_err(backend)?, "leave left_at")?,
                            tenure_secs: row.try_get("tenure_secs").map_err(backend)?,
                            channel: row.try_get("channel_id").map_err(backend)?,
                            tier: row.try_get("tier").map_err(backend)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

membership_backend!(sqlite, sqlx::Sqlite, crate::sqlite::insert_audit, "first_seen, joined_at, left_at");
membership_backend!(
    postgres,
    sqlx::Postgres,
    crate::postgres::insert_audit,
    "CAST(EXTRACT(EPOCH FROM first_seen) * 1000000 AS BIGINT) AS first_seen, \
     CAST(EXTRACT(EPOCH FROM joined_at) * 1000000 AS BIGINT) AS joined_at, \
     CAST(EXTRACT(EPOCH FROM left_at) * 1000000 AS BIGINT) AS left_at"
);
