//! Moderation records: violations, the community blacklist, operator corrections for the
//! spam classifier, and what the engine remembers about each member of each group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, ConnectorId, GroupKey, MemberId, MessageId, PlatformEventId};

/// One moderation verdict against one member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Deterministic: `v-<event action prefix>` (e.g. `v-e42`), so a re-run is idempotent.
    pub id: String,
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    pub event_id: PlatformEventId,
    /// The main category: `ad`, `scam`, `porn`, `gambling`, `abuse`, `politics`, `custom`,
    /// `spam`, `flood`, `wave`, `link`, `contact`, …
    pub category: String,
    /// The message text (kept for review and corrections).
    pub text: String,
    /// Every check that fired, with its evidence, as JSON text (an array).
    pub checks: String,
    /// The ladder step applied: `warn`, `delete`, `mute:600`, `kick`, `blacklist`…
    pub penalty: String,
    /// The actions taken (or planned as staff tasks) for it.
    pub actions: Vec<ActionId>,
    /// Decided in dry-run mode: recorded, nothing done.
    pub dry_run: bool,
    pub status: ViolationStatus,
    pub time: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationStatus {
    /// Counts towards the ladder.
    Active,
    /// Penalty reversed by an operator; no longer counts.
    Undone,
    /// Marked a false positive (the classifier learned it); no longer counts.
    FalsePositive,
}

impl ViolationStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Undone => "undone",
            Self::FalsePositive => "false_positive",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Active, Self::Undone, Self::FalsePositive].into_iter().find(|s| s.name() == name)
    }
}

/// A member kept out of every group of a connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlacklistEntry {
    pub connector: ConnectorId,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    pub reason: String,
    /// `engine` or `operator:<name>`.
    pub added_by: String,
    pub added_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
}

/// An operator's correction: "this is spam" / "this is not spam".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub text: String,
    pub is_spam: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
}

/// What the engine remembers about a member of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// The latest join, when the engine saw one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<DateTime<Utc>>,
    /// Set while the member is out of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<DateTime<Utc>>,
    /// Messages seen from this member in this group.
    pub messages: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<DateTime<Utc>>,
}

/// A change to a [`MemberRecord`], committed with the event that caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberUpdate {
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub at: DateTime<Utc>,
    pub change: MemberChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// Sets `joined_at`, clears `left_at`.
    Joined,
    /// Sets `left_at`.
    Left,
    /// Increments `messages`, sets `last_message_at`.
    Posted,
    /// Only records that the member was seen (creates the record; updates the name).
    Seen,
}
