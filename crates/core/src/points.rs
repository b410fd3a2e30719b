//! Points (积分) and check-ins (签到): the records behind 促活.
//!
//! The **ledger is the truth**: every change of a member's points is one [`LedgerEntry`]
//! (amount, reason, rule, cause, who), and a balance is always the sum of its entries. Points
//! belong to a community — the connector — so a member's points are the same in every group
//! of it. Levels follow the points *earned* (the sum of positive entries), so spending points
//! in the shop never demotes anyone.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId, PlatformEventId};

/// One change of a member's points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Unique and deterministic where the engine decides it (`<event id>/<rule>`), so a
    /// re-processed event never pays twice.
    pub id: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    /// Positive: earned; negative: spent or reversed.
    pub amount: i64,
    /// Why, in the operator's language (e.g. `签到（连续 3 天）`).
    pub reason: String,
    /// What decided it: a rule name (`check_in`, `points`, `referral`, `shop`) or `manual`.
    pub rule: String,
    /// The group it happened in, when it happened in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupKey>,
    /// The event that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<PlatformEventId>,
    /// `engine` or the operator who granted it.
    pub actor: String,
    pub time: DateTime<Utc>,
}

/// A member's points in a community.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsBalance {
    /// The sum of every ledger entry.
    pub balance: i64,
    /// The sum of the positive entries: what levels are measured by.
    pub earned: i64,
}

/// One day's check-in of a member in a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    pub group: GroupKey,
    pub member: MemberId,
    /// The local day (in the group's timezone) it counts for.
    pub day: NaiveDate,
    /// Consecutive days ending with this one.
    pub streak: u32,
    /// Points it paid (streak bonus included).
    pub points: i64,
    /// A make-up check-in (补签) for a missed day, paid with a make-up card.
    pub makeup: bool,
    pub time: DateTime<Utc>,
}

/// A member's place on a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    pub member: MemberId,
    pub balance: i64,
    pub earned: i64,
}

/// The item a make-up card (补签卡) is kept as in a member's inventory.
pub const MAKEUP_CARD: &str = "makeup_card";

/// A change of how many of an item (e.g. make-up cards) a member holds; the count is the sum
/// of the changes, like points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Unique and deterministic, like a ledger entry's.
    pub id: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    pub item: String,
    pub delta: i64,
    pub time: DateTime<Utc>,
}
