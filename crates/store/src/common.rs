//! What both backends share: JSON and time codecs, error mapping, and the pure state
//! transitions copied from the reference [`MemoryStore`](qunzhu_core::memory::MemoryStore),
//! so SQLite and PostgreSQL cannot drift from it (or from each other).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use qunzhu_core::moderation::{
    MemberChange, MemberRecord, MemberUpdate, Violation, ViolationStatus,
};
use qunzhu_core::store::{AttemptResult, NewRulebookVersion, OutboxEntry, RulebookVersion};
use qunzhu_core::{NewAuditEntry, StaffTask, StoreError, StoreResult, TaskStatus};

/// Any database failure that is not a decision of ours (not found, conflict).
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Whether `error` is a UNIQUE/PRIMARY KEY violation (both backends report it the same way).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("could not encode {what} as JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// SQLite keeps times as INTEGER microseconds since the Unix epoch: integer order is time
/// order, and it is the precision PostgreSQL's TIMESTAMPTZ keeps too, so both backends
/// round-trip a time identically (sub-microsecond digits are dropped by both).
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(crate) fn from_micros(value: i64, what: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        StoreError::Corrupt(format!("{what}: {value} µs is not a representable time"))
    })
}

pub(crate) fn attempts_from_db(value: i64) -> StoreResult<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("outbox attempts: {value} is out of range")))
}

pub(crate) fn status_from_db(name: &str) -> StoreResult<qunzhu_core::store::ActionStatus> {
    qunzhu_core::store::ActionStatus::from_name(name)
        .ok_or_else(|| StoreError::Corrupt(format!("outbox status: unknown value {name:?}")))
}

pub(crate) fn task_status_from_db(name: &str) -> StoreResult<TaskStatus> {
    TaskStatus::from_name(name)
        .ok_or_else(|| StoreError::Corrupt(format!("task status: unknown value {name:?}")))
}

/// Applies one attempt's outcome to an outbox entry, exactly as `MemoryStore` does.
pub(crate) fn apply_attempt(entry: &mut OutboxEntry, result: &AttemptResult, at: DateTime<Utc>) {
    use qunzhu_core::store::ActionStatus;
    entry.updated_at = at;
    match result {
        AttemptResult::Delivered => {
            entry.status = ActionStatus::Delivered;
            entry.last_error = None;
        }
        AttemptResult::AwaitingPeer => entry.status = ActionStatus::AwaitingPeer,
        AttemptResult::Retry {
            next_attempt_at,
            error,
        } => {
            entry.status = ActionStatus::Pending;
            entry.attempts = entry.attempts.saturating_add(1);
            entry.next_attempt_at = *next_attempt_at;
            entry.last_error = Some(error.clone());
        }
        AttemptResult::Failed { error } => {
            entry.status = ActionStatus::Failed;
            entry.attempts = entry.attempts.saturating_add(1);
            entry.last_error = Some(error.clone());
        }
    }
}

/// The stored task JSON holds everything but the mutable columns, which win over it.
pub(crate) fn task_from_db(
    json: &str,
    status: &str,
    updated_at: DateTime<Utc>,
    updated_by: Option<String>,
) -> StoreResult<StaffTask> {
    let mut task: StaffTask = from_json(json, "staff task")?;
    task.status = task_status_from_db(status)?;
    task.updated_at = updated_at;
    task.updated_by = updated_by;
    Ok(task)
}

/// The audit row `set_task_status` writes (same text as `MemoryStore`).
pub(crate) fn task_status_audit(
    task: &StaffTask,
    from: TaskStatus,
    by: &str,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry {
        time: at,
        actor: by.to_owned(),
        kind: "task.status".into(),
        group: Some(task.group.clone()),
        event_id: None,
        action_id: Some(task.action.id.clone()),
        rule: Some(task.action.rule.clone()),
        summary: format!("待办 {}：{} → {}", task.id, from.name(), task.status.name()),
        detail: None,
    }
}

/// The audit row `rulebook_save` writes (same text as `MemoryStore`).
pub(crate) fn rulebook_audit(saved: &RulebookVersion) -> NewAuditEntry {
    NewAuditEntry {
        time: saved.time,
        actor: saved.author.clone(),
        kind: "rulebook.save".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: format!("规则手册 v{}：{}", saved.version, saved.note),
        detail: None,
    }
}

pub(crate) fn rulebook_conflict(head: Option<i64>, parent: Option<i64>) -> StoreError {
    StoreError::Conflict(format!(
        "rulebook head is {head:?}, the edit was based on {parent:?}"
    ))
}

/// The version a save creates, or a conflict if the head moved since the author's read.
pub(crate) fn next_rulebook_version(
    head: Option<i64>,
    new: &NewRulebookVersion,
) -> StoreResult<RulebookVersion> {
    if head != new.parent {
        return Err(rulebook_conflict(head, new.parent));
    }
    Ok(RulebookVersion {
        version: head.unwrap_or(0) + 1,
        author: new.author.clone(),
        note: new.note.clone(),
        changes: new.changes.clone(),
        body: new.body.clone(),
        time: new.time,
    })
}

pub(crate) fn violation_status_from_db(name: &str) -> StoreResult<ViolationStatus> {
    ViolationStatus::from_name(name)
        .ok_or_else(|| StoreError::Corrupt(format!("violation status: unknown value {name:?}")))
}

/// The stored violation JSON holds everything but the status, whose column wins over it.
pub(crate) fn violation_from_db(json: &str, status: &str) -> StoreResult<Violation> {
    let mut violation: Violation = from_json(json, "violation")?;
    violation.status = violation_status_from_db(status)?;
    Ok(violation)
}

/// A member's display name as stored: a JSON string, so a NUL typed into a nickname is
/// kept (PostgreSQL TEXT cannot hold one raw).
pub(crate) fn name_to_db(name: Option<&str>) -> StoreResult<Option<String>> {
    name.map(|n| to_json(n, "member name")).transpose()
}

pub(crate) fn name_from_db(name: Option<String>) -> StoreResult<Option<String>> {
    name.map(|n| from_json(&n, "member name")).transpose()
}

pub(crate) fn messages_from_db(value: i64) -> StoreResult<u64> {
    u64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("member messages: {value} is out of range")))
}

/// The record a member update creates when the engine had not seen the member in that
/// group yet: `MemoryStore`'s fresh record with the update applied.
pub(crate) fn new_member_record(update: &MemberUpdate) -> MemberRecord {
    let mut record = MemberRecord {
        group: update.group.clone(),
        member: update.member.clone(),
        name: update.name.clone(),
        first_seen: update.at,
        joined_at: None,
        left_at: None,
        messages: 0,
        last_message_at: None,
    };
    match update.change {
        MemberChange::Joined => record.joined_at = Some(update.at),
        MemberChange::Left => record.left_at = Some(update.at),
        MemberChange::Posted => {
            record.messages = 1;
            record.last_message_at = Some(update.at);
        }
        MemberChange::Seen => {}
    }
    record
}

/// The upsert of a member update, the same SQL on both backends (bind `?` on SQLite is
/// written `$n` on PostgreSQL, so the caller supplies the VALUES list). A known name is
/// replaced only by a new one; `first_seen` is never touched after the insert.
pub(crate) fn member_upsert(change: MemberChange, values: &str) -> String {
    let changed = match change {
        MemberChange::Joined => ", joined_at = excluded.joined_at, left_at = NULL",
        MemberChange::Left => ", left_at = excluded.left_at",
        MemberChange::Posted => {
            ", messages = members.messages + 1, last_message_at = excluded.last_message_at"
        }
        MemberChange::Seen => "",
    };
    format!(
        "INSERT INTO members (connector, group_id, member_id, name, first_seen, joined_at, left_at, \
                              messages, last_message_at) VALUES ({values}) \
         ON CONFLICT (connector, group_id, member_id) DO UPDATE SET \
             name = COALESCE(excluded.name, members.name){changed}"
    )
}
