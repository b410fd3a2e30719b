//! The newcomer gate (入群验证) — SQL written once for both backends (migration
//! `0011_newcomer_gate`): one row per newcomer at a group's gate.

use qunzhu_core::gate::{GateEntry, GateStatus};
use qunzhu_core::{GroupKey, MemberId, StoreError, StoreResult};

use crate::common::from_micros;

/// A row's columns, as read.
struct Row {
    connector: String,
    group: String,
    member: String,
    name: Option<String>,
    status: String,
    joined_at: i64,
    deadline: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
}

impl Row {
    fn entry(self) -> StoreResult<GateEntry> {
        Ok(GateEntry {
            group: GroupKey::new(self.connector, self.group),
            member: MemberId::new(self.member),
            name: self.name,
            status: GateStatus::from_name(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("gate status: unknown value {:?}", self.status)))?,
            joined_at: from_micros(self.joined_at, "gate joined_at")?,
            deadline: from_micros(self.deadline, "gate deadline")?,
            decided_at: self.decided_at.map(|at| from_micros(at, "gate decided_at")).transpose()?,
            decided_by: self.decided_by,
        })
    }
}

const COLUMNS: &str = "connector, group_id, member, name, status, joined_at, deadline, decided_at, decided_by";

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use qunzhu_core::admission::JoinRequestRecord;
            use qunzhu_core::gate::{GateEntry, GateStatus, GateWrite};
            use qunzhu_core::{GroupKey, MemberId, StoreResult};
            use sqlx::Row as _;

            use crate::common::{backend, from_json, micros};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            fn row(row: &<$db as sqlx::Database>::Row) -> StoreResult<GateEntry> {
                super::Row {
                    connector: row.try_get("connector").map_err(backend)?,
                    group: row.try_get("group_id").map_err(backend)?,
                    member: row.try_get("member").map_err(backend)?,
                    name: row.try_get("name").map_err(backend)?,
                    status: row.try_get("status").map_err(backend)?,
                    joined_at: row.try_get("joined_at").map_err(backend)?,
                    deadline: row.try_get("deadline").map_err(backend)?,
                    decided_at: row.try_get("decided_at").map_err(backend)?,
                    decided_by: row.try_get("decided_by").map_err(backend)?,
                }
                .entry()
            }

            /// Applies one write inside the commit's transaction (see [`GateWrite`]).
            pub(crate) async fn apply(conn: &mut Conn, write: &GateWrite) -> StoreResult<()> {
                match write {
                    GateWrite::Open(entry) => {
                        sqlx::query(
                            "INSERT INTO gate_entries (connector, group_id, member, name, status, joined_at, deadline, decided_at, decided_by) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (connector, group_id, member) DO UPDATE SET \
                             name = excluded.name, status = excluded.status, joined_at = excluded.joined_at, deadline = excluded.deadline, \
                             decided_at = excluded.decided_at, decided_by = excluded.decided_by",
                        )
                        .bind(entry.group.connector.as_str())
                        .bind(entry.group.group.as_str())
                        .bind(entry.member.as_str())
                        .bind(entry.name.as_deref())
                        .bind(entry.status.name())
                        .bind(micros(entry.joined_at))
                        .bind(micros(entry.deadline))
                        .bind(entry.decided_at.map(micros))
                        .bind(entry.decided_by.as_deref())
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    GateWrite::Pass { group, member, at, by } => {
                        sqlx::query(
                            "UPDATE gate_entries SET status = 'passed', decided_at = $1, decided_by = $2 \
                             WHERE connector = $3 AND group_id = $4 AND member = $5 AND status <> 'passed'",
                        )
                        .bind(micros(*at))
                        .bind(by.as_str())
                        .bind(group.connector.as_str())
                        .bind(group.group.as_str())
                        .bind(member.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    GateWrite::TimeOut { group, member, deadline, at } => {
                        sqlx::query(
                            "UPDATE gate_entries SET status = 'timed_out', decided_at = $1, decided_by = 'engine' \
                             WHERE connector = $2 AND group_id = $3 AND member = $4 AND status = 'pending' AND deadline = $5",
                        )
                        .bind(micros(*at))
                        .bind(group.connector.as_str())
                        .bind(group.group.as_str())
                        .bind(member.as_str())
                        .bind(micros(*deadline))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    GateWrite::Clear { group, member } => {
                        sqlx::query("DELETE FROM gate_entries WHERE connector = $1 AND group_id = $2 AND member = $3")
                            .bind(group.connector.as_str())
                            .bind(group.group.as_str())
                            .bind(member.as_str())
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                    }
                }
                Ok(())
            }

            pub(crate) async fn entry(pool: &Pool, group: &GroupKey, member: &MemberId) -> StoreResult<Option<GateEntry>> {
                let found = sqlx::query(&format!("SELECT {} FROM gate_entries WHERE connector = $1 AND group_id = $2 AND member = $3", super::COLUMNS))
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(member.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                found.as_ref().map(row).transpose()
            }

            pub(crate) async fn entries(pool: &Pool, group: Option<&GroupKey>, status: GateStatus, limit: u32) -> StoreResult<Vec<GateEntry>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM gate_entries WHERE status = $1 AND ($2 IS NULL OR (connector = $2 AND group_id = $3)) \
                     ORDER BY deadline, connector, group_id, member LIMIT $4",
                    super::COLUMNS
                ))
                .bind(status.name())
                .bind(group.map(|g| g.connector.as_str()))
                .bind(group.map(|g| g.group.as_str()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(row).collect()
            }

            /// Approved requests are few per group and the join follows its approval closely:
            /// the latest 500 approvals of the group are looked at.
            pub(crate) async fn approved(pool: &Pool, group: &GroupKey, member: &MemberId) -> StoreResult<bool> {
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM join_requests WHERE connector = $1 AND group_id = $2 AND status = 'approved' \
                     ORDER BY updated_at DESC LIMIT 500",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                for body in bodies {
                    let record: JoinRequestRecord = from_json(&body, "join request")?;
                    if &record.member == member {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
