//! Sign-up lists (接龙): a title, an optional size limit and closing time, and the members who
//! appended themselves, in order. One list per group is open at a time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupKey, MemberId};

/// A sign-up list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signup {
    /// `sg-` and 12 hex digits, derived from the event that started it (so a re-run of that
    /// event starts the same list).
    pub id: String,
    pub group: GroupKey,
    pub title: String,
    /// The list closes when this many members are on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The list closes at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    /// `operator:<name>` (through the API) or `member:<id>` (by the group command).
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub status: SignupStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (`engine` when full or at its time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// When the list was last posted to the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_posted_at: Option<DateTime<Utc>>,
    /// The list changed within the re-post throttle: post it again at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repost_due_at: Option<DateTime<Utc>>,
}

impl Signup {
    pub fn is_open(&self) -> bool {
        self.status == SignupStatus::Open
    }

    /// The earliest time something is due for this list (its re-post or its closing), if any.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        if !self.is_open() {
            return None;
        }
        match (self.repost_due_at, self.closes_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupStatus {
    Open,
    Closed,
}

impl SignupStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::Closed].into_iter().find(|s| s.name() == name)
    }
}

/// Why a list closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// It reached its limit.
    Full,
    /// Its closing time came.
    Time,
    /// Staff or its starter closed it.
    Manual,
}

impl CloseReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Time => "time",
            Self::Manual => "manual",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Full, Self::Time, Self::Manual].into_iter().find(|s| s.name() == name)
    }
}

/// One member on a list (or withdrawn from it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupEntry {
    pub signup: String,
    pub member: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What they wrote after the keyword (`接龙 带2人` → `带2人`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// Set when they withdrew; a withdrawn member who joins again goes to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl SignupEntry {
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }

    /// The name to show: the display name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(self.member.as_str())
    }
}

/// A change to sign-up lists, committed with the event that decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SignupWrite {
    /// Opens a new list. One whose id is already stored is skipped; a second open list in
    /// the same group is refused with a conflict.
    Start(Signup),
    /// A member appends themselves, or changes the note of their entry. A member who had
    /// withdrawn joins again at the end. Refused with a conflict on a closed list.
    Join { signup: String, member: MemberId, name: Option<String>, note: Option<String>, at: DateTime<Utc> },
    /// A member takes themselves off (nothing happens when they are not on it). Refused with
    /// a conflict on a closed list.
    Withdraw { signup: String, member: MemberId, at: DateTime<Utc> },
    /// The list was posted at `at`: clears a pending re-post.
    Posted { signup: String, at: DateTime<Utc> },
    /// The list changed within the throttle: re-post it at `at` (an earlier pending time is kept).
    RepostDue { signup: String, at: DateTime<Utc> },
    /// Closes the list (a closed one stays as it was).
    Close { signup: String, reason: CloseReason, by: String, at: DateTime<Utc> },
}

impl SignupWrite {
    /// The list the write is about.
    pub fn signup_id(&self) -> &str {
        match self {
            Self::Start(signup) => &signup.id,
            Self::Join { signup, .. }
            | Self::Withdraw { signup, .. }
            | Self::Posted { signup, .. }
            | Self::RepostDue { signup, .. }
            | Self::Close { signup, .. } => signup,
        }
    }
}

/// The active entries of a list in their order, numbered from 1 (as the group sees them).
pub fn numbered(entries: &[SignupEntry]) -> Vec<(usize, &SignupEntry)> {
    entries.iter().filter(|e| e.is_active()).enumerate().map(|(i, e)| (i + 1, e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(member: &str, withdrawn: bool) -> SignupEntry {
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default();
        SignupEntry {
            signup: "sg-1".into(),
            member: member.into(),
            name: None,
            note: None,
            joined_at: at,
            withdrawn_at: withdrawn.then_some(at),
        }
    }

    #[test]
    fn withdrawn_entries_are_left_out_of_the_numbering() {
        let entries = [entry("a", false), entry("b", true), entry("c", false)];
        let numbered: Vec<(usize, &str)> = numbered(&entries).into_iter().map(|(n, e)| (n, e.member.as_str())).collect();
        assert_eq!(numbered, vec![(1, "a"), (2, "c")]);
    }

    #[test]
    fn the_earliest_of_re_post_and_closing_is_due_and_a_closed_list_has_nothing_due() {
        let t = |s: i64| DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap_or_default();
        let mut signup = Signup {
            id: "sg-1".into(),
            group: GroupKey::new("qq", "1"),
            title: "羽毛球".into(),
            limit: None,
            closes_at: Some(t(100)),
            started_by: "member:u1".into(),
            created_at: t(0),
            status: SignupStatus::Open,
            close_reason: None,
            closed_at: None,
            closed_by: None,
            last_posted_at: None,
            repost_due_at: Some(t(30)),
        };
        assert_eq!(signup.due_at(), Some(t(30)));
        signup.repost_due_at = None;
        assert_eq!(signup.due_at(), Some(t(100)));
        signup.status = SignupStatus::Closed;
        assert_eq!(signup.due_at(), None);
    }
}
