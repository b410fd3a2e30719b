//! Platform state kept by connectors (rosters, connector values) and staff tasks handed over
//! outside an event (`hand_over`), SQL written once for both backends (migration
//! `0018_platform_state`: times as BIGINT microseconds; a roster's members as JSON).

macro_rules! queries {
    ($backend:ident, $db:ty, $begin:literal) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use qunzhu_core::audit::NewAuditEntry;
            use qunzhu_core::platform::{Roster, RosterMember};
            use qunzhu_core::task::StaffTask;
            use qunzhu_core::{ConnectorId, GroupId, GroupKey, StoreResult};

            use crate::common::{backend, from_json, from_micros, micros, to_json};

            type Pool = sqlx::Pool<$db>;

            pub(crate) async fn save_roster(pool: &Pool, roster: &Roster) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO platform_rosters (connector, group_id, members, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connector, group_id) DO UPDATE SET members = excluded.members, updated_at = excluded.updated_at",
                )
                .bind(roster.group.connector.as_str())
                .bind(roster.group.group.as_str())
                .bind(to_json(&roster.members, "roster members")?)
                .bind(micros(roster.updated_at))
                .execute(pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn rosters(pool: &Pool, connector: &ConnectorId) -> StoreResult<Vec<Roster>> {
                let rows = sqlx::query("SELECT group_id, members, updated_at FROM platform_rosters WHERE connector = $1")
                    .bind(connector.as_str())
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                let mut rosters = rows
                    .iter()
                    .map(|row| {
                        let members: Vec<RosterMember> = from_json(&row.try_get::<String, _>("members").map_err(backend)?, "roster members")?;
                        Ok(Roster {
                            group: GroupKey { connector: connector.clone(), group: GroupId(row.try_get("group_id").map_err(backend)?) },
                            members,
                            updated_at: from_micros(row.try_get("updated_at").map_err(backend)?, "roster updated_at")?,
                        })
                    })
                    .collect::<StoreResult<Vec<Roster>>>()?;
                // Bytewise, as the memory store orders them.
                rosters.sort_by(|a, b| a.group.group.as_str().cmp(b.group.group.as_str()));
                Ok(rosters)
            }

            pub(crate) async fn delete_roster(pool: &Pool, group: &GroupKey) -> StoreResult<()> {
                sqlx::query("DELETE FROM platform_rosters WHERE connector = $1 AND group_id = $2")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .execute(pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn connector_value(pool: &Pool, connector: &ConnectorId, key: &str) -> StoreResult<Option<String>> {
                sqlx::query_scalar("SELECT value FROM connector_values WHERE connector = $1 AND key = $2")
                    .bind(connector.as_str())
                    .bind(key)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)
            }

            pub(crate) async fn set_connector_value(
                pool: &Pool,
                connector: &ConnectorId,
                key: &str,
                value: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO connector_values (connector, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connector, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(connector.as_str())
                .bind(key)
                .bind(value)
                .bind(micros(at))
                .execute(pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn hand_over(pool: &Pool, task: &StaffTask, audit: &NewAuditEntry) -> StoreResult<bool> {
                let mut tx = pool.begin_with($begin).await.map_err(backend)?;
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM staff_tasks WHERE id = $1")
                    .bind(task.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                if exists.is_some() {
                    return Ok(false);
                }
                crate::$backend::insert_task(&mut tx, task).await?;
                crate::$backend::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite, "BEGIN IMMEDIATE");
queries!(postgres, sqlx::Postgres, "BEGIN");
