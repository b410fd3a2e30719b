//! Auto-reply (FAQ) state: when an entry last answered (its cooldowns) and how often it
//! answered per group and local day (its hit statistics).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupKey, MemberId};

/// One auto-reply given: counts a hit and restarts the entry's cooldowns. Committed with
/// its event as a [`StateWrite::FaqAnswer`](crate::StateWrite::FaqAnswer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqAnswer {
    /// Unique per answer (`<connector>/<platform event id>`: one answer per event); an answer
    /// whose id is already the member's last one for the entry is skipped.
    pub id: String,
    pub group: GroupKey,
    /// The template the entry belongs to.
    pub template: String,
    /// The FAQ entry's id.
    pub entry: String,
    /// The member who asked.
    pub member: MemberId,
    /// The group's local day (its template's timezone) the hit counts for.
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
}

/// When an entry last answered in a group, and last answered one member there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaqLastAnswers {
    pub in_group: Option<DateTime<Utc>>,
    pub to_member: Option<DateTime<Utc>>,
}

/// Hits of one entry in one group on one local day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqHitCount {
    pub template: String,
    pub entry: String,
    pub group: GroupKey,
    pub day: NaiveDate,
    pub hits: u64,
    /// The last hit that day.
    pub last_at: DateTime<Utc>,
}

/// Which hit counts to read; every field narrows, `None` means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaqStatsFilter {
    pub group: Option<GroupKey>,
    pub template: Option<String>,
    pub entry: Option<String>,
    /// First local day included.
    pub from: Option<NaiveDate>,
    /// Last local day included.
    pub to: Option<NaiveDate>,
}

impl FaqStatsFilter {
    /// Whether a count passes the filter (the reference semantics of `Store::faq_stats`).
    pub fn admits(&self, count: &FaqHitCount) -> bool {
        self.group.as_ref().is_none_or(|g| g == &count.group)
            && self.template.as_ref().is_none_or(|t| t == &count.template)
            && self.entry.as_ref().is_none_or(|e| e == &count.entry)
            && self.from.is_none_or(|d| count.day >= d)
            && self.to.is_none_or(|d| count.day <= d)
    }
}
