//! Growth (增长): referrals (裂变), personal invite codes, referral campaigns, milestones
//! (里程碑) and custom counters.
//!
//! A **referral** is one invitee's join into one group, attributed to an inviter (the
//! platform's inviter or the owner of a personal invite code). Its id is derived from the group
//! and the invitee ([`referral_id`]), so an invitee is counted once per group however often
//! they leave and rejoin. It is `pending` until the invitee has stayed the stay days **and**
//! spoken, then `valid` (the inviter is paid); a leave while pending makes it `void`; a leave
//! inside the early-leave window after validation makes it `reversed` (the reward is taken
//! back once).
//!
//! A **milestone** is a threshold a group crossed (member count, check-in total, message
//! total, a custom counter); the store keeps at most one row per (group, kind, name,
//! threshold), and refuses a second from another event, so a celebration is sent once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId, PlatformEventId};

/// Where a referral stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Waiting for the invitee to stay and speak.
    Pending,
    /// Counted; the inviter was rewarded.
    Valid,
    /// The invitee left before it became valid.
    Void,
    /// The invitee left soon after it became valid; the reward was taken back.
    Reversed,
}

impl ReferralStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Valid, Self::Void, Self::Reversed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Valid => "valid",
            Self::Void => "void",
            Self::Reversed => "reversed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How a join was attributed to its inviter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralSource {
    /// The platform said who invited them.
    Platform,
    /// A personal invite code, given with the join or as the invitee's first message.
    Code,
}

/// One invitee's join into one group, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// [`referral_id`] of the group and invitee.
    pub id: String,
    pub group: GroupKey,
    pub inviter: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter_name: Option<String>,
    pub invitee: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitee_name: Option<String>,
    pub source: ReferralSource,
    /// The personal code, for [`ReferralSource::Code`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The campaign it counts for, if one was running for the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Points the inviter gets when it becomes valid (fixed at the join).
    pub reward_points: i64,
    /// The join.
    pub joined_at: DateTime<Utc>,
    /// When the stay requirement is met (`joined_at` + stay days).
    pub due_at: DateTime<Utc>,
    /// How long after validation a leave still reverses the reward, in seconds.
    pub early_leave_secs: i64,
    /// The join event.
    pub cause: PlatformEventId,
    pub status: ReferralStatus,
    /// The invitee's first message after the join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoke_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_at: Option<DateTime<Utc>>,
    /// When the invitee left (first leave after the join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<DateTime<Utc>>,
}

/// The id of the referral of `invitee` into `group`: one per invitee and group.
pub fn referral_id(group: &GroupKey, invitee: &MemberId) -> String {
    format!("ref:{group}/{invitee}")
}

/// A change to a referral, committed with the event that decided it. Each is conditional
/// (a transition from the state it names) and otherwise skipped, so a re-run changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReferralWrite {
    /// A new referral; skipped when one with its id exists (a rejoin is not a new invite).
    Invited(Box<Referral>),
    /// The invitee spoke (sets `spoke_at` once).
    Spoke { id: String, at: DateTime<Utc> },
    /// `pending` → `valid`.
    Validated { id: String, at: DateTime<Utc> },
    /// `pending` → `void` (and `left_at`).
    Voided { id: String, at: DateTime<Utc> },
    /// `valid` → `reversed` (and `left_at`).
    Reversed { id: String, at: DateTime<Utc> },
    /// The invitee left with nothing else changing (sets `left_at` once).
    Left { id: String, at: DateTime<Utc> },
}

/// Which referrals to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferralFilter {
    pub group: Option<GroupKey>,
    pub campaign: Option<String>,
    pub inviter: Option<MemberId>,
    pub status: Option<ReferralStatus>,
}

impl ReferralFilter {
    pub fn matches(&self, referral: &Referral) -> bool {
        self.group.as_ref().is_none_or(|g| g == &referral.group)
            && self.campaign.as_ref().is_none_or(|c| referral.campaign.as_ref() == Some(c))
            && self.inviter.as_ref().is_none_or(|i| i == &referral.inviter)
            && self.status.is_none_or(|s| s == referral.status)
    }
}

/// A member's personal invite code (one per member of a community).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralCode {
    pub code: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A referral campaign: its own reward and rules for a period, in some groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralCampaign {
    pub id: String,
    pub name: String,
    /// The groups it runs in; empty: every group.
    #[serde(default)]
    pub groups: Vec<GroupKey>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reward_points: i64,
    pub stay_days: u32,
    /// Days after validation in which a leave reverses the reward.
    pub early_leave_days: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl ReferralCampaign {
    /// Whether a join into `group` at `at` counts for this campaign.
    pub fn covers(&self, group: &GroupKey, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at && (self.groups.is_empty() || self.groups.contains(group))
    }
}

/// What a milestone counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneKind {
    Members,
    CheckIns,
    Messages,
    Counter,
}

impl MilestoneKind {
    pub const ALL: [Self; 4] = [Self::Members, Self::CheckIns, Self::Messages, Self::Counter];

    pub fn name(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::CheckIns => "check_ins",
            Self::Messages => "messages",
            Self::Counter => "counter",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A threshold a group crossed. At most one per (group, kind, name, threshold).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub group: GroupKey,
    pub kind: MilestoneKind,
    /// The counter's name for [`MilestoneKind::Counter`], else empty.
    #[serde(default)]
    pub name: String,
    pub threshold: i64,
    /// The count when it was crossed.
    pub count: i64,
    /// The member whose action crossed it, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberId>,
    /// The event that crossed it.
    pub cause: PlatformEventId,
    pub reached_at: DateTime<Utc>,
}

/// An increment of a custom counter (e.g. orders), skipped when its id is already stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterIncrement {
    pub id: String,
    pub group: GroupKey,
    pub name: String,
    pub amount: i64,
    pub at: DateTime<Utc>,
}

/// A custom counter's value in a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub group: GroupKey,
    pub name: String,
    pub value: i64,
    pub updated_at: DateTime<Utc>,
}
