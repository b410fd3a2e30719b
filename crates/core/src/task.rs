//! Staff tasks (待办): actions a platform cannot perform, turned into exact manual steps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::ids::{GroupKey, TaskId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffTask {
    pub id: TaskId,
    pub group: GroupKey,
    /// One line for the task board (zh-CN by default).
    pub title: String,
    /// The exact manual step ("在群 X 中将 Y 禁言 10 分钟，原因：…").
    pub step: String,
    /// The action the engine wanted, with its explanation.
    pub action: Action,
    pub status: TaskStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Dismissed,
}

impl TaskStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::Done, Self::Dismissed].into_iter().find(|s| s.name() == name)
    }
}

/// Who a staff task is assigned to (`Store::assign_task`). Kept beside the task (table
/// `task_assignments`, migration 0020), so tasks the planner writes stay as they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAssignment {
    pub task: TaskId,
    /// The staff member's name as the operator typed it.
    pub assignee: String,
    pub assigned_at: DateTime<Utc>,
    /// Who assigned it (`operator:alice`).
    pub assigned_by: String,
}

/// The audit row of an assignment change (the same text on every backend).
pub fn assignment_audit(task: &StaffTask, assignee: Option<&str>, by: &str, at: DateTime<Utc>) -> crate::audit::NewAuditEntry {
    crate::audit::NewAuditEntry {
        time: at,
        actor: by.to_owned(),
        kind: "task.assign".into(),
        group: Some(task.group.clone()),
        event_id: None,
        action_id: Some(task.action.id.clone()),
        rule: Some(task.action.rule.clone()),
        summary: match assignee {
            Some(name) => format!("待办 {} 指派给 {name}", task.id),
            None => format!("待办 {} 取消指派", task.id),
        },
        detail: None,
    }
}
