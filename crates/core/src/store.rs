//! Storage traits and records. Implementations: [`crate::memory::MemoryStore`] (tests,
//! benchmarks) and `qunzhu-store` (SQLite, PostgreSQL). One story test suite runs them all.
//!
//! The contract, in short:
//! - **Inbox**: [`Store::accept_event`] persists an event once per (connector, platform event
//!   id); [`Store::commit`] records everything its processing decided — outbox actions, staff
//!   tasks, audit rows — and marks it processed, in **one transaction**. An event accepted but
//!   never committed is returned by [`Store::pending_events`] for a re-run after a crash.
//! - **Outbox**: actions wait there until a connector delivered them (or a bridge reported
//!   their outcome); failures are retried with backoff. Each action has a sequence number that
//!   orders the per-connector feed the HTTP bridge polls.
//! - **Rulebook**: opaque JSON documents (the engine owns their schema), versioned; saving
//!   never overwrites, it appends a version.
//!
//! Times are kept to the microsecond by the database stores. Sequence numbers (inbox and
//! outbox) are increasing but may have gaps.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::action::Action;
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::content::{ContentDraft, ContentItem};
use crate::event::Event;
use crate::growth::{Counter, Milestone, MilestoneKind, Referral, ReferralCampaign, ReferralCode, ReferralFilter};
use crate::faq::{FaqHitCount, FaqLastAnswers, FaqStatsFilter};
use crate::ids::{ActionId, ConnectorId, GroupKey, MemberId, TaskId};
use crate::membership::{Channel, ChannelPool, JoinCounts, JoinRecord, LeaveRecord, MemberProfile};
use crate::lottery::{Lottery, LotteryEntry, LotteryStatus, MessageCount};
use crate::moderation::{BlacklistEntry, Correction, MemberRecord, MemberUpdate, Violation, ViolationStatus};
use crate::points::{CheckIn, ItemChange, LeaderboardRow, LedgerEntry, PointsBalance};
use crate::shop::{Redemption, RedemptionStatus, Refusal, ShopItem};
use crate::schedule::{NewSchedule, Schedule, ScheduleId, ScheduleRun, ScheduleUpdate};
use crate::signup::{Signup, SignupEntry, SignupStatus};
use crate::task::{StaffTask, TaskStatus};
use crate::writes::StateWrite;

/// A boxed future, so the traits stay object-safe (`Arc<dyn Store>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// Someone else changed it first (e.g. the rulebook head moved).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached or refused the operation.
    #[error("database error: {0}")]
    Backend(String),
    /// A stored value could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The inbox's answer to an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// First time seen; `seq` is its inbox sequence number.
    New { seq: i64 },
    /// Seen before (a redelivery); it is not processed again.
    Duplicate { seq: i64 },
}

/// Everything the processing of one event (or one scheduler tick) decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commit {
    /// The inbox sequence number of the event to mark processed; `None` for ticks.
    pub event_seq: Option<i64>,
    /// Actions for the outbox. An action whose id is already there is skipped (idempotent).
    pub actions: Vec<Action>,
    /// Staff tasks. A task whose id is already there is skipped (idempotent).
    pub tasks: Vec<StaffTask>,
    pub audit: Vec<NewAuditEntry>,
    /// Member records to create or update (joins, leaves, messages).
    pub members: Vec<MemberUpdate>,
    /// Violations decided. One whose id is already there is skipped (idempotent).
    pub violations: Vec<Violation>,
    /// Members to blacklist (an existing entry for the same connector and member is kept).
    pub blacklist: Vec<BlacklistEntry>,
    /// Rule state: points, check-ins… (see [`StateWrite`]); each is skipped if already there.
    /// A few are refused with [`StoreError::Conflict`] when the state moved under them (a
    /// lottery entry after its draw): the whole commit is then refused and the event is judged
    /// again.
    pub writes: Vec<StateWrite>,
}

/// A group the engine has seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub key: GroupKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Where an action stands in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Waiting for delivery (possibly after a failed attempt).
    Pending,
    /// Handed to a peer that will report the outcome (the HTTP bridge).
    AwaitingPeer,
    Delivered,
    Failed,
}

impl ActionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::AwaitingPeer => "awaiting_peer",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::AwaitingPeer, Self::Delivered, Self::Failed].into_iter().find(|s| s.name() == name)
    }
}

/// An action in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Position in the outbox; orders the per-connector feed.
    pub seq: i64,
    pub action: Action,
    pub status: ActionStatus,
    pub attempts: u32,
    /// When the next delivery attempt is due (pending actions only).
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The result of one delivery attempt, or an outcome reported by a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    AwaitingPeer,
    /// Try again at `next_attempt_at`; `attempts` is incremented.
    Retry { next_attempt_at: DateTime<Utc>, error: String },
    Failed { error: String },
}

/// A rulebook version to save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRulebookVersion {
    /// The version the author edited; the save fails with [`StoreError::Conflict`] if the
    /// head is no longer this one. `None` means "there is no rulebook yet".
    pub parent: Option<i64>,
    pub author: String,
    pub note: String,
    /// Key paths that changed, for the history view.
    pub changes: Vec<String>,
    /// The whole rulebook as JSON text.
    pub body: String,
    pub time: DateTime<Utc>,
}

/// A stored rulebook version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulebookVersion {
    /// 1, 2, 3… in save order.
    pub version: i64,
    pub author: String,
    pub note: String,
    pub changes: Vec<String>,
    pub body: String,
    pub time: DateTime<Utc>,
}

/// All of qunzhu's persistent state, behind one object-safe trait.
pub trait Store: Send + Sync + 'static {
    /// Persists an event unless one with the same (connector, platform event id) exists.
    fn accept_event<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, StoreResult<Accepted>>;

    /// Events accepted but not yet committed, oldest first.
    fn pending_events(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>>;

    /// Writes a processing result atomically (see [`Commit`]).
    fn commit<'a>(&'a self, commit: &'a Commit) -> BoxFuture<'a, StoreResult<()>>;

    /// Records that a group was seen (creating it the first time; updating its name when
    /// given) and returns it.
    fn touch_group<'a>(
        &'a self,
        key: &'a GroupKey,
        name: Option<&'a str>,
        seen_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<GroupRecord>>;

    /// All groups, ordered by key.
    fn list_groups(&self) -> BoxFuture<'_, StoreResult<Vec<GroupRecord>>>;

    /// Pending actions of a connector whose `next_attempt_at` and `not_before` have passed,
    /// in outbox order.
    fn due_actions<'a>(
        &'a self,
        connector: &'a ConnectorId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>>;

    /// A connector's actions with `seq > after`, in outbox order, whatever their status
    /// (the feed the HTTP bridge polls). Actions whose `not_before` is later than `now` are
    /// left out until then.
    fn actions_after<'a>(
        &'a self,
        connector: &'a ConnectorId,
        after: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>>;

    fn get_action<'a>(&'a self, id: &'a ActionId) -> BoxFuture<'a, StoreResult<Option<OutboxEntry>>>;

    /// Records a delivery attempt or a reported outcome, with its audit row, in one
    /// transaction. Returns the updated entry; [`StoreError::NotFound`] for an unknown id.
    fn record_attempt<'a>(
        &'a self,
        id: &'a ActionId,
        result: &'a AttemptResult,
        at: DateTime<Utc>,
        audit: Option<&'a NewAuditEntry>,
    ) -> BoxFuture<'a, StoreResult<OutboxEntry>>;

    /// Staff tasks, newest first, optionally only those with `status`.
    fn list_tasks(&self, status: Option<TaskStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<StaffTask>>>;

    /// Changes a task's status and, in the same transaction, writes an audit row (kind
    /// `task.status`, actor = `by`).
    fn set_task_status<'a>(
        &'a self,
        id: &'a TaskId,
        status: TaskStatus,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<StaffTask>>;

    /// Audit rows, newest first, optionally for one group.
    fn list_audit<'a>(&'a self, group: Option<&'a GroupKey>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<AuditEntry>>>;

    /// The newest rulebook version, if any was ever saved.
    fn rulebook_head(&self) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>>;

    /// Appends a rulebook version and, in the same transaction, an audit row (kind
    /// `rulebook.save`, actor = author, summary = `规则手册 v<n>：<note>`).
    fn rulebook_save<'a>(&'a self, version: &'a NewRulebookVersion) -> BoxFuture<'a, StoreResult<RulebookVersion>>;

    /// Version history, newest first.
    fn rulebook_versions(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<RulebookVersion>>>;

    fn rulebook_version(&self, version: i64) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>>;

    /// A member's record in a group, if the engine has seen them there.
    fn member<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<MemberRecord>>>;

    /// Active violations of a member in any group of `connector` since `since` (the
    /// ladder's decay window).
    fn count_violations<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u32>>;

    /// Violations, newest first; optionally of one group, one status.
    fn list_violations<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<ViolationStatus>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<Violation>>>;

    fn get_violation<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Violation>>>;

    /// Changes a violation's status and, in the same transaction, writes `audit` and — when
    /// given — the correction (marking a false positive teaches the classifier).
    fn set_violation_status<'a>(
        &'a self,
        id: &'a str,
        status: ViolationStatus,
        correction: Option<&'a Correction>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Violation>>;

    /// The blacklist entry of a member of a connector, if any.
    fn blacklisted<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<BlacklistEntry>>>;

    /// The blacklist, newest first.
    fn list_blacklist(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<BlacklistEntry>>>;

    /// Adds (or keeps) an entry, with its audit row, in one transaction.
    fn add_to_blacklist<'a>(&'a self, entry: &'a BlacklistEntry, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    /// Removes an entry, with its audit row, in one transaction; `false` when there was none.
    fn remove_from_blacklist<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Records an operator's correction (with its audit row).
    fn add_correction<'a>(&'a self, correction: &'a Correction, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    /// Every correction, oldest first (replayed into the classifier at start).
    fn list_corrections(&self) -> BoxFuture<'_, StoreResult<Vec<Correction>>>;

    // --- points and check-ins ---

    /// A member's balance and earned points in a community (zero when they have none).
    fn points_balance<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<PointsBalance>>;

    /// A member's ledger, newest first.
    fn points_ledger<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<LedgerEntry>>>;

    /// The sum of a member's entries by `rule` since `since` (e.g. today's message points,
    /// for the daily cap).
    fn points_by_rule_since<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        rule: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<i64>>;

    /// Appends an entry outside an event (a manual grant or deduction), with its audit row,
    /// in one transaction, and returns the new balance. An entry that would make the balance
    /// negative is refused with [`StoreError::Conflict`]; an id already there is a
    /// [`StoreError::Conflict`] too.
    fn add_points<'a>(&'a self, entry: &'a LedgerEntry, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<PointsBalance>>;

    /// The community's members by balance, highest first (ties: member id).
    fn points_leaderboard<'a>(&'a self, connector: &'a ConnectorId, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaderboardRow>>>;

    /// A member's latest check-in in a group (by day).
    fn last_check_in<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<CheckIn>>>;

    /// A member's check-in in a group on a day, if any.
    fn check_in_on<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<CheckIn>>>;

    /// The check-ins of a group on a day, in the order they happened (today's ranking).
    fn check_ins_on<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Vec<CheckIn>>>;

    /// How many days a member checked in to a group from `from` to `to`, both included.
    fn count_check_ins<'a>(
        &'a self,
        group: &'a GroupKey,
        member: &'a MemberId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, StoreResult<u32>>;

    /// How many of `item` a member holds (the sum of their item changes; never negative).
    fn inventory<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId, item: &'a str) -> BoxFuture<'a, StoreResult<u32>>;

    // --- points shop ---

    /// Creates or replaces an item (by id), with its audit row.
    fn save_shop_item<'a>(&'a self, item: &'a ShopItem, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    /// Every item, by id.
    fn shop_items(&self) -> BoxFuture<'_, StoreResult<Vec<ShopItem>>>;

    fn shop_item<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ShopItem>>>;

    /// Redeems in one transaction: the item must exist, be enabled and in stock (stock goes
    /// down by one), the debit must be covered (`debit.amount` is `-cost`), then the
    /// redemption, its fulfilment task (goods) or inventory change (make-up cards) and the
    /// audit row are written. A refusal changes nothing and says why (`Ok(Err(refusal))`).
    fn redeem<'a>(
        &'a self,
        redemption: &'a Redemption,
        debit: &'a LedgerEntry,
        task: Option<&'a StaffTask>,
        item_change: Option<&'a ItemChange>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Result<Redemption, Refusal>>>;

    /// Redemptions, newest first, optionally with one status.
    fn list_redemptions(&self, status: Option<RedemptionStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Redemption>>>;

    /// Marks a pending redemption fulfilled or cancelled, with its audit row; cancelling
    /// refunds with `refund` (a positive ledger entry) and puts the item back in stock.
    /// `Conflict` when it is no longer pending; `NotFound` for an unknown id.
    fn settle_redemption<'a>(
        &'a self,
        id: &'a str,
        status: RedemptionStatus,
        refund: Option<&'a LedgerEntry>,
        at: DateTime<Utc>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Redemption>>;

    // --- schedules ---

    /// Saves a new schedule (the store numbers it: 1, 2, 3…) and, in the same transaction,
    /// its audit row ([`crate::schedule::change_audit`], kind `schedule.create`).
    fn create_schedule<'a>(&'a self, new: &'a NewSchedule) -> BoxFuture<'a, StoreResult<Schedule>>;

    /// Replaces a schedule's definition, paused flag and next run (its last run and creation
    /// time stay), with its audit row (kind `schedule.<change>`), in one transaction.
    /// [`StoreError::NotFound`] for an unknown id.
    fn update_schedule<'a>(&'a self, id: ScheduleId, update: &'a ScheduleUpdate) -> BoxFuture<'a, StoreResult<Schedule>>;

    /// Deletes a schedule, with its audit row (kind `schedule.delete`), in one transaction,
    /// and returns it as it was. [`StoreError::NotFound`] for an unknown id.
    fn delete_schedule<'a>(&'a self, id: ScheduleId, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Schedule>>;

    fn get_schedule(&self, id: ScheduleId) -> BoxFuture<'_, StoreResult<Option<Schedule>>>;

    /// Every schedule, by id.
    fn list_schedules(&self) -> BoxFuture<'_, StoreResult<Vec<Schedule>>>;

    /// Schedules not paused whose next run is at or before `until`, soonest first (ties:
    /// by id).
    fn due_schedules(&self, until: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Schedule>>>;

    /// Records a handled run: `last_run` becomes `run.ran` (when set) and `next_run`
    /// becomes `run.next_run`, with `run.audit`, in one transaction — but only while the
    /// stored next run still equals `run.expected`. Returns whether it applied (`false`
    /// also for an unknown or deleted schedule).
    fn record_schedule_run<'a>(&'a self, id: ScheduleId, run: &'a ScheduleRun) -> BoxFuture<'a, StoreResult<bool>>;

    // --- sign-up lists and lotteries ---
    // Their changes are `SignupWrite`s and `LotteryWrite`s committed with the event that
    // decided them; these are the reads.

    /// The open sign-up list of a group, if any (there is at most one).
    fn open_signup<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<Signup>>>;

    fn get_signup<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Signup>>>;

    /// Sign-up lists, newest first; optionally of one group, one status.
    fn list_signups<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<SignupStatus>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<Signup>>>;

    /// A list's entries in the order the members joined, withdrawn ones included (a member
    /// who withdrew and joined again is where they joined again).
    fn signup_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<SignupEntry>>>;

    /// Open lists with a re-post or their closing due at or before `now`, soonest first.
    fn due_signups(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Signup>>>;

    fn get_lottery<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Lottery>>>;

    /// Lotteries, newest first; optionally only those with `status`.
    fn list_lotteries(&self, status: Option<LotteryStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>>;

    /// The open lotteries running in a group, oldest first.
    fn open_lotteries_in<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<Lottery>>>;

    /// A lottery's entries in the order they entered.
    fn lottery_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<LotteryEntry>>>;

    /// One member's entry in a lottery, if they entered.
    fn lottery_entry<'a>(
        &'a self,
        id: &'a str,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<LotteryEntry>>>;

    /// Messages counted towards a lottery's message condition for one member (0 if none).
    fn lottery_message_count<'a>(
        &'a self,
        id: &'a str,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<u32>>;

    /// The members with at least `at_least` counted messages, for a draw by the condition
    /// alone (in no particular order).
    fn lottery_message_counts<'a>(&'a self, id: &'a str, at_least: u32) -> BoxFuture<'a, StoreResult<Vec<MessageCount>>>;

    /// Open lotteries whose draw time is at or before `now`, soonest first.
    fn due_lotteries(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>>;

    /// Flushes and closes; called once on shutdown.
    fn close(&self) -> BoxFuture<'_, ()>;

    // --- content library (素材库) ---

    /// Creates an item with the next id and, in the same transaction, its audit row
    /// ([`content_audit`](crate::content::content_audit) `Created`). Tags are stored cleaned
    /// ([`ContentDraft::clean_tags`]).
    fn content_create<'a>(&'a self, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>>;

    /// Replaces an item's title, body and tags (author and creation time stay) and writes its
    /// audit row (`Updated`) in the same transaction. [`StoreError::NotFound`] for an unknown id.
    fn content_update<'a>(&'a self, id: i64, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>>;

    fn content_get(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ContentItem>>>;

    /// Items, newest (highest id) first, optionally only those carrying `tag` (exact match).
    fn content_list<'a>(&'a self, tag: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<ContentItem>>>;

    /// Deletes an item with its audit row (`Deleted`, actor `by`) in one transaction; `false`
    /// (and no audit row) when there was none. Ids are never reused.
    fn content_delete<'a>(&'a self, id: i64, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>>;

    // --- auto-reply (FAQ) ---

    /// When `entry` last answered anyone in `group`, and last answered `member` there (as
    /// recorded by [`StateWrite::FaqAnswer`]s).
    fn faq_last_answers<'a>(
        &'a self,
        group: &'a GroupKey,
        entry: &'a str,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<FaqLastAnswers>>;

    /// Hit counts (one per [`StateWrite::FaqAnswer`]) passing `filter`, newest day first, then by template, entry and group.
    fn faq_stats<'a>(&'a self, filter: &'a FaqStatsFilter, limit: u32) -> BoxFuture<'a, StoreResult<Vec<FaqHitCount>>>;

    // --- membership ---

    /// Members on record in `group` who have not left (`left_at` unset): everyone the engine
    /// has seen join, post or be synced there.
    fn count_members<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<u32>>;

    // --- admission and the welcome ritual ---

    /// One join request as last recorded by [`crate::admission::AdmissionWrite::Request`].
    fn join_request<'a>(&'a self, group: &'a GroupKey, request_id: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::admission::JoinRequestRecord>>>;

    /// Join requests, most recently changed first (then by group and request id), optionally
    /// only those with `status`.
    fn join_requests(
        &self,
        status: Option<crate::admission::JoinRequestStatus>,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<crate::admission::JoinRequestRecord>>>;

    /// The joins of `group` still owed a batched welcome, oldest first (then by id).
    fn pending_welcomes<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<crate::admission::WelcomeJoin>>>;

    /// Groups with joins still owed a welcome, each with its oldest such join's time, oldest
    /// first; at most `limit`.
    fn due_welcomes(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<crate::admission::DueWelcome>>>;

    /// Joins logged in `group` at or after `since`.
    fn count_joins<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<u32>>;

    /// The group's guard as last recorded (it may have expired: check `until`); `None` when
    /// there never was one or it was ended.
    fn group_guard<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<crate::admission::GuardRecord>>>;
    // --- referrals and milestones ---
    // Referral, milestone and counter changes are `StateWrite`s committed with their event;
    // invite codes and campaigns are the operator's, saved directly.

    fn referral<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Referral>>>;

    /// Referrals passing `filter`, newest join first (ties: by id).
    fn list_referrals<'a>(&'a self, filter: &'a ReferralFilter, limit: u32) -> BoxFuture<'a, StoreResult<Vec<Referral>>>;

    /// Pending referrals whose invitee has spoken and whose stay ends at or before `now`,
    /// soonest first: the ones ready to become valid.
    fn due_referrals(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Referral>>>;

    /// Saves a member's invite code unless they already have one (per connector), and
    /// returns the code they hold. A code already held by someone else is a
    /// [`StoreError::Conflict`].
    fn save_referral_code<'a>(&'a self, code: &'a ReferralCode) -> BoxFuture<'a, StoreResult<ReferralCode>>;

    /// The invite code `code` of a connector, if someone holds it (exact match).
    fn referral_code<'a>(&'a self, connector: &'a ConnectorId, code: &'a str) -> BoxFuture<'a, StoreResult<Option<ReferralCode>>>;

    /// Creates or replaces a campaign (by id), with its audit row, in one transaction.
    fn save_referral_campaign<'a>(&'a self, campaign: &'a ReferralCampaign, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    /// Every campaign, by start time (ties: id).
    fn referral_campaigns(&self) -> BoxFuture<'_, StoreResult<Vec<ReferralCampaign>>>;

    /// Deletes a campaign with its audit row; `false` (and no audit row) when there was none.
    /// Referrals keep the id of the campaign they counted for.
    fn delete_referral_campaign<'a>(&'a self, id: &'a str, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>>;

    /// Whether `group` already reached this threshold.
    fn milestone_reached<'a>(
        &'a self,
        group: &'a GroupKey,
        kind: MilestoneKind,
        name: &'a str,
        threshold: i64,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Milestones reached, newest first, optionally of one group.
    fn list_milestones<'a>(&'a self, group: Option<&'a GroupKey>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<Milestone>>>;

    /// A custom counter's value in a group (0 when it was never incremented).
    fn counter_value<'a>(&'a self, group: &'a GroupKey, name: &'a str) -> BoxFuture<'a, StoreResult<i64>>;

    /// Custom counters, by group then name, optionally of one group.
    fn list_counters<'a>(&'a self, group: Option<&'a GroupKey>) -> BoxFuture<'a, StoreResult<Vec<Counter>>>;

    /// The messages ever posted in a group (the sum of its members' message counts).
    fn group_message_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>>;

    /// The check-ins ever made in a group (make-up check-ins included).
    fn group_check_in_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>>;
    // --- channels and membership ---
    // The join log, leaves and profiles change with `MembershipWrite`s committed with their
    // event; channels and pools are changed by operators, each change with its audit row in
    // the same transaction.

    /// Saves a new channel. [`StoreError::Conflict`] when its id or its code is taken.
    fn create_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>>;

    /// Replaces a channel (archiving is an update). [`StoreError::NotFound`] for an unknown
    /// id, [`StoreError::Conflict`] when its new code is another channel's.
    fn update_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>>;

    fn get_channel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>>;

    /// The channel (archived ones included) with this code, exactly as stored (upper case).
    fn channel_by_code<'a>(&'a self, code: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>>;

    /// Channels by id; archived ones only when asked.
    fn list_channels(&self, archived: bool) -> BoxFuture<'_, StoreResult<Vec<Channel>>>;

    /// Creates or replaces a pool, as given (`alerted_at` included).
    fn save_pool<'a>(&'a self, pool: &'a ChannelPool, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<ChannelPool>>;

    fn get_pool<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChannelPool>>>;

    /// Pools by id.
    fn list_pools(&self) -> BoxFuture<'_, StoreResult<Vec<ChannelPool>>>;

    /// Sets the pool's `alerted_at` if it is unset, and says whether it did (so staff are
    /// asked once); `false` for an unknown pool.
    fn mark_pool_alerted<'a>(&'a self, id: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>>;

    /// Joins in the log at or after `from` and before `until`, counted per channel and per
    /// tier; a stay is a join not followed by a leave.
    fn join_counts(&self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> BoxFuture<'_, StoreResult<JoinCounts>>;

    /// The member's latest join in the log for this group.
    fn latest_join<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<JoinRecord>>>;

    /// The invite code remembered for the member in this group ([`MembershipWrite::CodeSeen`](crate::membership::MembershipWrite::CodeSeen)).
    fn remembered_code<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<String>>>;

    /// The member's profile: their profile row (made by their first join) and their member
    /// records in the connector's groups; `None` when there is neither.
    fn member_profile<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<MemberProfile>>>;

    /// Profiles (members with a join on record) carrying `tag`, whose id is `query` or whose
    /// name contains it; by connector and member id.
    fn search_profiles<'a>(&'a self, tag: Option<&'a str>, query: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<MemberProfile>>>;

    /// Adds then removes tags on a member's profile, with its audit row, in one transaction.
    /// [`StoreError::NotFound`] when the member has no profile row.
    fn tag_profile<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        add: &'a [String],
        remove: &'a [String],
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<MemberProfile>>;

    /// Leaves from the group, newest first.
    fn churn<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaveRecord>>>;

    // --- newcomer gate ---
    // Gate rows change with `GateWrite`s committed with their event (see `crate::gate`).

    /// The member's gate row in `group` (whatever its status), if there is one.
    fn gate_entry<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<crate::gate::GateEntry>>>;

    /// Gate rows with `status`, of one group or of all, soonest deadline first (then by
    /// group and member); at most `limit`.
    fn gate_entries<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: crate::gate::GateStatus,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::gate::GateEntry>>>;

    /// Whether a join request of `member` in `group` was approved (by the engine or staff):
    /// such a member came in through screening and skips the gate.
    fn join_request_approved<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<bool>>;
    // --- insight ---
    /// The asker of `message` when an insight tally remembered it as a question in `group`.
    fn insight_question_asker<'a>(&'a self, group: &'a GroupKey, message: &'a crate::ids::MessageId) -> BoxFuture<'a, StoreResult<Option<MemberId>>>;

    /// Whether `member` asked a question in `group` at a time in `[since, until)`.
    fn insight_asked_between<'a>(
        &'a self,
        group: &'a GroupKey,
        member: &'a MemberId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// The rollup rows of `group` at `granularity` whose bucket is in `[from, until)`: the
    /// group's rows and its members' rows, by bucket, the group's row (no member) first, then
    /// by member id.
    fn insight_rollups<'a>(
        &'a self,
        group: &'a GroupKey,
        granularity: crate::insight::Granularity,
        from: i64,
        until: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::insight::Rollup>>>;

    /// One member's daily rows in every group of the connector, by group then bucket.
    fn insight_member_days<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Vec<crate::insight::Rollup>>>;

    /// Forgets every rollup row, stored tally id and remembered question (a rebuild starts
    /// from this).
    fn insight_reset(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// Processed events with a sequence number above `after`, in order, at most `limit`.
    fn processed_events(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>>;

    /// Records a conversion. One whose id is already stored is not changed: the stored one
    /// is returned with `false`.
    fn record_conversion<'a>(&'a self, conversion: &'a crate::insight::Conversion) -> BoxFuture<'a, StoreResult<(crate::insight::Conversion, bool)>>;

    /// Every conversion, oldest first.
    fn list_conversions(&self) -> BoxFuture<'_, StoreResult<Vec<crate::insight::Conversion>>>;

    /// Keeps a daily digest, replacing the group's digest of the same day.
    fn save_digest<'a>(&'a self, digest: &'a crate::insight::DigestRecord) -> BoxFuture<'a, StoreResult<()>>;

    /// The group's digest of `day`.
    fn digest<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<crate::insight::DigestRecord>>>;

    /// The group's digests, newest day first.
    fn list_digests<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<crate::insight::DigestRecord>>>;

    // --- care ---

    /// Questions, oldest first: of one group or of all, with one status or any.
    fn care_questions<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<crate::care::QuestionStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::care::CareQuestion>>>;

    /// One question by id.
    fn care_question<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::care::CareQuestion>>>;

    /// The group's member lines posted at or after `since`, oldest first.
    fn care_lines_since<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<crate::care::CareLine>>>;

    /// Tickets, oldest first: of one group or of all, with one status or any.
    fn care_tickets<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<crate::care::TicketStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::care::Ticket>>>;

    /// One ticket by id.
    fn care_ticket<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::care::Ticket>>>;

    /// Stores or replaces a ticket outside an event (the tickets API).
    fn save_ticket<'a>(&'a self, ticket: &'a crate::care::Ticket) -> BoxFuture<'a, StoreResult<()>>;

    // --- task assignment ---

    /// Assigns a staff task to `assignee` (`None`: to nobody) and, in the same transaction,
    /// writes an audit row (kind `task.assign`, actor = `by`, see
    /// [`crate::task::assignment_audit`]). Returns the task's assignment now.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown task.
    fn assign_task<'a>(
        &'a self,
        id: &'a TaskId,
        assignee: Option<&'a str>,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<crate::task::TaskAssignment>>>;

    /// The assignments of the tasks `list_tasks(status, limit)` returns (tasks nobody is
    /// assigned to have none), newest task first.
    fn task_assignments(&self, status: Option<TaskStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<crate::task::TaskAssignment>>>;
    // --- life stage ---

    /// The group's last recorded life stage (see [`crate::life_stage`]); `None` before its
    /// first check.
    fn life_stage_record<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<crate::life_stage::StageRecord>>>;

    /// The group's care lines (see [`crate::care::CareLine`]) posted in `[since, until)`:
    /// `(all, negative)` — the outbreak baseline, counted without reading the lines.
    fn care_line_counts<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<(u64, u64)>>;

    // --- digest ---

    /// The stored events of `group` whose time is in `[from, until)`, processed or not, by
    /// time and then by arrival (inbox order). The daily digest reads a day of chat with it.
    fn group_events<'a>(&'a self, group: &'a GroupKey, from: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<Event>>>;

    // --- dashboard overview ---

    /// The groups' own day rows (no member rows) of **every** group with a bucket in
    /// `[from, until)`, by group then bucket: one read for the overview of all groups.
    fn insight_group_days(&self, from: i64, until: i64) -> BoxFuture<'_, StoreResult<Vec<crate::insight::Rollup>>>;

    /// Each group's first day bucket with a rollup row (what a group's life stage is judged
    /// from), by group; groups without rows are left out.
    fn insight_first_days(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, i64)>>>;

    /// Members in each group now (records without `left_at`; what [`Store::count_members`]
    /// counts for one group), by group; groups with none are left out.
    fn member_counts(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, u32)>>>;

    // --- accounts ---
    // Dashboard accounts, their sessions and API tokens (`crate::accounts`). Every change an
    // operator makes is written with its audit row in one transaction.

    /// How many accounts exist (disabled ones included).
    fn count_accounts(&self) -> BoxFuture<'_, StoreResult<u64>>;

    /// Creates an account with its audit row. [`StoreError::Conflict`] when the login is
    /// taken, and, with `first` (the first-run page), when any account exists already: of two
    /// racing first runs, one wins.
    fn create_account<'a>(
        &'a self,
        account: &'a crate::accounts::NewAccount,
        first: bool,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::Account>>;

    fn account(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<crate::accounts::Account>>>;

    /// The account with exactly this login.
    fn account_by_login<'a>(&'a self, login: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::accounts::Account>>>;

    /// Every account, by id.
    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<crate::accounts::Account>>>;

    /// Changes an account with its audit row, in one transaction. Disabling it or setting its
    /// password deletes its sessions. [`StoreError::NotFound`] for an unknown id;
    /// [`StoreError::Conflict`] (and no change) when no enabled owner would be left.
    fn update_account<'a>(
        &'a self,
        id: i64,
        change: &'a crate::accounts::AccountChange,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::Account>>;

    /// Stores a new session (a login) with its audit row.
    fn create_session<'a>(&'a self, session: &'a crate::accounts::Session, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    /// The session with this token hash and its account, when the session has not expired
    /// at `now` and the account is enabled.
    fn session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<(crate::accounts::Session, crate::accounts::Account)>>>;

    /// Moves a session's last-seen time and expiry forward (sliding expiry).
    fn touch_session<'a>(&'a self, token_hash: &'a str, seen: DateTime<Utc>, expires_at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<()>>;

    /// Deletes a session (a logout); whether there was one.
    fn delete_session<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    /// Deletes the sessions expired at `now`; how many there were.
    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>>;

    /// Stores a new API token with its audit row. [`StoreError::Conflict`] when a token not
    /// revoked has the same name.
    fn create_api_token<'a>(
        &'a self,
        token: &'a crate::accounts::NewApiToken,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::ApiToken>>;

    /// The token with this hash, unless it was revoked.
    fn api_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::accounts::ApiToken>>>;

    /// Every API token (revoked ones included), by id.
    fn list_api_tokens(&self) -> BoxFuture<'_, StoreResult<Vec<crate::accounts::ApiToken>>>;

    /// Revokes a token with its audit row; `false` (and no audit row) when there is no such
    /// token or it was revoked already.
    fn revoke_api_token<'a>(&'a self, id: i64, at: DateTime<Utc>, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>>;

    /// Records that a token was used at `at`.
    fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> BoxFuture<'_, StoreResult<()>>;

    /// Writes one audit row on its own (a refused login: nothing else changes).
    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>>;

    // --- platform state (rosters, connector values, hand-overs) ---

    /// Stores a group's roster, replacing the one before (by group).
    fn save_roster<'a>(&'a self, roster: &'a crate::platform::Roster) -> BoxFuture<'a, StoreResult<()>>;

    /// Every roster of `connector`, by group id.
    fn rosters<'a>(&'a self, connector: &'a ConnectorId) -> BoxFuture<'a, StoreResult<Vec<crate::platform::Roster>>>;

    /// Forgets a group's roster (the group is gone); nothing happens when there is none.
    fn delete_roster<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<()>>;

    /// A connector's value under `key`, when one was set.
    fn connector_value<'a>(&'a self, connector: &'a ConnectorId, key: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>>;

    /// Sets (or replaces) a connector's value under `key`.
    fn set_connector_value<'a>(
        &'a self,
        connector: &'a ConnectorId,
        key: &'a str,
        value: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// A staff task made outside an event (a platform refused an action and a person must do
    /// it), with its audit row, in one transaction. Returns `false` and writes nothing when a
    /// task with this id exists already (a re-delivered action hands over once).
    fn hand_over<'a>(&'a self, task: &'a StaffTask, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>>;
}
