//! The points shop (积分商城): items with a cost and stock, and redemptions.
//!
//! A redemption is one transaction: the stock goes down (never below zero), the points are
//! debited (never below zero), the redemption is recorded, and fulfilment becomes a staff task
//! — or, for a make-up card, the card lands in the member's inventory. Concurrent
//! redemptions can never oversell or overspend.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId, TaskId};

/// What redeeming an item gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Something staff hand over (a gift, a coupon): a staff task to fulfil.
    #[default]
    Goods,
    /// A make-up card (补签卡), kept in the member's inventory.
    MakeupCard,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopItem {
    /// A short id members may type (`兑换 mug`), unique.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Points it costs (1 or more).
    pub cost: i64,
    /// How many are left; `None` is unlimited.
    pub stock: Option<i64>,
    #[serde(default)]
    pub kind: ItemKind,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionStatus {
    /// Waiting for staff to hand it over.
    Pending,
    Fulfilled,
    /// Cancelled by staff: points refunded, stock restored.
    Cancelled,
}

impl RedemptionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Fulfilled, Self::Cancelled].into_iter().find(|s| s.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// Deterministic where an event caused it, so a re-processed command redeems once.
    pub id: String,
    pub item: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    /// Where it was asked for (the staff task's group).
    pub group: GroupKey,
    pub cost: i64,
    pub status: RedemptionStatus,
    /// The fulfilment task, for goods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a redemption was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    UnknownItem,
    Disabled,
    OutOfStock,
    InsufficientPoints,
    /// The redemption id is already there (a replayed command).
    Duplicate,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownItem => "unknown_item",
            Self::Disabled => "item_disabled",
            Self::OutOfStock => "out_of_stock",
            Self::InsufficientPoints => "insufficient_points",
            Self::Duplicate => "duplicate_redemption",
        }
    }
}
