//! The audit log: who or what decided or changed what, and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, GroupKey, PlatformEventId};

/// An audit row to write (the store assigns the id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub time: DateTime<Utc>,
    /// `engine`, `operator:<name>`, `bridge:<connector>`, `cli`…
    pub actor: String,
    /// What kind of record: `decision`, `rulebook.save`, `task.status`, `action.result`…
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<PlatformEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<ActionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// One human-readable sentence.
    pub summary: String,
    /// Structured detail as JSON text, when there is more to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A stored audit row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
}
