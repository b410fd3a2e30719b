//! The points shop and inventories — SQL written once for both backends (see `points`).
//!
//! A redemption is guarded by two conditional UPDATEs inside the caller's transaction — the
//! stock (`stock > 0`) and the balance (`balance >= cost`) — so concurrent redemptions can
//! never oversell or overspend on either backend.

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use qunzhu_core::points::{ItemChange, LedgerEntry};
            use qunzhu_core::shop::{Redemption, RedemptionStatus, Refusal, ShopItem};
            use qunzhu_core::{ConnectorId, MemberId, StoreError, StoreResult};
            use sqlx::Row;

            use crate::common::{backend, from_json, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            /// Records an inventory change unless its id is already there.
            pub(crate) async fn insert_item_change(conn: &mut Conn, change: &ItemChange) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO item_changes (id, connector, member_id, item, delta, time) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&change.id)
                .bind(change.connector.as_str())
                .bind(change.member.as_str())
                .bind(&change.item)
                .bind(change.delta)
                .bind(micros(change.time))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn inventory(pool: &Pool, connector: &ConnectorId, member: &MemberId, item: &str) -> StoreResult<u32> {
                let sum: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(delta) AS BIGINT) FROM item_changes WHERE connector = $1 AND member_id = $2 AND item = $3",
                )
                .bind(connector.as_str())
                .bind(member.as_str())
                .bind(item)
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                Ok(u32::try_from(sum.unwrap_or(0).max(0)).unwrap_or(u32::MAX))
            }

            pub(crate) async fn save_item(conn: &mut Conn, item: &ShopItem) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO shop_items (id, stock, enabled, cost, body) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET stock = excluded.stock, enabled = excluded.enabled, cost = excluded.cost, body = excluded.body",
                )
                .bind(&item.id)
                .bind(item.stock)
                .bind(i64::from(item.enabled))
                .bind(item.cost)
                .bind(to_json(item, "shop item")?)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            fn item_from_row(row: &<$db as sqlx::Database>::Row) -> StoreResult<ShopItem> {
                let body: String = row.try_get("body").map_err(backend)?;
                let mut item: ShopItem = from_json(&body, "shop item")?;
                // The columns are the truth for what redemptions change.
                item.stock = row.try_get("stock").map_err(backend)?;
                item.enabled = row.try_get::<i64, _>("enabled").map_err(backend)? != 0;
                Ok(item)
            }

            pub(crate) async fn items(pool: &Pool) -> StoreResult<Vec<ShopItem>> {
                let rows = sqlx::query("SELECT stock, enabled, body FROM shop_items ORDER BY id").fetch_all(pool).await.map_err(backend)?;
                rows.iter().map(item_from_row).collect()
            }

            pub(crate) async fn item(pool: &Pool, id: &str) -> StoreResult<Option<ShopItem>> {
                let row = sqlx::query("SELECT stock, enabled, body FROM shop_items WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(item_from_row).transpose()
            }

            /// The checks and writes of a redemption, inside the caller's transaction; the
            /// caller adds the task and audit rows and commits — or rolls back on a refusal.
            pub(crate) async fn redeem(
                conn: &mut Conn,
                redemption: &Redemption,
                debit: &LedgerEntry,
                item_change: Option<&ItemChange>,
            ) -> StoreResult<Result<Redemption, Refusal>> {
                let exists: Option<i64> = sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM redemptions WHERE id = $1")
                    .bind(&redemption.id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                if exists.is_some() {
                    return Ok(Err(Refusal::Duplicate));
                }
                let taken = sqlx::query(
                    "UPDATE shop_items SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - 1 END \
                     WHERE id = $1 AND enabled = 1 AND (stock IS NULL OR stock > 0)",
                )
                .bind(&redemption.item)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                if taken.rows_affected() == 0 {
                    let row = sqlx::query("SELECT stock, enabled FROM shop_items WHERE id = $1")
                        .bind(&redemption.item)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(backend)?;
                    let refusal = match row {
                        None => Refusal::UnknownItem,
                        Some(row) if row.try_get::<i64, _>("enabled").map_err(backend)? == 0 => Refusal::Disabled,
                        Some(_) => Refusal::OutOfStock,
                    };
                    return Ok(Err(refusal));
                }
                match crate::points::$backend::insert_entry_covered(&mut *conn, debit).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict(message)) if message.starts_with("insufficient") => return Ok(Err(Refusal::InsufficientPoints)),
                    Err(StoreError::Conflict(_)) => return Ok(Err(Refusal::Duplicate)),
                    Err(other) => return Err(other),
                }
                if let Some(change) = item_change {
                    insert_item_change(&mut *conn, change).await?;
                }
                sqlx::query("INSERT INTO redemptions (id, status, updated_at, body) VALUES ($1, $2, $3, $4)")
                    .bind(&redemption.id)
                    .bind(redemption.status.name())
                    .bind(micros(redemption.updated_at))
                    .bind(to_json(redemption, "redemption")?)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                Ok(Ok(redemption.clone()))
            }

            fn redemption_from_row(row: &<$db as sqlx::Database>::Row) -> StoreResult<Redemption> {
                let body: String = row.try_get("body").map_err(backend)?;
                let mut redemption: Redemption = from_json(&body, "redemption")?;
                let status: String = row.try_get("status").map_err(backend)?;
                redemption.status = RedemptionStatus::from_name(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("redemption status {status:?}")))?;
                redemption.updated_at = crate::common::from_micros(row.try_get("updated_at").map_err(backend)?, "redemption time")?;
                Ok(redemption)
            }

            pub(crate) async fn redemptions(pool: &Pool, status: Option<RedemptionStatus>, limit: u32) -> StoreResult<Vec<Redemption>> {
                let rows = sqlx::query(
                    "SELECT status, updated_at, body FROM redemptions WHERE ($1 IS NULL OR status = $1) ORDER BY seq DESC LIMIT $2",
                )
                .bind(status.map(RedemptionStatus::name))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(redemption_from_row).collect()
            }

            /// Settles a pending redemption inside the caller's transaction.
            pub(crate) async fn settle(
                conn: &mut Conn,
                id: &str,
                status: RedemptionStatus,
                refund: Option<&LedgerEntry>,
                at: DateTime<Utc>,
            ) -> StoreResult<Redemption> {
                let row = sqlx::query("SELECT status, updated_at, body FROM redemptions WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?
                    .ok_or_else(|| StoreError::NotFound(format!("redemption {id}")))?;
                let mut redemption = redemption_from_row(&row)?;
                let changed = sqlx::query("UPDATE redemptions SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'")
                    .bind(id)
                    .bind(status.name())
                    .bind(micros(at))
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                if changed.rows_affected() == 0 {
                    return Err(StoreError::Conflict(format!("redemption {id} is {}", redemption.status.name())));
                }
                if status == RedemptionStatus::Cancelled {
                    sqlx::query("UPDATE shop_items SET stock = stock + 1 WHERE id = $1 AND stock IS NOT NULL")
                        .bind(&redemption.item)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    if let Some(refund) = refund {
                        crate::points::$backend::insert_entry(&mut *conn, refund).await?;
                    }
                }
                redemption.status = status;
                redemption.updated_at = at;
                Ok(redemption)
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
