//! Membership: who joined, through which channel, and what number they are.
//!
//! [`JoinFacts`] is what the pipeline learns about a join before the rules see it (the
//! welcome's `{member_no}`, `{channel}`, `{tier}`; referrals; milestones), so every rule reads
//! the same answer and none of them queries for it again.

use serde::{Deserialize, Serialize};

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
