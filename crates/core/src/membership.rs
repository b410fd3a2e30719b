//! Membership: who joined, through which channel, and what number they are.
//!
//! [`JoinFacts`] is what the pipeline learns about a join before the rules see it (the
//! welcome's `{member_no}`, `{channel}`, `{tier}`; referrals; milestones), so every rule reads
//! the same answer and none of them queries for it again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId};

/// What the engine knows about a join when the rules judge it (`RuleContext::join`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinFacts {
    /// The newcomer's number in the group (你是本群第N位成员): the members on record who have
    /// not left, this newcomer included.
    pub member_no: u32,
    /// The channel (渠道活码) the join is attributed to, when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelRef>,
}

/// The parts of a channel the rules need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRef {
    pub id: String,
    pub name: String,
    /// The intent tier (`strong`, `medium`, `weak` or a custom one).
    pub tier: String,
    /// Tags the channel gives its members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

// --- channels (渠道活码), pools, the join log, profiles, leaves ---


/// A channel (渠道活码): where newcomers come from, the tier and tags they get, and the pool
/// of groups its invite sends them to. Archived channels keep their code (old QR codes still
/// attribute joins) but their landing page no longer invites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// A slug, e.g. `gzh-menu`.
    pub id: String,
    pub name: String,
    /// `strong`, `medium`, `weak` or a custom slug.
    pub tier: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The pool its invites route to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The invite code (upper-case letters and digits), unique across channels.
    pub code: String,
    #[serde(default)]
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl Channel {
    /// What the rules see of it.
    pub fn to_ref(&self) -> ChannelRef {
        ChannelRef { id: self.id.clone(), name: self.name.clone(), tier: self.tier.clone(), tags: self.tags.clone() }
    }
}

/// A group in a pool, in routing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolGroup {
    pub group: GroupKey,
    /// Members at which the group counts as full.
    pub cap: u32,
    /// The platform's invite link for the group; without one the landing page shows the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
}

/// A group pool: the ordered groups a tier's newcomers are sent to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPool {
    pub id: String,
    pub name: String,
    pub groups: Vec<PoolGroup>,
    /// Staff are asked for a new group when the last group reaches this share of its cap
    /// (or every group is full).
    pub alert_at_percent: u8,
    /// When staff were last asked for a new group; cleared when the groups change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// Where a pool sends the next newcomer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolRoute {
    /// Index in [`ChannelPool::groups`] of the first group below its cap; `None` when all are full.
    pub group: Option<usize>,
    /// Whether staff should open a new group (all full, or the last one near its cap).
    pub needs_new_group: bool,
}

impl ChannelPool {
    /// Routes by the groups' member counts (`counts[i]` for `groups[i]`).
    pub fn route(&self, counts: &[u32]) -> PoolRoute {
        let count = |i: usize| counts.get(i).copied().unwrap_or(0);
        let group = (0..self.groups.len()).find(|&i| count(i) < self.groups[i].cap);
        let last_near_cap = self.groups.len().checked_sub(1).is_some_and(|last| {
            u64::from(count(last)) * 100 >= u64::from(self.groups[last].cap) * u64::from(self.alert_at_percent)
        });
        PoolRoute { group, needs_new_group: !self.groups.is_empty() && (group.is_none() || last_near_cap) }
    }
}

/// One join in the join log, committed with its event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRecord {
    /// The join event's platform id (`<connector>/<event id>`); a second write with it is skipped.
    pub id: String,
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<MemberId>,
    pub at: DateTime<Utc>,
    /// How they came in, when the platform said (WeCom join scene, Telegram link / request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_scene: Option<crate::event::JoinScene>,
}

/// Why a member is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Removed,
}

impl LeaveReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Removed => "removed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Left, Self::Removed].into_iter().find(|r| r.name() == name)
    }
}

/// One leave, with how long the member stayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveRecord {
    /// The leave event's platform id; a second write with it is skipped.
    pub id: String,
    pub group: GroupKey,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub reason: LeaveReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<MemberId>,
    /// The join this leave ends, when the engine saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// Seconds from `joined_at` to `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenure_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// A member across the groups of one connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    pub connector: ConnectorId,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// The channel of their first attributed join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<MemberId>,
    /// Sorted, without duplicates.
    pub tags: Vec<String>,
    /// The groups they are on record in (from the member records), by group.
    pub groups: Vec<ProfileGroup>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileGroup {
    pub group: GroupKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<DateTime<Utc>>,
    /// How they came into this group the last time, when the platform said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_scene: Option<crate::event::JoinScene>,
}

/// Joins in one bucket (a channel, or a tier): `stays` are those still in the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinCount {
    /// The channel id or tier; `None` for joins no channel is known for.
    pub key: Option<String>,
    pub joins: u64,
    pub stays: u64,
}

/// Join counts per channel and per tier, by key (unattributed first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinCounts {
    pub by_channel: Vec<JoinCount>,
    pub by_tier: Vec<JoinCount>,
}

/// Membership state decided with an event (see [`crate::StateWrite::Membership`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MembershipWrite {
    /// A join: the join log row, and the member's profile (created on their first join; the
    /// channel's tags added; channel, tier and inviter set when still unknown).
    Joined(JoinRecord),
    /// A leave: the leave row; the member's open join rows no longer count as stays.
    Left(LeaveRecord),
    /// A known invite code seen before the join (in a join request's comment), kept for the
    /// join that follows.
    CodeSeen { group: GroupKey, member: MemberId, code: String, at: DateTime<Utc> },
    /// A channel learnt after the join (an invite code in an early message): set on the
    /// member's latest join in the group and on their profile where none is known yet, and
    /// the channel's tags added.
    Attributed { group: GroupKey, member: MemberId, channel: ChannelRef, at: DateTime<Utc> },
}

/// Sorted, trimmed, non-empty, without duplicates.
pub fn clean_tags<I: IntoIterator<Item = S>, S: AsRef<str>>(tags: I) -> Vec<String> {
    let mut tags: Vec<String> = tags.into_iter().map(|t| t.as_ref().trim().to_owned()).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The audit row of a change to a channel or pool (`kind` e.g. `channel.create`).
pub fn membership_audit(kind: &str, by: &str, at: DateTime<Utc>, summary: String, detail: Option<String>) -> crate::audit::NewAuditEntry {
    crate::audit::NewAuditEntry {
        time: at,
        actor: by.to_owned(),
        kind: kind.to_owned(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary,
        detail,
    }
}
