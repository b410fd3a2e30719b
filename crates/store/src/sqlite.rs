//! The SQLite store: one file in WAL mode, the default for a single machine.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions, so a transaction that reads before it
//! writes (the rulebook head check, a task's old status) holds the write lock from its first
//! statement: two writers queue on `busy_timeout` instead of one failing to upgrade its lock.
//! Times are INTEGER microseconds since the epoch (see `common::micros`).

use crate::points::sqlite as points;
use crate::shop::sqlite as shop;
use qunzhu_core::membership::{Channel, ChannelPool, JoinCounts, JoinRecord, LeaveRecord, MemberProfile};
use qunzhu_core::points::ItemChange;
use qunzhu_core::shop::{Redemption, RedemptionStatus, Refusal, ShopItem};
use crate::schedules::sqlite as schedules;
use qunzhu_core::schedule::{change_audit, NewSchedule, Schedule, ScheduleChange, ScheduleId, ScheduleRun, ScheduleUpdate};
use qunzhu_core::points::{CheckIn, LeaderboardRow, LedgerEntry, PointsBalance};
use chrono::NaiveDate;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qunzhu_core::lottery::{Lottery, LotteryEntry, LotteryStatus, MessageCount};
use qunzhu_core::signup::{Signup, SignupEntry, SignupStatus};

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, SqliteConnection, Transaction};

use qunzhu_core::moderation::{
    BlacklistEntry, Correction, MemberRecord, MemberUpdate, Violation, ViolationStatus,
};
use qunzhu_core::content::{ContentDraft, ContentItem};
use qunzhu_core::faq::{FaqHitCount, FaqLastAnswers, FaqStatsFilter};
use qunzhu_core::store::{
    Accepted, ActionStatus, AttemptResult, BoxFuture, Commit, GroupRecord, NewRulebookVersion,
    OutboxEntry, RulebookVersion, Store,
};
use qunzhu_core::{
    Action, ActionId, AuditEntry, ConnectorId, Event, GroupId, GroupKey, MemberId, NewAuditEntry,
    PlatformEventId, StaffTask, StoreError, StoreResult, TaskId, TaskStatus,
};

use crate::OpenError;
use crate::common::{
    apply_attempt, attempts_from_db, backend, from_json, from_micros, is_unique_violation,
    member_upsert, messages_from_db, micros, name_from_db, name_to_db, new_member_record,
    next_rulebook_version, rulebook_audit, rulebook_conflict, status_from_db, task_from_db,
    task_status_audit, to_json, violation_from_db,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: u32 = 8;

/// See the module documentation.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and its parent directory, and
    /// brings its schema up to date.
    ///
    /// # Errors
    /// [`OpenError::CreateDir`], [`OpenError::Sqlite`] or [`OpenError::Migrate`].
    pub async fn open_file(path: &Path) -> Result<Self, OpenError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| OpenError::CreateDir {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        Self::open_with(SqliteConnectOptions::new().filename(path), false).await
    }

    /// Opens with parsed options (from a `sqlite:` URL), adding qunzhu's pragmas.
    pub(crate) async fn open_with(
        options: SqliteConnectOptions,
        in_memory: bool,
    ) -> Result<Self, OpenError> {
        let path: PathBuf = options.get_filename().to_path_buf();
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = if in_memory {
            // An in-memory database lives as long as a connection to it: keep exactly one,
            // forever (which also spares shared-cache locking its own busy errors).
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
        };
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|source| OpenError::Sqlite {
                path: path.clone(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| OpenError::Migrate {
                backend: "SQLite",
                source,
            })?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Ok(Self { pool })
    }

    async fn write(&self) -> StoreResult<Transaction<'static, sqlx::Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    async fn accept_event_impl(&self, event: &Event) -> StoreResult<Accepted> {
        let body = to_json(event, "event")?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (connector, event_id, group_id, kind, time, body) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (connector, event_id) DO NOTHING RETURNING seq",
        )
        .bind(event.origin.connector.as_str())
        .bind(event.origin.event_id.as_str())
        .bind(event.origin.group.as_str())
        .bind(event.kind.name())
        .bind(micros(event.time))
        .bind(&body)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        if let Some(seq) = inserted {
            return Ok(Accepted::New { seq });
        }
        let seq: i64 =
            sqlx::query_scalar("SELECT seq FROM events WHERE connector = ? AND event_id = ?")
                .bind(event.origin.connector.as_str())
                .bind(event.origin.event_id.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
        Ok(Accepted::Duplicate { seq })
    }

    async fn pending_events_impl(&self, limit: u32) -> StoreResult<Vec<(i64, Event)>> {
        let rows =
            sqlx::query("SELECT seq, body FROM events WHERE processed = 0 ORDER BY seq LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let seq: i64 = get(row, "seq")?;
                let body: String = get(row, "body")?;
                Ok((seq, from_json(&body, "inbox event")?))
            })
            .collect()
    }

    async fn commit_impl(&self, commit: &Commit) -> StoreResult<()> {
        let mut tx = self.write().await?;
        if let Some(seq) = commit.event_seq {
            let done = sqlx::query(
                "UPDATE events SET processed = 1, processed_at = COALESCE(processed_at, ?) WHERE seq = ?",
            )
            .bind(micros(Utc::now()))
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("event #{seq}")));
            }
        }
        for action in &commit.actions {
            insert_action(&mut tx, action).await?;
        }
        for task in &commit.tasks {
            insert_task(&mut tx, task).await?;
        }
        for entry in &commit.audit {
            insert_audit(&mut tx, entry).await?;
        }
        for update in &commit.members {
            apply_member(&mut tx, update).await?;
        }
        for violation in &commit.violations {
            insert_violation(&mut tx, violation).await?;
        }
        for entry in &commit.blacklist {
            insert_blacklist(&mut tx, entry).await?;
        }
        for write in &commit.writes {
            crate::writes::sqlite::apply(&mut tx, write).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn touch_group_impl(
        &self,
        key: &GroupKey,
        name: Option<&str>,
        seen_at: DateTime<Utc>,
    ) -> StoreResult<GroupRecord> {
        let row = sqlx::query(
            "INSERT INTO groups (connector, group_id, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (connector, group_id) DO UPDATE SET \
                 name = COALESCE(excluded.name, groups.name), \
                 last_seen = MAX(groups.last_seen, excluded.last_seen) \
             RETURNING connector, group_id, name, first_seen, last_seen",
        )
        .bind(key.connector.as_str())
        .bind(key.group.as_str())
        .bind(name)
        .bind(micros(seen_at))
        .bind(micros(seen_at))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        group_from_row(&row)
    }

    async fn list_groups_impl(&self) -> StoreResult<Vec<GroupRecord>> {
        // BINARY collation compares UTF-8 bytes, which is how `GroupKey`'s `Ord` compares.
        let rows = sqlx::query(
            "SELECT connector, group_id, name, first_seen, last_seen FROM groups ORDER BY connector, group_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(group_from_row).collect()
    }

    async fn due_actions_impl(
        &self,
        connector: &ConnectorId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox \
             WHERE connector = ? AND status = 'pending' AND next_attempt_at <= ? \
               AND (not_before IS NULL OR not_before <= ?) \
             ORDER BY seq LIMIT ?"
        ))
        .bind(connector.as_str())
        .bind(micros(now))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(outbox_from_row).collect()
    }

    async fn actions_after_impl(
        &self,
        connector: &ConnectorId,
        after: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox \
             WHERE connector = ? AND seq > ? AND (not_before IS NULL OR not_before <= ?) \
             ORDER BY seq LIMIT ?"
        ))
        .bind(connector.as_str())
        .bind(after)
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(outbox_from_row).collect()
    }

    async fn get_action_impl(&self, id: &ActionId) -> StoreResult<Option<OutboxEntry>> {
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE action_id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    async fn record_attempt_impl(
        &self,
        id: &ActionId,
        result: &AttemptResult,
        at: DateTime<Utc>,
        audit: Option<&NewAuditEntry>,
    ) -> StoreResult<OutboxEntry> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE action_id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("action {id}")));
        };
        let mut entry = outbox_from_row(&row)?;
        apply_attempt(&mut entry, result, at);
        sqlx::query(
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? \
             WHERE seq = ?",
        )
        .bind(entry.status.name())
        .bind(i64::from(entry.attempts))
        .bind(micros(entry.next_attempt_at))
        .bind(entry.last_error.as_deref())
        .bind(micros(entry.updated_at))
        .bind(entry.seq)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(entry)
    }

    async fn list_tasks_impl(
        &self,
        status: Option<TaskStatus>,
        limit: u32,
    ) -> StoreResult<Vec<StaffTask>> {
        let (filtered, all);
        let rows = match status {
            Some(status) => sqlx::query({
                filtered = format!(
                "SELECT {TASK_COLUMNS} FROM staff_tasks WHERE status = ? ORDER BY seq DESC LIMIT ?"
                );
                &filtered
            })
            .bind(status.name()),
            None => sqlx::query({
                all = format!("SELECT {TASK_COLUMNS} FROM staff_tasks ORDER BY seq DESC LIMIT ?");
                &all
            }),
        }
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(task_from_row).collect()
    }

    async fn set_task_status_impl(
        &self,
        id: &TaskId,
        status: TaskStatus,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<StaffTask> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM staff_tasks WHERE id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("task {id}")));
        };
        let mut task = task_from_row(&row)?;
        let from = task.status;
        task.status = status;
        task.updated_at = at;
        task.updated_by = Some(by.to_owned());
        sqlx::query(
            "UPDATE staff_tasks SET status = ?, updated_at = ?, updated_by = ? WHERE id = ?",
        )
        .bind(status.name())
        .bind(micros(at))
        .bind(by)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_audit(&mut tx, &task_status_audit(&task, from, by, at)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(task)
    }

    async fn list_audit_impl(
        &self,
        group: Option<&GroupKey>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let (filtered, all);
        let rows = match group {
            Some(group) => sqlx::query({
                filtered = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE connector = ? AND group_id = ? ORDER BY id DESC LIMIT ?"
                );
                &filtered
            })
            .bind(group.connector.as_str())
            .bind(group.group.as_str()),
            None => sqlx::query({
                all = format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?");
                &all
            }),
        }
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn rulebook_head_impl(&self) -> StoreResult<Option<RulebookVersion>> {
        let row = sqlx::query(&format!(
            "SELECT {RULEBOOK_COLUMNS} FROM rulebook_versions ORDER BY version DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(rulebook_from_row).transpose()
    }

    async fn rulebook_save_impl(&self, new: &NewRulebookVersion) -> StoreResult<RulebookVersion> {
        let mut tx = self.write().await?;
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM rulebook_versions")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let saved = next_rulebook_version(head, new)?;
        // BEGIN IMMEDIATE already serialises saves; the primary key is the second line of
        // defence should another writer ever skip it.
        let inserted = sqlx::query(
            "INSERT INTO rulebook_versions (version, author, note, changes, body, time) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(saved.version)
        .bind(&saved.author)
        .bind(&saved.note)
        .bind(to_json(&saved.changes, "rulebook changes")?)
        .bind(&saved.body)
        .bind(micros(saved.time))
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(rulebook_conflict(Some(saved.version), new.parent));
            }
            other => other.map_err(backend)?,
        };
        insert_audit(&mut tx, &rulebook_audit(&saved)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(saved)
    }

    async fn rulebook_versions_impl(&self, limit: u32) -> StoreResult<Vec<RulebookVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {RULEBOOK_COLUMNS} FROM rulebook_versions ORDER BY version DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rulebook_from_row).collect()
    }

    async fn rulebook_version_impl(&self, version: i64) -> StoreResult<Option<RulebookVersion>> {
        let row = sqlx::query(&format!(
            "SELECT {RULEBOOK_COLUMNS} FROM rulebook_versions WHERE version = ?"
        ))
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(rulebook_from_row).transpose()
    }

    async fn member_impl(
        &self,
        group: &GroupKey,
        member: &MemberId,
    ) -> StoreResult<Option<MemberRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE connector = ? AND group_id = ? AND member_id = ?"
        ))
        .bind(group.connector.as_str())
        .bind(group.group.as_str())
        .bind(member.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(member_from_row).transpose()
    }

    async fn count_violations_impl(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
        since: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM violations \
             WHERE connector = ? AND member_id = ? AND status = ? AND time >= ? AND dry_run = 0",
        )
        .bind(connector.as_str())
        .bind(member.as_str())
        .bind(ViolationStatus::Active.name())
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn list_violations_impl(
        &self,
        group: Option<&GroupKey>,
        status: Option<ViolationStatus>,
        limit: u32,
    ) -> StoreResult<Vec<Violation>> {
        let mut query = QueryBuilder::<sqlx::Sqlite>::new(format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE 1 = 1"
        ));
        if let Some(group) = group {
            query
                .push(" AND connector = ")
                .push_bind(group.connector.as_str())
                .push(" AND group_id = ")
                .push_bind(group.group.as_str());
        }
        if let Some(status) = status {
            query.push(" AND status = ").push_bind(status.name());
        }
        query
            .push(" ORDER BY time DESC, seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(violation_from_row).collect()
    }

    async fn get_violation_impl(&self, id: &str) -> StoreResult<Option<Violation>> {
        let row = sqlx::query(&format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(violation_from_row).transpose()
    }

    async fn set_violation_status_impl(
        &self,
        id: &str,
        status: ViolationStatus,
        correction: Option<&Correction>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Violation> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "UPDATE violations SET status = ? WHERE id = ? RETURNING {VIOLATION_COLUMNS}"
        ))
        .bind(status.name())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("violation {id}")));
        };
        let violation = violation_from_row(&row)?;
        if let Some(correction) = correction {
            insert_correction(&mut tx, correction).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(violation)
    }

    async fn blacklisted_impl(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
    ) -> StoreResult<Option<BlacklistEntry>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM blacklist WHERE connector = ? AND member_id = ?")
                .bind(connector.as_str())
                .bind(member.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        body.map(|body| from_json(&body, "blacklist entry"))
            .transpose()
    }

    async fn list_blacklist_impl(&self, limit: u32) -> StoreResult<Vec<BlacklistEntry>> {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM blacklist ORDER BY added_at DESC, seq DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        bodies
            .iter()
            .map(|body| from_json(body, "blacklist entry"))
            .collect()
    }

    async fn add_to_blacklist_impl(
        &self,
        entry: &BlacklistEntry,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        insert_blacklist(&mut tx, entry).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn remove_from_blacklist_impl(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
        audit: &NewAuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let removed = sqlx::query("DELETE FROM blacklist WHERE connector = ? AND member_id = ?")
            .bind(connector.as_str())
            .bind(member.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected()
            > 0;
        if !removed {
            // Nothing changed, so nothing to audit; the transaction rolls back on drop.
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn add_correction_impl(
        &self,
        correction: &Correction,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        insert_correction(&mut tx, correction).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn list_corrections_impl(&self) -> StoreResult<Vec<Correction>> {
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM corrections ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        bodies
            .iter()
            .map(|body| from_json(body, "correction"))
            .collect()
    }

    async fn close_impl(&self) {
        // Fold the WAL back into the main file so the database is one self-contained file
        // (for backups and copies) after a clean shutdown.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %error, "SQLite WAL checkpoint on close failed");
        }
        self.pool.close().await;
    }
}

const OUTBOX_COLUMNS: &str =
    "seq, action, status, attempts, next_attempt_at, last_error, updated_at";
const TASK_COLUMNS: &str = "task, status, updated_at, updated_by";
const AUDIT_COLUMNS: &str =
    "id, time, actor, kind, connector, group_id, event_id, action_id, rule, summary, detail";
const RULEBOOK_COLUMNS: &str = "version, author, note, changes, body, time";
const MEMBER_COLUMNS: &str = "connector, group_id, member_id, name, first_seen, joined_at, left_at, messages, last_message_at";
const VIOLATION_COLUMNS: &str = "body, status";

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn get_time(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(get(row, column)?, column)
}

fn group_from_row(row: &SqliteRow) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        key: GroupKey {
            connector: ConnectorId(get(row, "connector")?),
            group: GroupId(get(row, "group_id")?),
        },
        name: get(row, "name")?,
        first_seen: get_time(row, "first_seen")?,
        last_seen: get_time(row, "last_seen")?,
    })
}

fn outbox_from_row(row: &SqliteRow) -> StoreResult<OutboxEntry> {
    let action: String = get(row, "action")?;
    let status: String = get(row, "status")?;
    Ok(OutboxEntry {
        seq: get(row, "seq")?,
        action: from_json::<Action>(&action, "outbox action")?,
        status: status_from_db(&status)?,
        attempts: attempts_from_db(get(row, "attempts")?)?,
        next_attempt_at: get_time(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn task_from_row(row: &SqliteRow) -> StoreResult<StaffTask> {
    let json: String = get(row, "task")?;
    let status: String = get(row, "status")?;
    task_from_db(
        &json,
        &status,
        get_time(row, "updated_at")?,
        get(row, "updated_by")?,
    )
}

fn audit_from_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let connector: Option<String> = get(row, "connector")?;
    let group_id: Option<String> = get(row, "group_id")?;
    let group = match (connector, group_id) {
        (Some(connector), Some(group)) => Some(GroupKey {
            connector: ConnectorId(connector),
            group: GroupId(group),
        }),
        _ => None,
    };
    Ok(AuditEntry {
        id: get(row, "id")?,
        entry: NewAuditEntry {
            time: get_time(row, "time")?,
            actor: get(row, "actor")?,
            kind: get(row, "kind")?,
            group,
            event_id: get::<Option<String>>(row, "event_id")?.map(PlatformEventId),
            action_id: get::<Option<String>>(row, "action_id")?.map(ActionId),
            rule: get(row, "rule")?,
            summary: get(row, "summary")?,
            detail: get(row, "detail")?,
        },
    })
}

fn get_optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, column)?
        .map(|value| from_micros(value, column))
        .transpose()
}

fn member_from_row(row: &SqliteRow) -> StoreResult<MemberRecord> {
    Ok(MemberRecord {
        group: GroupKey {
            connector: ConnectorId(get(row, "connector")?),
            group: GroupId(get(row, "group_id")?),
        },
        member: MemberId(get(row, "member_id")?),
        name: name_from_db(get(row, "name")?)?,
        first_seen: get_time(row, "first_seen")?,
        joined_at: get_optional_time(row, "joined_at")?,
        left_at: get_optional_time(row, "left_at")?,
        messages: messages_from_db(get(row, "messages")?)?,
        last_message_at: get_optional_time(row, "last_message_at")?,
    })
}

fn violation_from_row(row: &SqliteRow) -> StoreResult<Violation> {
    let body: String = get(row, "body")?;
    let status: String = get(row, "status")?;
    violation_from_db(&body, &status)
}

fn rulebook_from_row(row: &SqliteRow) -> StoreResult<RulebookVersion> {
    let changes: String = get(row, "changes")?;
    Ok(RulebookVersion {
        version: get(row, "version")?,
        author: get(row, "author")?,
        note: get(row, "note")?,
        changes: from_json(&changes, "rulebook changes")?,
        body: get(row, "body")?,
        time: get_time(row, "time")?,
    })
}

async fn insert_action(conn: &mut SqliteConnection, action: &Action) -> StoreResult<()> {
    // A re-run of an interrupted event decides the same action ids; the first one stands.
    sqlx::query(
        "INSERT INTO outbox (action_id, connector, group_id, status, attempts, next_attempt_at, not_before, \
                             last_error, action, created_at, updated_at) \
         VALUES (?, ?, ?, ?, 0, ?, ?, NULL, ?, ?, ?) ON CONFLICT (action_id) DO NOTHING",
    )
    .bind(action.id.as_str())
    .bind(action.group.connector.as_str())
    .bind(action.group.group.as_str())
    .bind(ActionStatus::Pending.name())
    .bind(micros(action.not_before.unwrap_or(action.created_at)))
    .bind(action.not_before.map(micros))
    .bind(to_json(action, "action")?)
    .bind(micros(action.created_at))
    .bind(micros(action.created_at))
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn insert_task(conn: &mut SqliteConnection, task: &StaffTask) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO staff_tasks (id, connector, group_id, status, task, created_at, updated_at, updated_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(task.id.as_str())
    .bind(task.group.connector.as_str())
    .bind(task.group.group.as_str())
    .bind(task.status.name())
    .bind(to_json(task, "staff task")?)
    .bind(micros(task.created_at))
    .bind(micros(task.updated_at))
    .bind(task.updated_by.as_deref())
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn insert_audit(conn: &mut SqliteConnection, entry: &NewAuditEntry) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit (time, actor, kind, connector, group_id, event_id, action_id, rule, summary, detail) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(micros(entry.time))
    .bind(&entry.actor)
    .bind(&entry.kind)
    .bind(entry.group.as_ref().map(|g| g.connector.as_str()))
    .bind(entry.group.as_ref().map(|g| g.group.as_str()))
    .bind(entry.event_id.as_ref().map(PlatformEventId::as_str))
    .bind(entry.action_id.as_ref().map(ActionId::as_str))
    .bind(entry.rule.as_deref())
    .bind(&entry.summary)
    .bind(entry.detail.as_deref())
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn apply_member(conn: &mut SqliteConnection, update: &MemberUpdate) -> StoreResult<()> {
    let fresh = new_member_record(update);
    sqlx::query(&member_upsert(update.change, "?, ?, ?, ?, ?, ?, ?, ?, ?"))
        .bind(update.group.connector.as_str())
        .bind(update.group.group.as_str())
        .bind(update.member.as_str())
        .bind(name_to_db(fresh.name.as_deref())?)
        .bind(micros(fresh.first_seen))
        .bind(fresh.joined_at.map(micros))
        .bind(fresh.left_at.map(micros))
        .bind(i64::try_from(fresh.messages).unwrap_or(i64::MAX))
        .bind(fresh.last_message_at.map(micros))
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn insert_violation(conn: &mut SqliteConnection, violation: &Violation) -> StoreResult<()> {
    // A re-run of an interrupted event decides the same violation id; the first one stands.
    sqlx::query(
        "INSERT INTO violations (id, seq, connector, group_id, member_id, status, dry_run, time, body) \
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM violations), ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&violation.id)
    .bind(violation.group.connector.as_str())
    .bind(violation.group.group.as_str())
    .bind(violation.member.as_str())
    .bind(violation.status.name())
    .bind(violation.dry_run)
    .bind(micros(violation.time))
    .bind(to_json(violation, "violation")?)
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_blacklist(conn: &mut SqliteConnection, entry: &BlacklistEntry) -> StoreResult<()> {
    // An existing entry is kept: the first reason and time stand.
    sqlx::query(
        "INSERT INTO blacklist (connector, member_id, seq, added_at, body) \
         VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM blacklist), ?, ?) \
         ON CONFLICT (connector, member_id) DO NOTHING",
    )
    .bind(entry.connector.as_str())
    .bind(entry.member.as_str())
    .bind(micros(entry.added_at))
    .bind(to_json(entry, "blacklist entry")?)
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_correction(
    conn: &mut SqliteConnection,
    correction: &Correction,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO corrections (at, violation, body) VALUES (?, ?, ?)")
        .bind(micros(correction.at))
        .bind(correction.violation.as_deref())
        .bind(to_json(correction, "correction")?)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

impl Store for SqliteStore {
    fn accept_event<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, StoreResult<Accepted>> {
        Box::pin(self.accept_event_impl(event))
    }

    fn pending_events(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>> {
        Box::pin(self.pending_events_impl(limit))
    }

    fn commit<'a>(&'a self, commit: &'a Commit) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.commit_impl(commit))
    }

    fn touch_group<'a>(
        &'a self,
        key: &'a GroupKey,
        name: Option<&'a str>,
        seen_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<GroupRecord>> {
        Box::pin(self.touch_group_impl(key, name, seen_at))
    }

    fn list_groups(&self) -> BoxFuture<'_, StoreResult<Vec<GroupRecord>>> {
        Box::pin(self.list_groups_impl())
    }

    fn due_actions<'a>(
        &'a self,
        connector: &'a ConnectorId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>> {
        Box::pin(self.due_actions_impl(connector, now, limit))
    }

    fn actions_after<'a>(
        &'a self,
        connector: &'a ConnectorId,
        after: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>> {
        Box::pin(self.actions_after_impl(connector, after, now, limit))
    }

    fn get_action<'a>(
        &'a self,
        id: &'a ActionId,
    ) -> BoxFuture<'a, StoreResult<Option<OutboxEntry>>> {
        Box::pin(self.get_action_impl(id))
    }

    fn record_attempt<'a>(
        &'a self,
        id: &'a ActionId,
        result: &'a AttemptResult,
        at: DateTime<Utc>,
        audit: Option<&'a NewAuditEntry>,
    ) -> BoxFuture<'a, StoreResult<OutboxEntry>> {
        Box::pin(self.record_attempt_impl(id, result, at, audit))
    }

    fn list_tasks(
        &self,
        status: Option<TaskStatus>,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<StaffTask>>> {
        Box::pin(self.list_tasks_impl(status, limit))
    }

    fn set_task_status<'a>(
        &'a self,
        id: &'a TaskId,
        status: TaskStatus,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<StaffTask>> {
        Box::pin(self.set_task_status_impl(id, status, by, at))
    }

    fn list_audit<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEntry>>> {
        Box::pin(self.list_audit_impl(group, limit))
    }

    fn rulebook_head(&self) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>> {
        Box::pin(self.rulebook_head_impl())
    }

    fn rulebook_save<'a>(
        &'a self,
        version: &'a NewRulebookVersion,
    ) -> BoxFuture<'a, StoreResult<RulebookVersion>> {
        Box::pin(self.rulebook_save_impl(version))
    }

    fn rulebook_versions(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<RulebookVersion>>> {
        Box::pin(self.rulebook_versions_impl(limit))
    }

    fn rulebook_version(
        &self,
        version: i64,
    ) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>> {
        Box::pin(self.rulebook_version_impl(version))
    }

    fn member<'a>(
        &'a self,
        group: &'a GroupKey,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<MemberRecord>>> {
        Box::pin(self.member_impl(group, member))
    }

    fn count_violations<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(self.count_violations_impl(connector, member, since))
    }

    fn list_violations<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<ViolationStatus>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<Violation>>> {
        Box::pin(self.list_violations_impl(group, status, limit))
    }

    fn get_violation<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Violation>>> {
        Box::pin(self.get_violation_impl(id))
    }

    fn set_violation_status<'a>(
        &'a self,
        id: &'a str,
        status: ViolationStatus,
        correction: Option<&'a Correction>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Violation>> {
        Box::pin(self.set_violation_status_impl(id, status, correction, audit))
    }

    fn blacklisted<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<BlacklistEntry>>> {
        Box::pin(self.blacklisted_impl(connector, member))
    }

    fn list_blacklist(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<BlacklistEntry>>> {
        Box::pin(self.list_blacklist_impl(limit))
    }

    fn add_to_blacklist<'a>(
        &'a self,
        entry: &'a BlacklistEntry,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.add_to_blacklist_impl(entry, audit))
    }

    fn remove_from_blacklist<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(self.remove_from_blacklist_impl(connector, member, audit))
    }

    fn add_correction<'a>(
        &'a self,
        correction: &'a Correction,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.add_correction_impl(correction, audit))
    }

    fn list_corrections(&self) -> BoxFuture<'_, StoreResult<Vec<Correction>>> {
        Box::pin(self.list_corrections_impl())
    }

    fn points_balance<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<PointsBalance>> {
        Box::pin(points::balance(&self.pool, connector, member))
    }

    fn points_ledger<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LedgerEntry>>> {
        Box::pin(points::ledger(&self.pool, connector, member, limit))
    }

    fn points_by_rule_since<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        rule: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(points::by_rule_since(&self.pool, connector, member, rule, since))
    }

    fn add_points<'a>(&'a self, entry: &'a LedgerEntry, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<PointsBalance>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let balance = points::insert_entry_covered(&mut tx, entry).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(backend)?;
            Ok(balance)
        })
    }

    fn points_leaderboard<'a>(&'a self, connector: &'a ConnectorId, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaderboardRow>>> {
        Box::pin(points::leaderboard(&self.pool, connector, limit))
    }

    fn last_check_in<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<CheckIn>>> {
        Box::pin(points::last_check_in(&self.pool, group, member))
    }

    fn check_in_on<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<CheckIn>>> {
        Box::pin(points::check_in_on(&self.pool, group, member, day))
    }

    fn check_ins_on<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Vec<CheckIn>>> {
        Box::pin(points::check_ins_on(&self.pool, group, day))
    }

    fn count_check_ins<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId, from: NaiveDate, to: NaiveDate) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(points::count_check_ins(&self.pool, group, member, from, to))
    }

    fn inventory<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId, item: &'a str) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(shop::inventory(&self.pool, connector, member, item))
    }

    fn save_shop_item<'a>(&'a self, item: &'a ShopItem, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            shop::save_item(&mut tx, item).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(backend)
        })
    }

    fn shop_items(&self) -> BoxFuture<'_, StoreResult<Vec<ShopItem>>> {
        Box::pin(shop::items(&self.pool))
    }

    fn shop_item<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ShopItem>>> {
        Box::pin(shop::item(&self.pool, id))
    }

    fn redeem<'a>(
        &'a self,
        redemption: &'a Redemption,
        debit: &'a LedgerEntry,
        task: Option<&'a StaffTask>,
        item_change: Option<&'a ItemChange>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Result<Redemption, Refusal>>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let outcome = shop::redeem(&mut tx, redemption, debit, item_change).await?;
            if outcome.is_ok() {
                if let Some(task) = task {
                    insert_task(&mut tx, task).await?;
                }
                insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)?;
            }
            Ok(outcome)
        })
    }

    fn list_redemptions(&self, status: Option<RedemptionStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Redemption>>> {
        Box::pin(shop::redemptions(&self.pool, status, limit))
    }

    fn settle_redemption<'a>(
        &'a self,
        id: &'a str,
        status: RedemptionStatus,
        refund: Option<&'a LedgerEntry>,
        at: DateTime<Utc>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Redemption>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let settled = shop::settle(&mut tx, id, status, refund, at).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(backend)?;
            Ok(settled)
        })
    }

    fn create_schedule<'a>(&'a self, new: &'a NewSchedule) -> BoxFuture<'a, StoreResult<Schedule>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let schedule = schedules::insert(&mut tx, new).await?;
            insert_audit(&mut tx, &change_audit(&schedule, ScheduleChange::Create, &new.by, new.at, new.detail.clone())).await?;
            tx.commit().await.map_err(backend)?;
            Ok(schedule)
        })
    }

    fn update_schedule<'a>(&'a self, id: ScheduleId, update: &'a ScheduleUpdate) -> BoxFuture<'a, StoreResult<Schedule>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let schedule = schedules::update(&mut tx, id, update).await?;
            insert_audit(&mut tx, &change_audit(&schedule, update.change, &update.by, update.at, update.detail.clone())).await?;
            tx.commit().await.map_err(backend)?;
            Ok(schedule)
        })
    }

    fn delete_schedule<'a>(&'a self, id: ScheduleId, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Schedule>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let schedule = schedules::delete(&mut tx, id).await?;
            insert_audit(&mut tx, &change_audit(&schedule, ScheduleChange::Delete, by, at, None)).await?;
            tx.commit().await.map_err(backend)?;
            Ok(schedule)
        })
    }

    fn get_schedule(&self, id: ScheduleId) -> BoxFuture<'_, StoreResult<Option<Schedule>>> {
        Box::pin(schedules::get(&self.pool, id))
    }

    fn list_schedules(&self) -> BoxFuture<'_, StoreResult<Vec<Schedule>>> {
        Box::pin(schedules::list(&self.pool))
    }

    fn due_schedules(&self, until: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Schedule>>> {
        Box::pin(schedules::due(&self.pool, until, limit))
    }

    fn record_schedule_run<'a>(&'a self, id: ScheduleId, run: &'a ScheduleRun) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut tx = self.write().await?;
            let applied = schedules::record_run(&mut tx, id, run).await?;
            if applied {
                for entry in &run.audit {
                    insert_audit(&mut tx, entry).await?;
                }
            }
            tx.commit().await.map_err(backend)?;
            Ok(applied)
        })
    }

    // --- sign-up lists and lotteries (SQL in signup.rs, lottery.rs) ---

    fn open_signup<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<Signup>>> {
        Box::pin(crate::signup::sqlite::open_signup(&self.pool, group))
    }

    fn get_signup<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Signup>>> {
        Box::pin(crate::signup::sqlite::get_signup(&self.pool, id))
    }

    fn list_signups<'a>(&'a self, group: Option<&'a GroupKey>, status: Option<SignupStatus>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<Signup>>> {
        Box::pin(crate::signup::sqlite::list_signups(&self.pool, group, status, limit))
    }

    fn signup_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<SignupEntry>>> {
        Box::pin(crate::signup::sqlite::entries(&self.pool, id))
    }

    fn due_signups(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Signup>>> {
        Box::pin(crate::signup::sqlite::due_signups(&self.pool, now, limit))
    }

    fn get_lottery<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Lottery>>> {
        Box::pin(crate::lottery::sqlite::get(&self.pool, id))
    }

    fn list_lotteries(&self, status: Option<LotteryStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>> {
        Box::pin(crate::lottery::sqlite::list(&self.pool, status, limit))
    }

    fn open_lotteries_in<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<Lottery>>> {
        Box::pin(crate::lottery::sqlite::open_in(&self.pool, group))
    }

    fn lottery_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<LotteryEntry>>> {
        Box::pin(crate::lottery::sqlite::entries(&self.pool, id))
    }

    fn lottery_entry<'a>(&'a self, id: &'a str, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<LotteryEntry>>> {
        Box::pin(crate::lottery::sqlite::entry(&self.pool, id, connector, member))
    }

    fn lottery_message_count<'a>(&'a self, id: &'a str, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(crate::lottery::sqlite::message_count(&self.pool, id, connector, member))
    }

    fn lottery_message_counts<'a>(&'a self, id: &'a str, at_least: u32) -> BoxFuture<'a, StoreResult<Vec<MessageCount>>> {
        Box::pin(crate::lottery::sqlite::message_counts(&self.pool, id, at_least))
    }

    fn due_lotteries(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>> {
        Box::pin(crate::lottery::sqlite::due(&self.pool, now, limit))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.close_impl())
    }

    // --- content library (crate::content) ---

    fn content_create<'a>(&'a self, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>> {
        Box::pin(async move { crate::content::sqlite::create(self.write().await?, draft).await })
    }

    fn content_update<'a>(&'a self, id: i64, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>> {
        Box::pin(async move { crate::content::sqlite::update(self.write().await?, id, draft).await })
    }

    fn content_get(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ContentItem>>> {
        Box::pin(crate::content::sqlite::get(&self.pool, id))
    }

    fn content_list<'a>(&'a self, tag: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<ContentItem>>> {
        Box::pin(crate::content::sqlite::list(&self.pool, tag, limit))
    }

    fn content_delete<'a>(&'a self, id: i64, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { crate::content::sqlite::delete(self.write().await?, id, by, at).await })
    }

    // --- auto-reply (crate::faq) ---

    fn faq_last_answers<'a>(
        &'a self,
        group: &'a GroupKey,
        entry: &'a str,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<FaqLastAnswers>> {
        Box::pin(crate::faq::sqlite::last_answers(&self.pool, group, entry, member))
    }

    fn faq_stats<'a>(&'a self, filter: &'a FaqStatsFilter, limit: u32) -> BoxFuture<'a, StoreResult<Vec<FaqHitCount>>> {
        Box::pin(crate::faq::sqlite::stats(&self.pool, filter, limit))
    }

    // --- membership (crate::membership) ---

    fn count_members<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(crate::membership::sqlite::count_members(&self.pool, group))
    }

    // --- admission and the welcome ritual (crate::admission) ---

    fn join_request<'a>(&'a self, group: &'a GroupKey, request_id: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::admission::JoinRequestRecord>>> {
        Box::pin(crate::admission::sqlite::request(&self.pool, group, request_id))
    }

    fn join_requests(&self, status: Option<qunzhu_core::admission::JoinRequestStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::admission::JoinRequestRecord>>> {
        Box::pin(crate::admission::sqlite::requests(&self.pool, status, limit))
    }

    fn pending_welcomes<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::admission::WelcomeJoin>>> {
        Box::pin(crate::admission::sqlite::pending_welcomes(&self.pool, group))
    }

    fn due_welcomes(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::admission::DueWelcome>>> {
        Box::pin(crate::admission::sqlite::due_welcomes(&self.pool, limit))
    }

    fn count_joins<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(crate::admission::sqlite::count_joins(&self.pool, group, since))
    }

    fn group_guard<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::admission::GuardRecord>>> {
        Box::pin(crate::admission::sqlite::guard(&self.pool, group))
    }

    // --- referrals and milestones (crate::growth) ---

    fn referral<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::growth::Referral>>> {
        Box::pin(crate::growth::sqlite::referral(&self.pool, id))
    }

    fn list_referrals<'a>(
        &'a self,
        filter: &'a qunzhu_core::growth::ReferralFilter,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::growth::Referral>>> {
        Box::pin(crate::growth::sqlite::list_referrals(&self.pool, filter, limit))
    }

    fn due_referrals(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::growth::Referral>>> {
        Box::pin(crate::growth::sqlite::due_referrals(&self.pool, now, limit))
    }

    fn save_referral_code<'a>(&'a self, code: &'a qunzhu_core::growth::ReferralCode) -> BoxFuture<'a, StoreResult<qunzhu_core::growth::ReferralCode>> {
        Box::pin(crate::growth::sqlite::save_code(&self.pool, code))
    }

    fn referral_code<'a>(
        &'a self,
        connector: &'a ConnectorId,
        code: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::growth::ReferralCode>>> {
        Box::pin(crate::growth::sqlite::code(&self.pool, connector, code))
    }

    fn save_referral_campaign<'a>(
        &'a self,
        campaign: &'a qunzhu_core::growth::ReferralCampaign,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { crate::growth::sqlite::save_campaign(self.write().await?, campaign, audit).await })
    }

    fn referral_campaigns(&self) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::growth::ReferralCampaign>>> {
        Box::pin(crate::growth::sqlite::campaigns(&self.pool))
    }

    fn delete_referral_campaign<'a>(&'a self, id: &'a str, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { crate::growth::sqlite::delete_campaign(self.write().await?, id, audit).await })
    }

    fn milestone_reached<'a>(
        &'a self,
        group: &'a GroupKey,
        kind: qunzhu_core::growth::MilestoneKind,
        name: &'a str,
        threshold: i64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::growth::sqlite::milestone_reached(&self.pool, group, kind, name, threshold))
    }

    fn list_milestones<'a>(&'a self, group: Option<&'a GroupKey>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::growth::Milestone>>> {
        Box::pin(crate::growth::sqlite::list_milestones(&self.pool, group, limit))
    }

    fn counter_value<'a>(&'a self, group: &'a GroupKey, name: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(crate::growth::sqlite::counter_value(&self.pool, group, name))
    }

    fn list_counters<'a>(&'a self, group: Option<&'a GroupKey>) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::growth::Counter>>> {
        Box::pin(crate::growth::sqlite::list_counters(&self.pool, group))
    }

    fn group_message_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(crate::growth::sqlite::group_message_total(&self.pool, group))
    }

    fn group_check_in_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(crate::growth::sqlite::group_check_in_total(&self.pool, group))
    }

    fn create_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>> {
        Box::pin(async move { crate::membership::sqlite::create_channel(self.write().await?, channel, audit).await })
    }

    fn update_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>> {
        Box::pin(async move { crate::membership::sqlite::update_channel(self.write().await?, channel, audit).await })
    }

    fn get_channel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>> {
        Box::pin(crate::membership::sqlite::get_channel(&self.pool, id))
    }

    fn channel_by_code<'a>(&'a self, code: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>> {
        Box::pin(crate::membership::sqlite::channel_by_code(&self.pool, code))
    }

    fn list_channels(&self, archived: bool) -> BoxFuture<'_, StoreResult<Vec<Channel>>> {
        Box::pin(crate::membership::sqlite::list_channels(&self.pool, archived))
    }

    fn save_pool<'a>(&'a self, pool: &'a ChannelPool, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<ChannelPool>> {
        Box::pin(async move { crate::membership::sqlite::save_pool(self.write().await?, pool, audit).await })
    }

    fn get_pool<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChannelPool>>> {
        Box::pin(crate::membership::sqlite::get_pool(&self.pool, id))
    }

    fn list_pools(&self) -> BoxFuture<'_, StoreResult<Vec<ChannelPool>>> {
        Box::pin(crate::membership::sqlite::list_pools(&self.pool))
    }

    fn mark_pool_alerted<'a>(&'a self, id: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::membership::sqlite::mark_pool_alerted(&self.pool, id, at))
    }

    fn join_counts(&self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> BoxFuture<'_, StoreResult<JoinCounts>> {
        Box::pin(crate::membership::sqlite::join_counts(&self.pool, from, until))
    }

    fn latest_join<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<JoinRecord>>> {
        Box::pin(crate::membership::sqlite::latest_join(&self.pool, group, member))
    }

    fn remembered_code<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(crate::membership::sqlite::remembered_code(&self.pool, group, member))
    }

    fn member_profile<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<MemberProfile>>> {
        Box::pin(crate::membership::sqlite::member_profile(&self.pool, connector, member))
    }

    fn search_profiles<'a>(&'a self, tag: Option<&'a str>, query: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<MemberProfile>>> {
        Box::pin(crate::membership::sqlite::search_profiles(&self.pool, tag, query, limit))
    }

    fn tag_profile<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        add: &'a [String],
        remove: &'a [String],
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<MemberProfile>> {
        Box::pin(async move {
            crate::membership::sqlite::tag_profile(self.write().await?, connector, member, add, remove, audit).await?;
            crate::membership::sqlite::member_profile(&self.pool, connector, member)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("profile of {connector}/{member}")))
        })
    }

    fn churn<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaveRecord>>> {
        Box::pin(crate::membership::sqlite::churn(&self.pool, group, limit))
    }

    // --- newcomer gate (crate::gate) ---

    fn gate_entry<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::gate::GateEntry>>> {
        Box::pin(crate::gate::sqlite::entry(&self.pool, group, member))
    }

    fn gate_entries<'a>(&'a self, group: Option<&'a GroupKey>, status: qunzhu_core::gate::GateStatus, limit: u32) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::gate::GateEntry>>> {
        Box::pin(crate::gate::sqlite::entries(&self.pool, group, status, limit))
    }

    fn join_request_approved<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::gate::sqlite::approved(&self.pool, group, member))
    }

    fn insight_question_asker<'a>(&'a self, group: &'a GroupKey, message: &'a qunzhu_core::MessageId) -> BoxFuture<'a, StoreResult<Option<MemberId>>> {
        Box::pin(crate::insight::sqlite::question_asker(&self.pool, group, message))
    }

    fn insight_asked_between<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId, since: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::insight::sqlite::asked_between(&self.pool, group, member, since, until))
    }

    fn insight_rollups<'a>(&'a self, group: &'a GroupKey, granularity: qunzhu_core::insight::Granularity, from: i64, until: i64) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::insight::Rollup>>> {
        Box::pin(crate::insight::sqlite::rollups(&self.pool, group, granularity, from, until))
    }

    fn insight_member_days<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::insight::Rollup>>> {
        Box::pin(crate::insight::sqlite::member_days(&self.pool, connector, member))
    }

    fn insight_reset(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move { crate::insight::sqlite::reset(self.write().await?).await })
    }

    fn processed_events(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>> {
        Box::pin(crate::insight::sqlite::processed_events(&self.pool, after, limit))
    }

    fn record_conversion<'a>(&'a self, conversion: &'a qunzhu_core::insight::Conversion) -> BoxFuture<'a, StoreResult<(qunzhu_core::insight::Conversion, bool)>> {
        Box::pin(crate::insight::sqlite::record_conversion(&self.pool, conversion))
    }

    fn list_conversions(&self) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::insight::Conversion>>> {
        Box::pin(crate::insight::sqlite::conversions(&self.pool))
    }

    fn save_digest<'a>(&'a self, digest: &'a qunzhu_core::insight::DigestRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::insight::sqlite::save_digest(&self.pool, digest))
    }

    fn digest<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::insight::DigestRecord>>> {
        Box::pin(crate::insight::sqlite::digest(&self.pool, group, day))
    }

    fn list_digests<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::insight::DigestRecord>>> {
        Box::pin(crate::insight::sqlite::digests(&self.pool, group, limit))
    }

    // --- care ---

    fn care_questions<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<qunzhu_core::care::QuestionStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::care::CareQuestion>>> {
        Box::pin(crate::care::sqlite::questions(&self.pool, group, status))
    }

    fn care_question<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::care::CareQuestion>>> {
        Box::pin(crate::care::sqlite::question(&self.pool, id))
    }

    fn care_lines_since<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::care::CareLine>>> {
        Box::pin(crate::care::sqlite::lines_since(&self.pool, group, since))
    }

    fn care_tickets<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<qunzhu_core::care::TicketStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::care::Ticket>>> {
        Box::pin(crate::care::sqlite::tickets(&self.pool, group, status))
    }

    fn care_ticket<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::care::Ticket>>> {
        Box::pin(crate::care::sqlite::ticket(&self.pool, id))
    }

    fn save_ticket<'a>(&'a self, ticket: &'a qunzhu_core::care::Ticket) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::care::sqlite::save_ticket(&self.pool, ticket))
    }

    // --- task assignment (crate::tasks) ---

    fn assign_task<'a>(
        &'a self,
        id: &'a TaskId,
        assignee: Option<&'a str>,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::TaskAssignment>>> {
        Box::pin(async move { crate::tasks::sqlite::assign(self.write().await?, id, assignee, by, at).await })
    }

    fn task_assignments(&self, status: Option<TaskStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::TaskAssignment>>> {
        Box::pin(crate::tasks::sqlite::list(&self.pool, status, limit))
    }

    // --- life stage ---

    fn life_stage_record<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::life_stage::StageRecord>>> {
        Box::pin(crate::life_stage::sqlite::record(&self.pool, group))
    }

    fn care_line_counts<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<(u64, u64)>> {
        Box::pin(crate::life_stage::sqlite::care_line_counts(&self.pool, group, since, until))
    }

    fn group_events<'a>(&'a self, group: &'a GroupKey, from: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        Box::pin(crate::digest::sqlite::group_events(&self.pool, group, from, until))
    }

    // --- dashboard overview (crate::overview) ---

    fn insight_group_days(&self, from: i64, until: i64) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::insight::Rollup>>> {
        Box::pin(crate::overview::sqlite::group_days(&self.pool, from, until))
    }

    fn insight_first_days(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, i64)>>> {
        Box::pin(crate::overview::sqlite::first_days(&self.pool))
    }

    fn member_counts(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, u32)>>> {
        Box::pin(crate::overview::sqlite::member_counts(&self.pool))
    }

    // --- accounts ---

    fn count_accounts(&self) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(crate::accounts::sqlite::count(&self.pool))
    }

    fn create_account<'a>(
        &'a self,
        account: &'a qunzhu_core::accounts::NewAccount,
        first: bool,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<qunzhu_core::accounts::Account>> {
        Box::pin(async move { crate::accounts::sqlite::create(self.write().await?, account, first, audit).await })
    }

    fn account(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<qunzhu_core::accounts::Account>>> {
        Box::pin(crate::accounts::sqlite::get(&self.pool, id))
    }

    fn account_by_login<'a>(&'a self, login: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::accounts::Account>>> {
        Box::pin(crate::accounts::sqlite::by_login(&self.pool, login))
    }

    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::accounts::Account>>> {
        Box::pin(crate::accounts::sqlite::list(&self.pool))
    }

    fn update_account<'a>(
        &'a self,
        id: i64,
        change: &'a qunzhu_core::accounts::AccountChange,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<qunzhu_core::accounts::Account>> {
        Box::pin(async move { crate::accounts::sqlite::update(self.write().await?, id, change, audit).await })
    }

    fn create_session<'a>(&'a self, session: &'a qunzhu_core::accounts::Session, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { crate::accounts::sqlite::create_session(self.write().await?, session, audit).await })
    }

    fn session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<(qunzhu_core::accounts::Session, qunzhu_core::accounts::Account)>>> {
        Box::pin(crate::accounts::sqlite::session(&self.pool, token_hash, now))
    }

    fn touch_session<'a>(&'a self, token_hash: &'a str, seen: DateTime<Utc>, expires_at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::accounts::sqlite::touch_session(&self.pool, token_hash, seen, expires_at))
    }

    fn delete_session<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::accounts::sqlite::delete_session(&self.pool, token_hash))
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(crate::accounts::sqlite::delete_expired(&self.pool, now))
    }

    fn create_api_token<'a>(
        &'a self,
        token: &'a qunzhu_core::accounts::NewApiToken,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<qunzhu_core::accounts::ApiToken>> {
        Box::pin(async move { crate::accounts::sqlite::create_token(self.write().await?, token, audit).await })
    }

    fn api_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<qunzhu_core::accounts::ApiToken>>> {
        Box::pin(crate::accounts::sqlite::token(&self.pool, token_hash))
    }

    fn list_api_tokens(&self) -> BoxFuture<'_, StoreResult<Vec<qunzhu_core::accounts::ApiToken>>> {
        Box::pin(crate::accounts::sqlite::tokens(&self.pool))
    }

    fn revoke_api_token<'a>(&'a self, id: i64, at: DateTime<Utc>, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { crate::accounts::sqlite::revoke_token(self.write().await?, id, at, audit).await })
    }

    fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(crate::accounts::sqlite::touch_token(&self.pool, id, at))
    }

    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { crate::accounts::sqlite::append_audit(self.write().await?, entry).await })
    }

    fn save_roster<'a>(&'a self, roster: &'a qunzhu_core::platform::Roster) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::platform::sqlite::save_roster(&self.pool, roster))
    }

    fn rosters<'a>(&'a self, connector: &'a ConnectorId) -> BoxFuture<'a, StoreResult<Vec<qunzhu_core::platform::Roster>>> {
        Box::pin(crate::platform::sqlite::rosters(&self.pool, connector))
    }

    fn delete_roster<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::platform::sqlite::delete_roster(&self.pool, group))
    }

    fn connector_value<'a>(&'a self, connector: &'a ConnectorId, key: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(crate::platform::sqlite::connector_value(&self.pool, connector, key))
    }

    fn set_connector_value<'a>(&'a self, connector: &'a ConnectorId, key: &'a str, value: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(crate::platform::sqlite::set_connector_value(&self.pool, connector, key, value, at))
    }

    fn hand_over<'a>(&'a self, task: &'a StaffTask, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(crate::platform::sqlite::hand_over(&self.pool, task, audit))
    }
}
