//! The newcomer gate (入群验证): where a platform has no join requests, a newcomer is muted
//! until they answer a question within a deadline. One row per (group, member): opened by
//! the join, passed by an answer (or staff), timed out by the scheduler's tick, cleared by a
//! leave. Every change is a [`GateWrite`] committed with the event that caused it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupKey, MemberId};

/// Where a newcomer's gate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// Muted, waiting for the answer; their other messages are deleted.
    Pending,
    /// Answered (or passed by staff): unmuted.
    Passed,
    /// The deadline passed unanswered (the member was kicked, or staff were asked).
    TimedOut,
}

impl GateStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Passed => "passed",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Passed, Self::TimedOut].into_iter().find(|s| s.name() == name)
    }
}

/// A newcomer at the gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateEntry {
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: GateStatus,
    pub joined_at: DateTime<Utc>,
    /// When an unanswered gate times out.
    pub deadline: DateTime<Utc>,
    /// When it was passed or timed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// `engine` (an answer, the deadline) or the operator who passed the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// A change to the gate, committed with its event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GateWrite {
    /// Opens the member's gate (a rejoin replaces an earlier row).
    Open(GateEntry),
    /// Marks the gate passed, if it is pending or timed out (a passed one is left alone).
    Pass { group: GroupKey, member: MemberId, at: DateTime<Utc>, by: String },
    /// Marks the gate timed out, only if it is still pending with this deadline (an answer
    /// or a rejoin in between wins).
    TimeOut { group: GroupKey, member: MemberId, deadline: DateTime<Utc>, at: DateTime<Utc> },
    /// Removes the member's row (they left).
    Clear { group: GroupKey, member: MemberId },
}
