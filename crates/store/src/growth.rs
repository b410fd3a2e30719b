//! Referrals (裂变), invite codes, campaigns, milestones (里程碑) and custom counters — SQL
//! written once for both backends (migration `0010_referrals_milestones`: times as BIGINT
//! microseconds in both, so each query is one text; [`queries!`] instantiates them for SQLite
//! and PostgreSQL).
//!
//! A referral's `body` is the record at its join; the `status`, `spoke_at`, `validated_at`
//! and `left_at` columns change with its writes and win over the body. Each referral write
//! is a conditional UPDATE (a transition from the state it names), so a re-run is a no-op.
//! A milestone is a row keyed by (group, kind, name, threshold): a second one from another
//! event is refused with a conflict, which refuses the whole commit.

use qunzhu_core::growth::{Milestone, Referral, ReferralStatus};
use qunzhu_core::{StoreError, StoreResult};

use crate::common::{from_json, from_micros};

fn referral(
    body: &str,
    status: &str,
    spoke_at: Option<i64>,
    validated_at: Option<i64>,
    left_at: Option<i64>,
) -> StoreResult<Referral> {
    let mut referral: Referral = from_json(body, "referral")?;
    referral.status =
        ReferralStatus::from_name(status).ok_or_else(|| StoreError::Corrupt(format!("referral status: unknown value {status:?}")))?;
    referral.spoke_at = spoke_at.map(|v| from_micros(v, "referral spoke_at")).transpose()?;
    referral.validated_at = validated_at.map(|v| from_micros(v, "referral validated_at")).transpose()?;
    referral.left_at = left_at.map(|v| from_micros(v, "referral left_at")).transpose()?;
    Ok(referral)
}

fn milestone(body: &str) -> StoreResult<Milestone> {
    from_json(body, "milestone")
}

macro_rules! queries {
    ($backend:ident, $db:ty, $insert_audit:path) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::{Row, Transaction};

            use qunzhu_core::growth::{
                Counter, CounterIncrement, Milestone, MilestoneKind, Referral, ReferralCampaign, ReferralCode, ReferralFilter,
                ReferralWrite,
            };
            use qunzhu_core::{ConnectorId, GroupId, GroupKey, NewAuditEntry, StoreError, StoreResult};

            use crate::common::{backend, from_json, from_micros, is_unique_violation, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const REFERRAL_COLUMNS: &str = "body, status, spoke_at, validated_at, left_at";

            fn referral_from_row(row: &DbRow) -> StoreResult<Referral> {
                let body: String = row.try_get("body").map_err(backend)?;
                let status: String = row.try_get("status").map_err(backend)?;
                super::referral(
                    &body,
                    &status,
                    row.try_get("spoke_at").map_err(backend)?,
                    row.try_get("validated_at").map_err(backend)?,
                    row.try_get("left_at").map_err(backend)?,
                )
            }

            async fn set(conn: &mut Conn, sql: &str, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(sql).bind(id).bind(micros(at)).execute(&mut *conn).await.map_err(backend)?;
                Ok(())
            }

            /// Applies one referral write inside the commit's transaction.
            pub(crate) async fn apply_referral(conn: &mut Conn, write: &ReferralWrite) -> StoreResult<()> {
                match write {
                    ReferralWrite::Invited(r) => {
                        sqlx::query(
                            "INSERT INTO referrals (id, connector, group_id, inviter, campaign, status, joined_at, due_at, \
                             spoke_at, validated_at, left_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                             ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(&r.id)
                        .bind(r.group.connector.as_str())
                        .bind(r.group.group.as_str())
                        .bind(r.inviter.as_str())
                        .bind(r.campaign.as_deref())
                        .bind(r.status.name())
                        .bind(micros(r.joined_at))
                        .bind(micros(r.due_at))
                        .bind(r.spoke_at.map(micros))
                        .bind(r.validated_at.map(micros))
                        .bind(r.left_at.map(micros))
                        .bind(to_json(r, "referral")?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    }
                    ReferralWrite::Spoke { id, at } => {
                        set(conn, "UPDATE referrals SET spoke_at = $2 WHERE id = $1 AND spoke_at IS NULL", id, *at).await
                    }
                    ReferralWrite::Validated { id, at } => {
                        set(conn, "UPDATE referrals SET status = 'valid', validated_at = $2 WHERE id = $1 AND status = 'pending'", id, *at).await
                    }
                    ReferralWrite::Voided { id, at } => {
                        set(conn, "UPDATE referrals SET status = 'void', left_at = COALESCE(left_at, $2) WHERE id = $1 AND status = 'pending'", id, *at)
                            .await
                    }
                    ReferralWrite::Reversed { id, at } => {
                        set(conn, "UPDATE referrals SET status = 'reversed', left_at = COALESCE(left_at, $2) WHERE id = $1 AND status = 'valid'", id, *at)
                            .await
                    }
                    ReferralWrite::Left { id, at } => {
                        set(conn, "UPDATE referrals SET left_at = $2 WHERE id = $1 AND left_at IS NULL", id, *at).await
                    }
                }
            }

            /// Records a milestone; `Conflict` when another event already reached it.
            pub(crate) async fn apply_milestone(conn: &mut Conn, m: &Milestone) -> StoreResult<()> {
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT cause FROM milestones WHERE connector = $1 AND group_id = $2 AND kind = $3 AND name = $4 AND threshold = $5",
                )
                .bind(m.group.connector.as_str())
                .bind(m.group.group.as_str())
                .bind(m.kind.name())
                .bind(&m.name)
                .bind(m.threshold)
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?;
                let refused = || {
                    StoreError::Conflict(format!("milestone {} {} {} of {} was already reached", m.kind.name(), m.name, m.threshold, m.group))
                };
                match existing {
                    Some(cause) if cause == m.cause.as_str() => return Ok(()),
                    Some(_) => return Err(refused()),
                    None => {}
                }
                let inserted = sqlx::query(
                    "INSERT INTO milestones (connector, group_id, kind, name, threshold, cause, reached_at, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(m.group.connector.as_str())
                .bind(m.group.group.as_str())
                .bind(m.kind.name())
                .bind(&m.name)
                .bind(m.threshold)
                .bind(m.cause.as_str())
                .bind(micros(m.reached_at))
                .bind(to_json(m, "milestone")?)
                .execute(&mut *conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => Err(refused()),
                    Err(error) => Err(backend(error)),
                }
            }

            /// Adds an increment to its counter; one already stored is skipped.
            pub(crate) async fn apply_counter(conn: &mut Conn, inc: &CounterIncrement) -> StoreResult<()> {
                let new = sqlx::query(
                    "INSERT INTO counter_increments (id, connector, group_id, name, amount, at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&inc.id)
                .bind(inc.group.connector.as_str())
                .bind(inc.group.group.as_str())
                .bind(&inc.name)
                .bind(inc.amount)
                .bind(micros(inc.at))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                if new.rows_affected() == 0 {
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO counters (connector, group_id, name, value, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (connector, group_id, name) DO UPDATE SET value = counters.value + excluded.value, \
                     updated_at = excluded.updated_at",
                )
                .bind(inc.group.connector.as_str())
                .bind(inc.group.group.as_str())
                .bind(&inc.name)
                .bind(inc.amount)
                .bind(micros(inc.at))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn referral(pool: &Pool, id: &str) -> StoreResult<Option<Referral>> {
                let row = sqlx::query(&format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(referral_from_row).transpose()
            }

            pub(crate) async fn list_referrals(pool: &Pool, filter: &ReferralFilter, limit: u32) -> StoreResult<Vec<Referral>> {
                let rows = sqlx::query(&format!(
                    "SELECT {REFERRAL_COLUMNS} FROM referrals \
                     WHERE ($1 IS NULL OR connector = $1) AND ($2 IS NULL OR group_id = $2) AND ($3 IS NULL OR campaign = $3) \
                       AND ($4 IS NULL OR inviter = $4) AND ($5 IS NULL OR status = $5) \
                     ORDER BY joined_at DESC, id LIMIT $6"
                ))
                .bind(filter.group.as_ref().map(|g| g.connector.as_str().to_owned()))
                .bind(filter.group.as_ref().map(|g| g.group.as_str().to_owned()))
                .bind(filter.campaign.clone())
                .bind(filter.inviter.as_ref().map(|i| i.as_str().to_owned()))
                .bind(filter.status.map(|s| s.name().to_owned()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(referral_from_row).collect()
            }

            pub(crate) async fn due_referrals(pool: &Pool, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Referral>> {
                let rows = sqlx::query(&format!(
                    "SELECT {REFERRAL_COLUMNS} FROM referrals \
                     WHERE status = 'pending' AND spoke_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2"
                ))
                .bind(micros(now))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(referral_from_row).collect()
            }

            async fn code_of_member(pool: &Pool, code: &ReferralCode) -> StoreResult<Option<ReferralCode>> {
                let body: Option<String> = sqlx::query_scalar("SELECT body FROM referral_codes WHERE connector = $1 AND member_id = $2")
                    .bind(code.connector.as_str())
                    .bind(code.member.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                body.map(|b| from_json(&b, "invite code")).transpose()
            }

            pub(crate) async fn save_code(pool: &Pool, code: &ReferralCode) -> StoreResult<ReferralCode> {
                if let Some(held) = code_of_member(pool, code).await? {
                    return Ok(held);
                }
                let inserted = sqlx::query("INSERT INTO referral_codes (code, connector, member_id, body) VALUES ($1, $2, $3, $4)")
                    .bind(&code.code)
                    .bind(code.connector.as_str())
                    .bind(code.member.as_str())
                    .bind(to_json(code, "invite code")?)
                    .execute(pool)
                    .await;
                match inserted {
                    Ok(_) => Ok(code.clone()),
                    Err(error) if is_unique_violation(&error) => match code_of_member(pool, code).await? {
                        // The member got one at the same moment.
                        Some(held) => Ok(held),
                        None => Err(StoreError::Conflict(format!("invite code {} is taken", code.code))),
                    },
                    Err(error) => Err(backend(error)),
                }
            }

            pub(crate) async fn code(pool: &Pool, connector: &ConnectorId, code: &str) -> StoreResult<Option<ReferralCode>> {
                let body: Option<String> = sqlx::query_scalar("SELECT body FROM referral_codes WHERE connector = $1 AND code = $2")
                    .bind(connector.as_str())
                    .bind(code)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                body.map(|b| from_json(&b, "invite code")).transpose()
            }

            pub(crate) async fn save_campaign(
                mut tx: Transaction<'static, $db>,
                campaign: &ReferralCampaign,
                audit: &NewAuditEntry,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO referral_campaigns (id, starts_at, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, body = excluded.body",
                )
                .bind(&campaign.id)
                .bind(micros(campaign.starts_at))
                .bind(to_json(campaign, "referral campaign")?)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            pub(crate) async fn campaigns(pool: &Pool) -> StoreResult<Vec<ReferralCampaign>> {
                let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM referral_campaigns ORDER BY starts_at, id")
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                bodies.iter().map(|b| from_json(b, "referral campaign")).collect()
            }

            pub(crate) async fn delete_campaign(mut tx: Transaction<'static, $db>, id: &str, audit: &NewAuditEntry) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM referral_campaigns WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                $insert_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            pub(crate) async fn milestone_reached(
                pool: &Pool,
                group: &GroupKey,
                kind: MilestoneKind,
                name: &str,
                threshold: i64,
            ) -> StoreResult<bool> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT threshold FROM milestones WHERE connector = $1 AND group_id = $2 AND kind = $3 AND name = $4 AND threshold = $5",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind(kind.name())
                .bind(name)
                .bind(threshold)
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
                Ok(found.is_some())
            }

            pub(crate) async fn list_milestones(pool: &Pool, group: Option<&GroupKey>, limit: u32) -> StoreResult<Vec<Milestone>> {
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM milestones WHERE ($1 IS NULL OR connector = $1) AND ($2 IS NULL OR group_id = $2) \
                     ORDER BY reached_at DESC, connector, group_id, kind, name, threshold LIMIT $3",
                )
                .bind(group.map(|g| g.connector.as_str().to_owned()))
                .bind(group.map(|g| g.group.as_str().to_owned()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                bodies.iter().map(|b| super::milestone(b)).collect()
            }

            pub(crate) async fn counter_value(pool: &Pool, group: &GroupKey, name: &str) -> StoreResult<i64> {
                let value: Option<i64> = sqlx::query_scalar("SELECT value FROM counters WHERE connector = $1 AND group_id = $2 AND name = $3")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(name)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                Ok(value.unwrap_or(0))
            }

            pub(crate) async fn list_counters(pool: &Pool, group: Option<&GroupKey>) -> StoreResult<Vec<Counter>> {
                let rows = sqlx::query(
                    "SELECT connector, group_id, name, value, updated_at FROM counters \
                     WHERE ($1 IS NULL OR connector = $1) AND ($2 IS NULL OR group_id = $2) ORDER BY connector, group_id, name",
                )
                .bind(group.map(|g| g.connector.as_str().to_owned()))
                .bind(group.map(|g| g.group.as_str().to_owned()))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let connector: String = row.try_get("connector").map_err(backend)?;
                        let group: String = row.try_get("group_id").map_err(backend)?;
                        Ok(Counter {
                            group: GroupKey::new(ConnectorId::new(connector), GroupId::new(group)),
                            name: row.try_get("name").map_err(backend)?,
                            value: row.try_get("value").map_err(backend)?,
                            updated_at: from_micros(row.try_get("updated_at").map_err(backend)?, "counter updated_at")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn group_message_total(pool: &Pool, group: &GroupKey) -> StoreResult<i64> {
                // CAST: PostgreSQL sums BIGINT as NUMERIC.
                let total: i64 = sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM members WHERE connector = $1 AND group_id = $2",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                Ok(total)
            }

            pub(crate) async fn group_check_in_total(pool: &Pool, group: &GroupKey) -> StoreResult<i64> {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_ins WHERE group_key = $1")
                    .bind(group.to_string())
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
                Ok(total)
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite, crate::sqlite::insert_audit);
queries!(postgres, sqlx::Postgres, crate::postgres::insert_audit);
