//! Lotteries (抽奖): a prize, a number of winners, the groups it runs in, how members enter
//! (a keyword and/or a condition), a draw time, and — once drawn — the published record
//! anyone can recompute the winners from (see `qunzhu_engine::rules::lottery::draw`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId};

/// A lottery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lottery {
    /// `lt-` and 16 hex digits.
    pub id: String,
    pub title: String,
    pub prize: String,
    /// How many winners are drawn (fewer when fewer entered).
    pub winners: u32,
    /// The groups it runs in; the first is its home group, where the draw is made.
    pub groups: Vec<GroupKey>,
    /// Members enter by sending this in one of the groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// What a member must have done to enter. With a keyword, it is checked when they send
    /// it; without one, everyone who meets it at the draw is entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<EntryCondition>,
    pub draw_at: DateTime<Utc>,
    /// `operator:<name>`.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub status: LotteryStatus,
    /// The published draw, once drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<DrawRecord>,
}

impl Lottery {
    /// Where the draw is made and the scheduler's tick goes.
    pub fn home_group(&self) -> Option<&GroupKey> {
        self.groups.first()
    }

    pub fn is_open(&self) -> bool {
        self.status == LotteryStatus::Open
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotteryStatus {
    Open,
    Drawn,
}

impl LotteryStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Drawn => "drawn",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::Drawn].into_iter().find(|s| s.name() == name)
    }
}

/// A condition for entering, counted over the lottery's groups from its creation until the
/// draw (the lottery's period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryCondition {
    /// Sent at least this many messages in the lottery's groups during its period.
    Messages { at_least: u32 },
    /// Checked in at least this many days in the lottery's groups during its period.
    CheckIns { at_least: u32 },
}

impl EntryCondition {
    pub fn at_least(self) -> u32 {
        match self {
            Self::Messages { at_least } | Self::CheckIns { at_least } => at_least,
        }
    }
}

/// A member in a lottery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotteryEntry {
    pub lottery: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    /// The group they entered in (or, entered by the condition, the group they were counted in).
    pub group: GroupKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub entered_at: DateTime<Utc>,
}

impl LotteryEntry {
    /// How the entrant is written in the draw record: `connector/member`.
    pub fn entrant(&self) -> String {
        entrant(&self.connector, &self.member)
    }
}

/// An entrant as the draw record writes them: `connector/member`.
pub fn entrant(connector: &ConnectorId, member: &MemberId) -> String {
    format!("{connector}/{member}")
}

/// Splits an entrant (`connector/member`; a connector id never contains `/`).
pub fn parse_entrant(text: &str) -> Option<(ConnectorId, MemberId)> {
    let (connector, member) = text.split_once('/')?;
    if connector.is_empty() || member.is_empty() {
        return None;
    }
    Some((ConnectorId::new(connector), MemberId::new(member)))
}

/// The published record of a draw: with it anyone can recompute the winners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRecord {
    /// The name of the documented draw function (e.g. `qunzhu-draw-v1`).
    pub algorithm: String,
    /// 32 bytes from the operating system's random generator, as 64 hex digits.
    pub seed: String,
    /// Every entrant (`connector/member`), sorted by their UTF-8 bytes.
    pub entrants: Vec<String>,
    /// SHA-256 of the entrants, each followed by `\n`, as hex.
    pub entrants_sha256: String,
    /// The winners in draw order.
    pub winners: Vec<String>,
    pub drawn_at: DateTime<Utc>,
    /// `engine` (at the draw time) or `operator:<name>`.
    pub drawn_by: String,
}

/// A count kept for a lottery's message condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCount {
    pub lottery: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    /// The group of their latest counted message.
    pub group: GroupKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub messages: u32,
}

/// A change to lotteries, committed with the event that decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LotteryWrite {
    /// A new lottery. One whose id is already stored is skipped.
    Create(Lottery),
    /// A member enters. Entering twice is skipped (one entry per connector and member);
    /// entering a lottery that is no longer open is refused with a conflict, so the event
    /// is judged again against the drawn lottery.
    Enter(LotteryEntry),
    /// One more message from a member towards a message condition (ignored once drawn).
    CountMessage { lottery: String, group: GroupKey, member: MemberId, name: Option<String> },
    /// Records the draw. Refused with a conflict unless the lottery is still open and has
    /// exactly `keyword_entries` entries (an entry committed after the draw read them would
    /// otherwise be left out of it); `added` are the entrants who qualified by the condition
    /// alone, stored as entries with it.
    Draw { lottery: String, record: DrawRecord, keyword_entries: u64, added: Vec<LotteryEntry> },
}

impl LotteryWrite {
    /// The lottery the write is about.
    pub fn lottery_id(&self) -> &str {
        match self {
            Self::Create(lottery) => &lottery.id,
            Self::Enter(entry) => &entry.lottery,
            Self::CountMessage { lottery, .. } | Self::Draw { lottery, .. } => lottery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entrant_round_trips_even_when_the_member_id_has_slashes() {
        let text = entrant(&ConnectorId::new("matrix"), &MemberId::new("@a/b:example.org"));
        assert_eq!(text, "matrix/@a/b:example.org");
        assert_eq!(parse_entrant(&text), Some((ConnectorId::new("matrix"), MemberId::new("@a/b:example.org"))));
        assert_eq!(parse_entrant("nobody"), None);
        assert_eq!(parse_entrant("/x"), None);
    }

    #[test]
    fn conditions_serialise_with_a_kind_tag() {
        let json = serde_json::to_value(EntryCondition::CheckIns { at_least: 5 }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "check_ins", "at_least": 5}));
    }
}
