//! Insight (数据管理): activity rollups per group and member, hourly and daily, and sales
//! conversions attributed to the channel and tier a member joined through.
//!
//! A [`Tally`] is what one event adds to the rollups; the `insight` rule decides it and the
//! pipeline commits it with the event ([`crate::StateWrite::Insight`]); a tally whose id is
//! already stored is skipped, so a re-processed event is counted once. Rollup rows are kept
//! per (group, member, granularity, bucket); the group's own row has no member. A group's
//! **active members** in a bucket are the members whose row has messages (distinct speakers).
//!
//! Buckets are integers: an hour bucket is the UTC hour number (unix seconds / 3600), a day
//! bucket is the group's local day as days since 1970-01-01 ([`day_bucket`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupKey, MemberId, MessageId};

/// What a rollup row counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Messages posted (deleted spam included: it is also a violation).
    pub messages: i64,
    pub joins: i64,
    pub leaves: i64,
    /// Check-ins recorded (make-ups included).
    pub check_ins: i64,
    /// Moderation verdicts that were acted on (dry runs excluded).
    pub violations: i64,
    /// Messages that read like a question (`qunzhu_text::question::is_question`).
    pub questions: i64,
    /// Messages answering someone else's question: a reply to a question message, or a
    /// message mentioning a member who asked a question in the group within the hour before.
    pub answers: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.messages += other.messages;
        self.joins += other.joins;
        self.leaves += other.leaves;
        self.check_ins += other.check_ins;
        self.violations += other.violations;
        self.questions += other.questions;
        self.answers += other.answers;
    }

    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// What one event adds to the rollups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// `<connector>/<event id>/insight`.
    pub id: String,
    pub group: GroupKey,
    /// The acting member (none for events without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberId>,
    /// The event's time.
    pub at: DateTime<Utc>,
    /// The group's local day of `at`.
    pub day: NaiveDate,
    pub counts: Counts,
    /// The message's id when it is a question, remembered so replies to it count as answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<MessageId>,
}

/// Hourly or daily.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Hour, Self::Day].into_iter().find(|g| g.name() == name)
    }
}

/// The hour bucket of a time: its UTC hour number.
pub fn hour_bucket(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// The day bucket of a local day: days since 1970-01-01.
pub fn day_bucket(day: NaiveDate) -> i64 {
    day.signed_duration_since(NaiveDate::default()).num_days()
}

/// The local day of a day bucket.
pub fn bucket_day(bucket: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(bucket)
}

/// The start of an hour bucket.
pub fn bucket_hour(bucket: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(bucket.saturating_mul(3600), 0).unwrap_or_default()
}

/// One rollup row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    pub group: GroupKey,
    /// `None` for the group's own row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberId>,
    pub granularity: Granularity,
    pub bucket: i64,
    pub counts: Counts,
}

/// A write of the insight rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum InsightWrite {
    /// Adds a tally to the hour and day rows of its member and its group (skipped when its
    /// id is already stored) and remembers its question.
    Tally(Box<Tally>),
}

/// A sale (转化) reported by the operator, attributed when recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    /// The idempotency key (given, or derived from the request).
    pub id: String,
    pub connector: ConnectorId,
    pub member: MemberId,
    /// Amount in the smallest currency unit (分).
    pub amount_cents: i64,
    pub product: String,
    pub at: DateTime<Utc>,
    /// The group it is attributed to: the one given, else the member's latest join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupKey>,
    /// The channel of the member's join record in that group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The tier of the member's join record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// A daily digest (群精华) as kept for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestRecord {
    pub group: GroupKey,
    pub day: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// The digest as JSON text (`qunzhu_engine::digest::Digest`).
    pub body: String,
    /// The digest as posted text.
    pub text: String,
}
