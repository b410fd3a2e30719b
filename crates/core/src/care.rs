//! Care (用户思维) records: members' questions and whether staff answered them, recent chat
//! lines with their sentiment (the outbreak windows and baseline), and the issue list
//! (问题清单) of tickets. Decided by the engine's `care` rule, written with the event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::GroupKey;

/// Whether a question still waits for staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionStatus {
    Open,
    Answered,
}

impl QuestionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::Answered].into_iter().find(|s| s.name() == name)
    }
}

/// A member's question. Its id is `<connector>:<group>:<message id>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareQuestion {
    pub id: String,
    pub group: GroupKey,
    pub message_id: String,
    pub member: String,
    pub name: String,
    pub text: String,
    /// Why it was taken for a question (zh-CN).
    pub cue: String,
    pub asked_at: DateTime<Utc>,
    pub status: QuestionStatus,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Staff were alerted that it is unanswered.
    pub alerted: bool,
    /// The group got the apology for it.
    pub apologised: bool,
}

/// A member's chat line with its sentiment, kept for the outbreak windows (7 days).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareLine {
    /// The event's id.
    pub id: String,
    pub group: GroupKey,
    pub message_id: String,
    pub member: String,
    pub name: String,
    pub at: DateTime<Utc>,
    pub text: String,
    pub negative: bool,
    pub score: f32,
}

/// A ticket's status on the issue list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::InProgress, Self::Resolved, Self::Closed].into_iter().find(|s| s.name() == name)
    }

    /// Still to be dealt with (open or in progress).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::InProgress)
    }
}

/// A note appended to a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketNote {
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub text: String,
}

/// A ticket on the issue list (问题清单).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub group: GroupKey,
    /// `outbreak`, `unanswered_question`, or an operator's own category.
    pub category: String,
    pub title: String,
    pub detail: String,
    pub status: TicketStatus,
    pub owner: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub notes: Vec<TicketNote>,
    /// What raised it (a question id, the outbreak's triggering event id), if anything.
    pub source: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The `follow_up_at` a follow-up reminder was sent for (a new `follow_up_at` gets its own).
    #[serde(default)]
    pub followed_up_at: Option<DateTime<Utc>>,
}

/// A care write, committed with the event that decided it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CareWrite {
    /// A member line; one already stored (same id) is skipped.
    Line(CareLine),
    /// A question as it now is (asked, answered, alerted…): stored or replaced by id.
    Question(CareQuestion),
    /// A ticket as it now is: stored or replaced by id.
    Ticket(Ticket),
}
