//! What connectors keep about their platforms between runs, in the store: the member list of
//! each group as last reconciled with the platform ([`Roster`]), and small named values per
//! connector (e.g. the WeCom welcome template kept for a rulebook template).
//!
//! A connector that only learns of joins and leaves by comparing member lists (WeCom customer
//! groups) compares the platform's list with the stored roster after a restart, so the changes
//! made while qunzhu was down become events instead of a silent new baseline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupKey, MemberId};

/// One member on a roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterMember {
    pub id: MemberId,
    /// When the platform says they joined.
    pub joined_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A group's member list as last reconciled with the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub group: GroupKey,
    /// In the order the connector gave them.
    pub members: Vec<RosterMember>,
    pub updated_at: DateTime<Utc>,
}
