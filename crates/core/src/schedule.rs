//! Scheduled posts (定时任务): what to post, where and when. Operational data created through
//! the API, not rulebook; the engine computes the runs (`qunzhu_engine::rules::schedule`),
//! the store keeps the definitions, their next run and their last run.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::audit::NewAuditEntry;
use crate::ids::{ConnectorId, GroupKey};

/// A schedule, numbered by the store (1, 2, 3… in creation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduleId(pub i64);

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an operator defines: everything but the bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDef {
    /// A name for operators (`早报`, `0点上新`).
    pub name: String,
    pub when: When,
    /// IANA timezone the times are read in. Left out on creation, it becomes the timezone of
    /// the template the target uses; it is always set on a stored schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub target: Target,
    pub post: Post,
    /// What happens to runs missed while qunzhu was down.
    #[serde(default)]
    pub missed: MissedRuns,
    /// At most this many groups of one connector get the post per minute (the rest wait,
    /// see `Proposal::not_before`), so a schedule to 500 groups stays within what the
    /// platform tolerates. `0` posts to every group at once.
    #[serde(default = "default_groups_per_minute")]
    pub groups_per_minute: u32,
}

/// The spread every schedule gets unless it says otherwise.
pub const DEFAULT_GROUPS_PER_MINUTE: u32 = 20;

fn default_groups_per_minute() -> u32 {
    DEFAULT_GROUPS_PER_MINUTE
}

/// When a schedule fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum When {
    /// A cron expression (`minute hour day month weekday`, e.g. `0 8 * * *`), in the
    /// schedule's timezone.
    Cron { cron: String },
    /// Once: `2026-01-01T00:00` (in the schedule's timezone) or an RFC 3339 instant with
    /// its offset (`2026-01-01T00:00:00+08:00`).
    Once { at: String },
    /// On named Chinese holidays (春节, 元宵, 清明, 劳动节, 端午, 中秋, 国庆, 元旦…; every one
    /// known when the list is empty) at a local time of day (`HH:MM`).
    Holidays {
        #[serde(default)]
        holidays: Vec<String>,
        time: String,
    },
}

/// Which groups get the post. Resolved at each run, so groups seen since are included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// These groups, written `connector/group`.
    Groups {
        #[serde(serialize_with = "keys_to_text", deserialize_with = "keys_from_text")]
        groups: Vec<GroupKey>,
    },
    /// Every group that uses this template (for `default`: every group not bound to another).
    Template { template: String },
    /// Every group of this connector.
    Connector { connector: ConnectorId },
}

/// What is posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// `message` posts in the group; `announcement` sets the group announcement (群公告),
    /// a staff task where the platform cannot.
    #[serde(default)]
    pub kind: PostKind,
    /// The text. Placeholders: `{group}` (the group's name), `{date}` and `{weekday}` (the
    /// run's local date), `{holiday}` (the holiday's name, for holiday schedules).
    pub text: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    #[default]
    Message,
    Announcement,
}

/// The policy for runs whose time passed while qunzhu was not running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedRuns {
    /// Missed runs are dropped (and the audit log says so); the schedule goes on with the
    /// next one.
    #[default]
    Skip,
    /// After downtime the latest missed run is posted once, late; earlier ones are dropped.
    CatchUpOnce,
}

impl MissedRuns {
    pub fn name(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::CatchUpOnce => "catch_up_once",
        }
    }
}

/// A stored schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub id: ScheduleId,
    #[serde(flatten)]
    pub def: ScheduleDef,
    pub paused: bool,
    /// The next run's instant; `None` when no run is left (a one-off that ran, a holiday
    /// schedule past the calendar's end).
    pub next_run: Option<DateTime<Utc>>,
    /// The instant of the last run that was posted.
    pub last_run: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who last changed it (`operator:alice`).
    pub updated_by: String,
}

/// A schedule to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSchedule {
    pub def: ScheduleDef,
    pub paused: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub by: String,
    pub at: DateTime<Utc>,
    /// Detail for the audit row (JSON text), e.g. the definition.
    pub detail: Option<String>,
}

/// A change to a schedule: its whole new state (definition, paused flag, next run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleUpdate {
    pub def: ScheduleDef,
    pub paused: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub change: ScheduleChange,
    pub by: String,
    pub at: DateTime<Utc>,
    /// Detail for the audit row (JSON text).
    pub detail: Option<String>,
}

/// What a change to a schedule was, for its audit row (`schedule.<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleChange {
    Create,
    Update,
    Pause,
    Resume,
    Delete,
}

impl ScheduleChange {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Delete => "delete",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Create => "已创建",
            Self::Update => "已修改",
            Self::Pause => "已暂停",
            Self::Resume => "已恢复",
            Self::Delete => "已删除",
        }
    }
}

/// The audit row a schedule change writes; every store writes exactly this one, in the
/// transaction of the change.
pub fn change_audit(schedule: &Schedule, change: ScheduleChange, by: &str, at: DateTime<Utc>, detail: Option<String>) -> NewAuditEntry {
    NewAuditEntry {
        time: at,
        actor: by.to_owned(),
        kind: format!("schedule.{}", change.name()),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("schedule".into()),
        summary: format!("定时任务 #{}「{}」：{}", schedule.id, schedule.def.name, change.verb()),
        detail,
    }
}

/// What the scheduler records once a due run was handled.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRun {
    /// The next run the scheduler found due; the record applies only while the stored next
    /// run is still this one (an edit or another scheduler did not move it first).
    pub expected: DateTime<Utc>,
    /// The run that was posted, if one was (a skipped run posts nothing).
    pub ran: Option<DateTime<Utc>>,
    pub next_run: Option<DateTime<Utc>>,
    /// Audit rows to write with it (skipped runs, a late catch-up).
    pub audit: Vec<NewAuditEntry>,
}

fn keys_to_text<S: Serializer>(keys: &[GroupKey], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(keys.iter().map(ToString::to_string))
}

fn keys_from_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<GroupKey>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| {
            GroupKey::parse(text).ok_or_else(|| {
                serde::de::Error::custom(format!("`{text}` is not a group; write `connector/group`, e.g. \"qq/123456\""))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def_json() -> serde_json::Value {
        serde_json::json!({
            "name": "早报",
            "when": {"type": "cron", "cron": "0 8 * * *"},
            "target": {"type": "groups", "groups": ["qq/1", "qq/team/2"]},
            "post": {"text": "早上好 {group}"}
        })
    }

    #[test]
    fn a_definition_reads_groups_as_connector_slash_group_and_fills_defaults() {
        let def: ScheduleDef = serde_json::from_value(def_json()).unwrap();
        assert_eq!(def.target, Target::Groups { groups: vec![GroupKey::new("qq", "1"), GroupKey::new("qq", "team/2")] });
        assert_eq!(def.post.kind, PostKind::Message);
        assert_eq!(def.missed, MissedRuns::Skip);
        assert_eq!(def.groups_per_minute, DEFAULT_GROUPS_PER_MINUTE);
        assert_eq!(serde_json::to_value(&def).unwrap()["target"]["groups"], serde_json::json!(["qq/1", "qq/team/2"]));
    }

    #[test]
    fn unknown_fields_and_bad_groups_are_refused() {
        let mut typo = def_json();
        typo["when"]["every"] = "day".into();
        assert!(serde_json::from_value::<ScheduleDef>(typo).unwrap_err().to_string().contains("unknown field `every`"));
        let mut bad = def_json();
        bad["target"]["groups"] = serde_json::json!(["nogroup"]);
        assert!(serde_json::from_value::<ScheduleDef>(bad).unwrap_err().to_string().contains("connector/group"));
    }
}
