//! Admission and the welcome ritual: join requests and their decisions, the join log that
//! batches welcomes and measures join waves, and a group's guarded mode.
//!
//! Everything here is written by rules as [`AdmissionWrite`]s committed with the event that
//! caused it, so a decision, its action and its record can never disagree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupKey, MemberId};

/// Where a join request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRequestStatus {
    /// Seen, not decided yet.
    Pending,
    Approved,
    Rejected,
    /// Waiting for a human (a staff task was opened).
    Held,
}

impl JoinRequestStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Held => "held",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Held].into_iter().find(|s| s.name() == name)
    }

    /// Approved or rejected: nothing more to decide.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected)
    }
}

/// A join request and what was decided about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequestRecord {
    pub group: GroupKey,
    /// The platform's request id.
    pub request_id: String,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the applicant wrote (the answer to the question, an invite code…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub status: JoinRequestStatus,
    /// Why, in the operator's language (for a rejection also what the applicant is told).
    pub reason: String,
    /// Each screening check that spoke, explained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `engine` or the operator who decided.
    pub decided_by: String,
}

/// One join on record: the join log (join waves) and the welcome it is owed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeJoin {
    /// `<connector>/<platform event id>`: a re-processed join is skipped.
    pub id: String,
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<String>,
    /// 你是本群第N位成员.
    pub member_no: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// A batched welcome is still owed.
    pub welcome_pending: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcomed_at: Option<DateTime<Utc>>,
}

/// A group in guarded mode after a join wave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardRecord {
    pub group: GroupKey,
    pub started_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Joins counted in the window when it started.
    pub joins: u32,
    /// Why, in the operator's language.
    pub reason: String,
}

impl GuardRecord {
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.started_at <= now && now < self.until
    }
}

/// A change to admission state, committed with its event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdmissionWrite {
    /// Records a request or its new status; a request already approved or rejected is left
    /// as it is (a decision is final).
    Request(JoinRequestRecord),
    /// Logs a join; one whose id is already stored is skipped.
    Join(WelcomeJoin),
    /// Marks these joins welcomed (those still pending; others are left alone).
    Welcomed { group: GroupKey, ids: Vec<String>, at: DateTime<Utc> },
    /// Puts the group in guarded mode (replacing an earlier guard).
    Guard(GuardRecord),
    /// Ends the group's guarded mode now.
    EndGuard { group: GroupKey, at: DateTime<Utc> },
}

/// A group owing batched welcomes, with its oldest owed join's time
/// ([`crate::Store::due_welcomes`]).
pub type DueWelcome = (GroupKey, DateTime<Utc>);
