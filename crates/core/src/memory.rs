//! An in-memory [`Store`]: the reference semantics of the store contract, used by unit tests
//! and the in-memory benchmark. Nothing survives the process.

mod accounts;
mod admission;
mod gate;
mod care;
mod giveaways;
mod growth;
mod insight;
mod membership;
mod platform;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};

use crate::content::{content_audit, ContentChange, ContentDraft, ContentItem};
use crate::growth::{Counter, Milestone, MilestoneKind, Referral, ReferralCampaign, ReferralCode, ReferralFilter};
use crate::faq::{FaqAnswer, FaqHitCount, FaqLastAnswers, FaqStatsFilter};

use crate::admission::{GuardRecord, WelcomeJoin, JoinRequestRecord, JoinRequestStatus};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::event::Event;
use crate::ids::{ActionId, ConnectorId, GroupKey, MemberId, PlatformEventId, TaskId};
use crate::membership::{Channel, ChannelPool, JoinCounts, JoinRecord, LeaveRecord, MemberProfile};
use crate::lottery::{Lottery, LotteryEntry, LotteryStatus, MessageCount};
use crate::moderation::{
    BlacklistEntry, Correction, MemberChange, MemberRecord, MemberUpdate, Violation, ViolationStatus,
};
use crate::store::{
    Accepted, ActionStatus, AttemptResult, BoxFuture, Commit, GroupRecord, NewRulebookVersion, OutboxEntry,
    RulebookVersion, Store, StoreError, StoreResult,
};
use crate::points::{CheckIn, ItemChange, LeaderboardRow, LedgerEntry, PointsBalance};
use crate::shop::{Redemption, RedemptionStatus, Refusal, ShopItem};
use crate::schedule::{change_audit, NewSchedule, Schedule, ScheduleChange, ScheduleId, ScheduleRun, ScheduleUpdate};
use crate::signup::{Signup, SignupEntry, SignupStatus};
use crate::task::{StaffTask, TaskStatus};
use crate::writes::StateWrite;

/// (template, entry, group, local day) of a hit count; its value is (hits, last hit).
type FaqHitKey = (String, String, GroupKey, NaiveDate);

#[derive(Default)]
struct State {
    events: Vec<(Event, bool)>,
    event_index: HashMap<(ConnectorId, PlatformEventId), i64>,
    groups: BTreeMap<GroupKey, GroupRecord>,
    outbox: Vec<OutboxEntry>,
    outbox_index: HashMap<ActionId, usize>,
    tasks: Vec<StaffTask>,
    audit: Vec<AuditEntry>,
    rulebook: Vec<RulebookVersion>,
    members: BTreeMap<(GroupKey, MemberId), MemberRecord>,
    violations: Vec<Violation>,
    blacklist: Vec<BlacklistEntry>,
    corrections: Vec<Correction>,
    ledger: Vec<LedgerEntry>,
    ledger_ids: HashSet<String>,
    check_ins: BTreeMap<(GroupKey, MemberId, NaiveDate), CheckIn>,
    items: Vec<ItemChange>,
    shop: BTreeMap<String, ShopItem>,
    redemptions: Vec<Redemption>,
    schedules: BTreeMap<ScheduleId, Schedule>,
    last_schedule_id: i64,
    content: BTreeMap<i64, ContentItem>,
    /// The highest content id ever given (ids are never reused).
    content_last_id: i64,
    faq_hits: BTreeMap<FaqHitKey, (u64, DateTime<Utc>)>,
    /// (group, entry, member) → (last answer's id, its time).
    faq_last: HashMap<(GroupKey, String, MemberId), (String, DateTime<Utc>)>,
    giveaways: giveaways::Giveaways,
    admission: admission::Admission,
    growth: growth::Growth,
    membership: membership::Membership,
    gate: gate::Gate,
    insight: insight::Insight,
    care: care::Care,
    task_assignments: HashMap<TaskId, crate::task::TaskAssignment>,
    /// The last life stage per group.
    life_stages: BTreeMap<GroupKey, crate::life_stage::StageRecord>,
    accounts: accounts::Accounts,
    platform: platform::Platform,
}

impl State {
    fn apply_member(&mut self, update: &MemberUpdate) {
        let record = self.members.entry((update.group.clone(), update.member.clone())).or_insert_with(|| MemberRecord {
            group: update.group.clone(),
            member: update.member.clone(),
            name: None,
            first_seen: update.at,
            joined_at: None,
            left_at: None,
            messages: 0,
            last_message_at: None,
        });
        if update.name.is_some() {
            record.name = update.name.clone();
        }
        match update.change {
            MemberChange::Joined => {
                record.joined_at = Some(update.at);
                record.left_at = None;
            }
            MemberChange::Left => record.left_at = Some(update.at),
            MemberChange::Posted => {
                record.messages += 1;
                record.last_message_at = Some(update.at);
            }
            MemberChange::Seen => {}
        }
    }

    fn add_blacklist(&mut self, entry: &BlacklistEntry) {
        if !self.blacklist.iter().any(|b| b.connector == entry.connector && b.member == entry.member) {
            self.blacklist.push(entry.clone());
        }
    }

    /// Applies a rule's write; one already there is skipped.
    fn apply_write(&mut self, write: &StateWrite) {
        match write {
            StateWrite::Points(entry) => {
                if self.ledger_ids.insert(entry.id.clone()) {
                    self.ledger.push(entry.clone());
                }
            }
            StateWrite::CheckIn(check_in) => {
                self.check_ins
                    .entry((check_in.group.clone(), check_in.member.clone(), check_in.day))
                    .or_insert_with(|| check_in.clone());
            }
            StateWrite::Item(change) => {
                if !self.items.iter().any(|c| c.id == change.id) {
                    self.items.push(change.clone());
                }
            }
            StateWrite::FaqAnswer(answer) => self.record_faq_answer(answer),
            // Applied all or nothing before the rest of the commit (they may be refused).
            StateWrite::Signup(_) | StateWrite::Lottery(_) => {}
            StateWrite::Admission(write) => self.admission.apply(write),
            StateWrite::Referral(write) => self.growth.apply_referral(write),
            StateWrite::Milestone(milestone) => self.growth.apply_milestone(milestone),
            StateWrite::Counter(increment) => self.growth.apply_counter(increment),
            StateWrite::Membership(write) => self.membership.apply(write),
            StateWrite::Gate(write) => self.gate.apply(write),
            StateWrite::Insight(write) => self.insight.apply(write),
            StateWrite::Care(write) => self.care.apply(write),
            StateWrite::LifeStage(record) => {
                self.life_stages.insert(record.group.clone(), record.clone());
            }
            StateWrite::Digest(record) => self.insight.keep_digest(record),
        }
    }

    fn record_faq_answer(&mut self, answer: &FaqAnswer) {
        let last = (answer.group.clone(), answer.entry.clone(), answer.member.clone());
        if self.faq_last.get(&last).is_some_and(|(id, _)| id == &answer.id) {
            return;
        }
        self.faq_last.insert(last, (answer.id.clone(), answer.at));
        let key = (answer.template.clone(), answer.entry.clone(), answer.group.clone(), answer.day);
        let count = self.faq_hits.entry(key).or_insert((0, answer.at));
        count.0 += 1;
        count.1 = answer.at;
    }

    fn inventory(&self, connector: &ConnectorId, member: &MemberId, item: &str) -> u32 {
        let sum: i64 = self.items.iter().filter(|c| &c.connector == connector && &c.member == member && c.item == item).map(|c| c.delta).sum();
        u32::try_from(sum.max(0)).unwrap_or(u32::MAX)
    }

    /// The balance is the sum of the ledger, by definition.
    fn balance(&self, connector: &ConnectorId, member: &MemberId) -> PointsBalance {
        self.ledger.iter().filter(|e| &e.connector == connector && &e.member == member).fold(PointsBalance::default(), |mut b, e| {
            b.balance += e.amount;
            b.earned += e.amount.max(0);
            b
        })
    }

    fn push_audit(&mut self, entry: NewAuditEntry) {
        let id = self.audit.len() as i64 + 1;
        self.audit.push(AuditEntry { id, entry });
    }
}

/// See the module documentation.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl Store for MemoryStore {
    fn accept_event<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, StoreResult<Accepted>> {
        let mut state = self.state();
        let key = (event.origin.connector.clone(), event.origin.event_id.clone());
        if let Some(&seq) = state.event_index.get(&key) {
            return ready(Ok(Accepted::Duplicate { seq }));
        }
        state.events.push((event.clone(), false));
        let seq = state.events.len() as i64;
        state.event_index.insert(key, seq);
        ready(Ok(Accepted::New { seq }))
    }

    fn pending_events(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>> {
        let state = self.state();
        let pending = state
            .events
            .iter()
            .enumerate()
            .filter(|(_, (_, done))| !done)
            .take(limit as usize)
            .map(|(i, (event, _))| (i as i64 + 1, event.clone()))
            .collect();
        ready(Ok(pending))
    }

    fn commit<'a>(&'a self, commit: &'a Commit) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        // Sign-up and lottery writes can be refused (a conflict); check them on a copy first
        // so a refused commit changes nothing, as a rolled-back transaction would.
        let giveaways = match state.giveaways.applied(&commit.writes) {
            Ok(giveaways) => giveaways,
            Err(error) => return ready(Err(error)),
        };
        if let Err(error) = state.growth.check(&commit.writes) {
            return ready(Err(error));
        }
        if let Some(seq) = commit.event_seq {
            let Some(slot) = usize::try_from(seq - 1).ok().and_then(|i| state.events.get_mut(i)) else {
                return ready(Err(StoreError::NotFound(format!("event #{seq}"))));
            };
            slot.1 = true;
        }
        for action in &commit.actions {
            if state.outbox_index.contains_key(&action.id) {
                continue;
            }
            let seq = state.outbox.len() as i64 + 1;
            let due = action.not_before.unwrap_or(action.created_at);
            let index = state.outbox.len();
            state.outbox_index.insert(action.id.clone(), index);
            state.outbox.push(OutboxEntry {
                seq,
                action: action.clone(),
                status: ActionStatus::Pending,
                attempts: 0,
                next_attempt_at: due,
                last_error: None,
                updated_at: action.created_at,
            });
        }
        for task in &commit.tasks {
            if !state.tasks.iter().any(|t| t.id == task.id) {
                state.tasks.push(task.clone());
            }
        }
        for entry in &commit.audit {
            state.push_audit(entry.clone());
        }
        for update in &commit.members {
            state.apply_member(update);
        }
        for violation in &commit.violations {
            if !state.violations.iter().any(|v| v.id == violation.id) {
                state.violations.push(violation.clone());
            }
        }
        for entry in &commit.blacklist {
            state.add_blacklist(entry);
        }
        for write in &commit.writes {
            state.apply_write(write);
        }
        if let Some(giveaways) = giveaways {
            state.giveaways = giveaways;
        }
        ready(Ok(()))
    }

    fn touch_group<'a>(
        &'a self,
        key: &'a GroupKey,
        name: Option<&'a str>,
        seen_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<GroupRecord>> {
        let mut state = self.state();
        let record = state.groups.entry(key.clone()).or_insert_with(|| GroupRecord {
            key: key.clone(),
            name: None,
            first_seen: seen_at,
            last_seen: seen_at,
        });
        if let Some(name) = name {
            record.name = Some(name.to_owned());
        }
        record.last_seen = record.last_seen.max(seen_at);
        ready(Ok(record.clone()))
    }

    fn list_groups(&self) -> BoxFuture<'_, StoreResult<Vec<GroupRecord>>> {
        ready(Ok(self.state().groups.values().cloned().collect()))
    }

    fn due_actions<'a>(
        &'a self,
        connector: &'a ConnectorId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>> {
        let state = self.state();
        let due = state
            .outbox
            .iter()
            .filter(|e| &e.action.group.connector == connector)
            .filter(|e| e.status == ActionStatus::Pending && e.next_attempt_at <= now)
            .filter(|e| e.action.not_before.is_none_or(|t| t <= now))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(due))
    }

    fn actions_after<'a>(
        &'a self,
        connector: &'a ConnectorId,
        after: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEntry>>> {
        let state = self.state();
        let feed = state
            .outbox
            .iter()
            .filter(|e| &e.action.group.connector == connector && e.seq > after)
            .filter(|e| e.action.not_before.is_none_or(|t| t <= now))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(feed))
    }

    fn get_action<'a>(&'a self, id: &'a ActionId) -> BoxFuture<'a, StoreResult<Option<OutboxEntry>>> {
        let state = self.state();
        ready(Ok(state.outbox_index.get(id).map(|&i| state.outbox[i].clone())))
    }

    fn record_attempt<'a>(
        &'a self,
        id: &'a ActionId,
        result: &'a AttemptResult,
        at: DateTime<Utc>,
        audit: Option<&'a NewAuditEntry>,
    ) -> BoxFuture<'a, StoreResult<OutboxEntry>> {
        let mut state = self.state();
        let Some(&index) = state.outbox_index.get(id) else {
            return ready(Err(StoreError::NotFound(format!("action {id}"))));
        };
        let entry = &mut state.outbox[index];
        entry.updated_at = at;
        match result {
            AttemptResult::Delivered => {
                entry.status = ActionStatus::Delivered;
                entry.last_error = None;
            }
            AttemptResult::AwaitingPeer => entry.status = ActionStatus::AwaitingPeer,
            AttemptResult::Retry { next_attempt_at, error } => {
                entry.status = ActionStatus::Pending;
                entry.attempts += 1;
                entry.next_attempt_at = *next_attempt_at;
                entry.last_error = Some(error.clone());
            }
            AttemptResult::Failed { error } => {
                entry.status = ActionStatus::Failed;
                entry.attempts += 1;
                entry.last_error = Some(error.clone());
            }
        }
        let updated = entry.clone();
        if let Some(audit) = audit {
            state.push_audit(audit.clone());
        }
        ready(Ok(updated))
    }

    fn list_tasks(&self, status: Option<TaskStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<StaffTask>>> {
        let state = self.state();
        let tasks = state
            .tasks
            .iter()
            .rev()
            .filter(|t| status.is_none_or(|s| t.status == s))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(tasks))
    }

    fn set_task_status<'a>(
        &'a self,
        id: &'a TaskId,
        status: TaskStatus,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<StaffTask>> {
        let mut state = self.state();
        let Some(task) = state.tasks.iter_mut().find(|t| &t.id == id) else {
            return ready(Err(StoreError::NotFound(format!("task {id}"))));
        };
        let from = task.status;
        task.status = status;
        task.updated_at = at;
        task.updated_by = Some(by.to_owned());
        let task = task.clone();
        state.push_audit(NewAuditEntry {
            time: at,
            actor: by.to_owned(),
            kind: "task.status".into(),
            group: Some(task.group.clone()),
            event_id: None,
            action_id: Some(task.action.id.clone()),
            rule: Some(task.action.rule.clone()),
            summary: format!("待办 {}：{} → {}", task.id, from.name(), status.name()),
            detail: None,
        });
        ready(Ok(task))
    }

    fn list_audit<'a>(&'a self, group: Option<&'a GroupKey>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<AuditEntry>>> {
        let state = self.state();
        let rows = state
            .audit
            .iter()
            .rev()
            .filter(|a| group.is_none_or(|g| a.entry.group.as_ref() == Some(g)))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(rows))
    }

    fn rulebook_head(&self) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>> {
        ready(Ok(self.state().rulebook.last().cloned()))
    }

    fn rulebook_save<'a>(&'a self, new: &'a NewRulebookVersion) -> BoxFuture<'a, StoreResult<RulebookVersion>> {
        let mut state = self.state();
        let head = state.rulebook.last().map(|v| v.version);
        if head != new.parent {
            return ready(Err(StoreError::Conflict(format!(
                "rulebook head is {head:?}, the edit was based on {:?}",
                new.parent
            ))));
        }
        let version = RulebookVersion {
            version: head.unwrap_or(0) + 1,
            author: new.author.clone(),
            note: new.note.clone(),
            changes: new.changes.clone(),
            body: new.body.clone(),
            time: new.time,
        };
        state.rulebook.push(version.clone());
        state.push_audit(NewAuditEntry {
            time: new.time,
            actor: new.author.clone(),
            kind: "rulebook.save".into(),
            group: None,
            event_id: None,
            action_id: None,
            rule: None,
            summary: format!("规则手册 v{}：{}", version.version, new.note),
            detail: None,
        });
        ready(Ok(version))
    }

    fn rulebook_versions(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<RulebookVersion>>> {
        ready(Ok(self.state().rulebook.iter().rev().take(limit as usize).cloned().collect()))
    }

    fn rulebook_version(&self, version: i64) -> BoxFuture<'_, StoreResult<Option<RulebookVersion>>> {
        ready(Ok(self.state().rulebook.iter().find(|v| v.version == version).cloned()))
    }

    fn member<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<MemberRecord>>> {
        ready(Ok(self.state().members.get(&(group.clone(), member.clone())).cloned()))
    }

    fn count_violations<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        let state = self.state();
        let count = state
            .violations
            .iter()
            .filter(|v| &v.group.connector == connector && &v.member == member)
            .filter(|v| v.status == ViolationStatus::Active && !v.dry_run && v.time >= since)
            .count();
        ready(Ok(u32::try_from(count).unwrap_or(u32::MAX)))
    }

    fn list_violations<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<ViolationStatus>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<Violation>>> {
        let state = self.state();
        let rows = state
            .violations
            .iter()
            .rev()
            .filter(|v| group.is_none_or(|g| &v.group == g) && status.is_none_or(|s| v.status == s))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(rows))
    }

    fn get_violation<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Violation>>> {
        ready(Ok(self.state().violations.iter().find(|v| v.id == id).cloned()))
    }

    fn set_violation_status<'a>(
        &'a self,
        id: &'a str,
        status: ViolationStatus,
        correction: Option<&'a Correction>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Violation>> {
        let mut state = self.state();
        let Some(violation) = state.violations.iter_mut().find(|v| v.id == id) else {
            return ready(Err(StoreError::NotFound(format!("violation {id}"))));
        };
        violation.status = status;
        let violation = violation.clone();
        if let Some(correction) = correction {
            state.corrections.push(correction.clone());
        }
        state.push_audit(audit.clone());
        ready(Ok(violation))
    }

    fn blacklisted<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<BlacklistEntry>>> {
        let state = self.state();
        ready(Ok(state.blacklist.iter().find(|b| &b.connector == connector && &b.member == member).cloned()))
    }

    fn list_blacklist(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<BlacklistEntry>>> {
        ready(Ok(self.state().blacklist.iter().rev().take(limit as usize).cloned().collect()))
    }

    fn add_to_blacklist<'a>(&'a self, entry: &'a BlacklistEntry, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        state.add_blacklist(entry);
        state.push_audit(audit.clone());
        ready(Ok(()))
    }

    fn remove_from_blacklist<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let before = state.blacklist.len();
        state.blacklist.retain(|b| !(&b.connector == connector && &b.member == member));
        let removed = state.blacklist.len() != before;
        if removed {
            state.push_audit(audit.clone());
        }
        ready(Ok(removed))
    }

    fn add_correction<'a>(&'a self, correction: &'a Correction, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        state.corrections.push(correction.clone());
        state.push_audit(audit.clone());
        ready(Ok(()))
    }

    fn list_corrections(&self) -> BoxFuture<'_, StoreResult<Vec<Correction>>> {
        ready(Ok(self.state().corrections.clone()))
    }

    fn points_balance<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<PointsBalance>> {
        ready(Ok(self.state().balance(connector, member)))
    }

    fn points_ledger<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<LedgerEntry>>> {
        let state = self.state();
        let entries =
            state.ledger.iter().rev().filter(|e| &e.connector == connector && &e.member == member).take(limit as usize).cloned().collect();
        ready(Ok(entries))
    }

    fn points_by_rule_since<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        rule: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        let state = self.state();
        let sum = state
            .ledger
            .iter()
            .filter(|e| &e.connector == connector && &e.member == member && e.rule == rule && e.time >= since)
            .map(|e| e.amount)
            .sum();
        ready(Ok(sum))
    }

    fn add_points<'a>(&'a self, entry: &'a LedgerEntry, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<PointsBalance>> {
        let mut state = self.state();
        if state.ledger_ids.contains(&entry.id) {
            return ready(Err(StoreError::Conflict(format!("ledger entry {} exists", entry.id))));
        }
        let before = state.balance(&entry.connector, &entry.member);
        if before.balance + entry.amount < 0 {
            return ready(Err(StoreError::Conflict(format!("insufficient points: balance {}, change {}", before.balance, entry.amount))));
        }
        state.apply_write(&StateWrite::Points(entry.clone()));
        state.push_audit(audit.clone());
        ready(Ok(state.balance(&entry.connector, &entry.member)))
    }

    fn points_leaderboard<'a>(&'a self, connector: &'a ConnectorId, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaderboardRow>>> {
        let state = self.state();
        let members: BTreeMap<&MemberId, ()> =
            state.ledger.iter().filter(|e| &e.connector == connector).map(|e| (&e.member, ())).collect();
        let mut rows: Vec<LeaderboardRow> = members
            .into_keys()
            .map(|member| {
                let b = state.balance(connector, member);
                LeaderboardRow { member: member.clone(), balance: b.balance, earned: b.earned }
            })
            .collect();
        rows.sort_by(|a, b| b.balance.cmp(&a.balance).then_with(|| a.member.cmp(&b.member)));
        rows.truncate(limit as usize);
        ready(Ok(rows))
    }

    fn last_check_in<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<CheckIn>>> {
        let state = self.state();
        let last = state.check_ins.values().filter(|c| &c.group == group && &c.member == member).max_by_key(|c| c.day).cloned();
        ready(Ok(last))
    }

    fn check_in_on<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<CheckIn>>> {
        ready(Ok(self.state().check_ins.get(&(group.clone(), member.clone(), day)).cloned()))
    }

    fn check_ins_on<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Vec<CheckIn>>> {
        let state = self.state();
        let mut day_list: Vec<CheckIn> = state.check_ins.values().filter(|c| &c.group == group && c.day == day).cloned().collect();
        day_list.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.member.cmp(&b.member)));
        ready(Ok(day_list))
    }

    fn count_check_ins<'a>(
        &'a self,
        group: &'a GroupKey,
        member: &'a MemberId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        let state = self.state();
        let count = state.check_ins.values().filter(|c| &c.group == group && &c.member == member && c.day >= from && c.day <= to).count();
        ready(Ok(u32::try_from(count).unwrap_or(u32::MAX)))
    }

    fn inventory<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId, item: &'a str) -> BoxFuture<'a, StoreResult<u32>> {
        ready(Ok(self.state().inventory(connector, member, item)))
    }

    fn save_shop_item<'a>(&'a self, item: &'a ShopItem, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        state.shop.insert(item.id.clone(), item.clone());
        state.push_audit(audit.clone());
        ready(Ok(()))
    }

    fn shop_items(&self) -> BoxFuture<'_, StoreResult<Vec<ShopItem>>> {
        ready(Ok(self.state().shop.values().cloned().collect()))
    }

    fn shop_item<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ShopItem>>> {
        ready(Ok(self.state().shop.get(id).cloned()))
    }

    fn redeem<'a>(
        &'a self,
        redemption: &'a Redemption,
        debit: &'a LedgerEntry,
        task: Option<&'a StaffTask>,
        item_change: Option<&'a ItemChange>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Result<Redemption, Refusal>>> {
        let mut state = self.state();
        if state.redemptions.iter().any(|r| r.id == redemption.id) || state.ledger_ids.contains(&debit.id) {
            return ready(Ok(Err(Refusal::Duplicate)));
        }
        let Some(item) = state.shop.get(&redemption.item) else {
            return ready(Ok(Err(Refusal::UnknownItem)));
        };
        if !item.enabled {
            return ready(Ok(Err(Refusal::Disabled)));
        }
        if item.stock.is_some_and(|s| s <= 0) {
            return ready(Ok(Err(Refusal::OutOfStock)));
        }
        if state.balance(&debit.connector, &debit.member).balance + debit.amount < 0 {
            return ready(Ok(Err(Refusal::InsufficientPoints)));
        }
        if let Some(item) = state.shop.get_mut(&redemption.item)
            && let Some(stock) = item.stock.as_mut()
        {
            *stock -= 1;
        }
        state.apply_write(&StateWrite::Points(debit.clone()));
        if let Some(change) = item_change {
            state.apply_write(&StateWrite::Item(change.clone()));
        }
        if let Some(task) = task {
            state.tasks.push(task.clone());
        }
        state.redemptions.push(redemption.clone());
        state.push_audit(audit.clone());
        ready(Ok(Ok(redemption.clone())))
    }

    fn list_redemptions(&self, status: Option<RedemptionStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Redemption>>> {
        let state = self.state();
        let list = state.redemptions.iter().rev().filter(|r| status.is_none_or(|s| r.status == s)).take(limit as usize).cloned().collect();
        ready(Ok(list))
    }

    fn settle_redemption<'a>(
        &'a self,
        id: &'a str,
        status: RedemptionStatus,
        refund: Option<&'a LedgerEntry>,
        at: DateTime<Utc>,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<Redemption>> {
        let mut state = self.state();
        let Some(index) = state.redemptions.iter().position(|r| r.id == id) else {
            return ready(Err(StoreError::NotFound(format!("redemption {id}"))));
        };
        if state.redemptions[index].status != RedemptionStatus::Pending {
            return ready(Err(StoreError::Conflict(format!("redemption {id} is {}", state.redemptions[index].status.name()))));
        }
        if status == RedemptionStatus::Cancelled {
            let item_id = state.redemptions[index].item.clone();
            if let Some(item) = state.shop.get_mut(&item_id)
                && let Some(stock) = item.stock.as_mut()
            {
                *stock += 1;
            }
            if let Some(refund) = refund {
                state.apply_write(&StateWrite::Points(refund.clone()));
            }
        }
        let redemption = &mut state.redemptions[index];
        redemption.status = status;
        redemption.updated_at = at;
        let settled = redemption.clone();
        state.push_audit(audit.clone());
        ready(Ok(settled))
    }

    fn create_schedule<'a>(&'a self, new: &'a NewSchedule) -> BoxFuture<'a, StoreResult<Schedule>> {
        let mut state = self.state();
        state.last_schedule_id += 1;
        let schedule = Schedule {
            id: ScheduleId(state.last_schedule_id),
            def: new.def.clone(),
            paused: new.paused,
            next_run: new.next_run,
            last_run: None,
            created_at: new.at,
            updated_at: new.at,
            updated_by: new.by.clone(),
        };
        state.schedules.insert(schedule.id, schedule.clone());
        state.push_audit(change_audit(&schedule, ScheduleChange::Create, &new.by, new.at, new.detail.clone()));
        ready(Ok(schedule))
    }

    fn update_schedule<'a>(&'a self, id: ScheduleId, update: &'a ScheduleUpdate) -> BoxFuture<'a, StoreResult<Schedule>> {
        let mut state = self.state();
        let Some(schedule) = state.schedules.get_mut(&id) else {
            return ready(Err(StoreError::NotFound(format!("schedule {id}"))));
        };
        schedule.def = update.def.clone();
        schedule.paused = update.paused;
        schedule.next_run = update.next_run;
        schedule.updated_at = update.at;
        schedule.updated_by = update.by.clone();
        let schedule = schedule.clone();
        state.push_audit(change_audit(&schedule, update.change, &update.by, update.at, update.detail.clone()));
        ready(Ok(schedule))
    }

    fn delete_schedule<'a>(&'a self, id: ScheduleId, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Schedule>> {
        let mut state = self.state();
        let Some(schedule) = state.schedules.remove(&id) else {
            return ready(Err(StoreError::NotFound(format!("schedule {id}"))));
        };
        state.push_audit(change_audit(&schedule, ScheduleChange::Delete, by, at, None));
        ready(Ok(schedule))
    }

    fn get_schedule(&self, id: ScheduleId) -> BoxFuture<'_, StoreResult<Option<Schedule>>> {
        ready(Ok(self.state().schedules.get(&id).cloned()))
    }

    fn list_schedules(&self) -> BoxFuture<'_, StoreResult<Vec<Schedule>>> {
        ready(Ok(self.state().schedules.values().cloned().collect()))
    }

    fn due_schedules(&self, until: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Schedule>>> {
        let state = self.state();
        let mut due: Vec<Schedule> =
            state.schedules.values().filter(|s| !s.paused && s.next_run.is_some_and(|t| t <= until)).cloned().collect();
        due.sort_by_key(|s| (s.next_run, s.id));
        due.truncate(limit as usize);
        ready(Ok(due))
    }

    fn record_schedule_run<'a>(&'a self, id: ScheduleId, run: &'a ScheduleRun) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let Some(schedule) = state.schedules.get_mut(&id).filter(|s| s.next_run == Some(run.expected)) else {
            return ready(Ok(false));
        };
        if run.ran.is_some() {
            schedule.last_run = run.ran;
        }
        schedule.next_run = run.next_run;
        for entry in &run.audit {
            state.push_audit(entry.clone());
        }
        ready(Ok(true))
    }

    fn open_signup<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<Signup>>> {
        ready(Ok(self.state().giveaways.open_signup(group)))
    }

    fn get_signup<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Signup>>> {
        ready(Ok(self.state().giveaways.get_signup(id)))
    }

    fn list_signups<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<SignupStatus>,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<Signup>>> {
        ready(Ok(self.state().giveaways.list_signups(group, status, limit)))
    }

    fn signup_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<SignupEntry>>> {
        ready(Ok(self.state().giveaways.signup_entries(id)))
    }

    fn due_signups(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Signup>>> {
        ready(Ok(self.state().giveaways.due_signups(now, limit)))
    }

    fn get_lottery<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Lottery>>> {
        ready(Ok(self.state().giveaways.get_lottery(id)))
    }

    fn list_lotteries(&self, status: Option<LotteryStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>> {
        ready(Ok(self.state().giveaways.list_lotteries(status, limit)))
    }

    fn open_lotteries_in<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<Lottery>>> {
        ready(Ok(self.state().giveaways.open_lotteries_in(group)))
    }

    fn lottery_entries<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<LotteryEntry>>> {
        ready(Ok(self.state().giveaways.lottery_entries(id)))
    }

    fn lottery_entry<'a>(
        &'a self,
        id: &'a str,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<Option<LotteryEntry>>> {
        ready(Ok(self.state().giveaways.lottery_entry(id, connector, member)))
    }

    fn lottery_message_count<'a>(
        &'a self,
        id: &'a str,
        connector: &'a ConnectorId,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        ready(Ok(self.state().giveaways.message_count(id, connector, member)))
    }

    fn lottery_message_counts<'a>(&'a self, id: &'a str, at_least: u32) -> BoxFuture<'a, StoreResult<Vec<MessageCount>>> {
        ready(Ok(self.state().giveaways.message_counts(id, at_least)))
    }

    fn due_lotteries(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Lottery>>> {
        ready(Ok(self.state().giveaways.due_lotteries(now, limit)))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        ready(())
    }

    fn content_create<'a>(&'a self, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>> {
        let mut state = self.state();
        state.content_last_id += 1;
        let item = draft.created(state.content_last_id);
        state.content.insert(item.id, item.clone());
        state.push_audit(content_audit(ContentChange::Created, &item, &draft.by, draft.at));
        ready(Ok(item))
    }

    fn content_update<'a>(&'a self, id: i64, draft: &'a ContentDraft) -> BoxFuture<'a, StoreResult<ContentItem>> {
        let mut state = self.state();
        let Some(existing) = state.content.get(&id) else {
            return ready(Err(StoreError::NotFound(format!("content item #{id}"))));
        };
        let item = draft.applied_to(existing);
        state.content.insert(id, item.clone());
        state.push_audit(content_audit(ContentChange::Updated, &item, &draft.by, draft.at));
        ready(Ok(item))
    }

    fn content_get(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ContentItem>>> {
        ready(Ok(self.state().content.get(&id).cloned()))
    }

    fn content_list<'a>(&'a self, tag: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<ContentItem>>> {
        let state = self.state();
        let items = state
            .content
            .values()
            .rev()
            .filter(|item| tag.is_none_or(|t| item.tags.iter().any(|x| x == t)))
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(items))
    }

    fn content_delete<'a>(&'a self, id: i64, by: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let Some(item) = state.content.remove(&id) else { return ready(Ok(false)) };
        state.push_audit(content_audit(ContentChange::Deleted, &item, by, at));
        ready(Ok(true))
    }

    fn faq_last_answers<'a>(
        &'a self,
        group: &'a GroupKey,
        entry: &'a str,
        member: &'a MemberId,
    ) -> BoxFuture<'a, StoreResult<FaqLastAnswers>> {
        let state = self.state();
        let in_group = state.faq_last.iter().filter(|((g, e, _), _)| g == group && e == entry).map(|(_, (_, at))| *at).max();
        let to_member = state.faq_last.get(&(group.clone(), entry.to_owned(), member.clone())).map(|(_, at)| *at);
        ready(Ok(FaqLastAnswers { in_group, to_member }))
    }

    fn faq_stats<'a>(&'a self, filter: &'a FaqStatsFilter, limit: u32) -> BoxFuture<'a, StoreResult<Vec<FaqHitCount>>> {
        let state = self.state();
        let mut counts: Vec<FaqHitCount> = state
            .faq_hits
            .iter()
            .map(|((template, entry, group, day), (hits, last_at))| FaqHitCount {
                template: template.clone(),
                entry: entry.clone(),
                group: group.clone(),
                day: *day,
                hits: *hits,
                last_at: *last_at,
            })
            .filter(|count| filter.admits(count))
            .collect();
        counts.sort_by(|a, b| {
            b.day.cmp(&a.day).then_with(|| a.template.cmp(&b.template)).then_with(|| a.entry.cmp(&b.entry)).then_with(|| a.group.cmp(&b.group))
        });
        counts.truncate(limit as usize);
        ready(Ok(counts))
    }

    // --- membership ---

    fn count_members<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<u32>> {
        let state = self.state();
        let count = state.members.values().filter(|m| &m.group == group && m.left_at.is_none()).count();
        ready(u32::try_from(count).map_err(|_| StoreError::Corrupt(format!("member count {count} is out of range"))))
    }

    // --- admission and the welcome ritual ---

    fn join_request<'a>(&'a self, group: &'a GroupKey, request_id: &'a str) -> BoxFuture<'a, StoreResult<Option<JoinRequestRecord>>> {
        ready(Ok(self.state().admission.request(group, request_id)))
    }

    fn join_requests(&self, status: Option<JoinRequestStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<JoinRequestRecord>>> {
        ready(Ok(self.state().admission.requests(status, limit)))
    }

    fn pending_welcomes<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Vec<WelcomeJoin>>> {
        ready(Ok(self.state().admission.pending_welcomes(group)))
    }

    fn due_welcomes(&self, limit: u32) -> BoxFuture<'_, StoreResult<Vec<crate::admission::DueWelcome>>> {
        ready(Ok(self.state().admission.due_welcomes(limit)))
    }

    fn count_joins<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<u32>> {
        ready(Ok(self.state().admission.count_joins(group, since)))
    }

    fn group_guard<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<GuardRecord>>> {
        ready(Ok(self.state().admission.guard(group)))
    }

    // --- referrals and milestones ---

    fn referral<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Referral>>> {
        ready(Ok(self.state().growth.referrals.get(id).cloned()))
    }

    fn list_referrals<'a>(&'a self, filter: &'a ReferralFilter, limit: u32) -> BoxFuture<'a, StoreResult<Vec<Referral>>> {
        ready(Ok(self.state().growth.list_referrals(filter, limit)))
    }

    fn due_referrals(&self, now: DateTime<Utc>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<Referral>>> {
        ready(Ok(self.state().growth.due_referrals(now, limit)))
    }

    fn save_referral_code<'a>(&'a self, code: &'a ReferralCode) -> BoxFuture<'a, StoreResult<ReferralCode>> {
        ready(self.state().growth.save_code(code))
    }

    fn referral_code<'a>(&'a self, connector: &'a ConnectorId, code: &'a str) -> BoxFuture<'a, StoreResult<Option<ReferralCode>>> {
        ready(Ok(self.state().growth.code(connector, code)))
    }

    fn save_referral_campaign<'a>(&'a self, campaign: &'a ReferralCampaign, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        state.growth.campaigns.insert(campaign.id.clone(), campaign.clone());
        state.push_audit(audit.clone());
        ready(Ok(()))
    }

    fn referral_campaigns(&self) -> BoxFuture<'_, StoreResult<Vec<ReferralCampaign>>> {
        ready(Ok(self.state().growth.campaigns()))
    }

    fn delete_referral_campaign<'a>(&'a self, id: &'a str, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let removed = state.growth.campaigns.remove(id).is_some();
        if removed {
            state.push_audit(audit.clone());
        }
        ready(Ok(removed))
    }

    fn milestone_reached<'a>(
        &'a self,
        group: &'a GroupKey,
        kind: MilestoneKind,
        name: &'a str,
        threshold: i64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.state().growth.milestones.contains_key(&(group.clone(), kind, name.to_owned(), threshold))))
    }

    fn list_milestones<'a>(&'a self, group: Option<&'a GroupKey>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<Milestone>>> {
        ready(Ok(self.state().growth.list_milestones(group, limit)))
    }

    fn counter_value<'a>(&'a self, group: &'a GroupKey, name: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        ready(Ok(self.state().growth.counters.get(&(group.clone(), name.to_owned())).map_or(0, |c| c.value)))
    }

    fn list_counters<'a>(&'a self, group: Option<&'a GroupKey>) -> BoxFuture<'a, StoreResult<Vec<Counter>>> {
        ready(Ok(self.state().growth.list_counters(group)))
    }

    fn group_message_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>> {
        let state = self.state();
        ready(Ok(state.members.values().filter(|m| &m.group == group).map(|m| i64::try_from(m.messages).unwrap_or(i64::MAX)).sum()))
    }

    fn group_check_in_total<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<i64>> {
        let state = self.state();
        ready(Ok(state.check_ins.keys().filter(|(g, _, _)| g == group).count() as i64))
    }

    // --- channels and membership (memory/membership.rs) ---

    fn create_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>> {
        let mut state = self.state();
        let created = state.membership.create_channel(channel);
        if created.is_ok() {
            state.push_audit(audit.clone());
        }
        ready(created)
    }

    fn update_channel<'a>(&'a self, channel: &'a Channel, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<Channel>> {
        let mut state = self.state();
        let updated = state.membership.update_channel(channel);
        if updated.is_ok() {
            state.push_audit(audit.clone());
        }
        ready(updated)
    }

    fn get_channel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>> {
        ready(Ok(self.state().membership.get_channel(id)))
    }

    fn channel_by_code<'a>(&'a self, code: &'a str) -> BoxFuture<'a, StoreResult<Option<Channel>>> {
        ready(Ok(self.state().membership.channel_by_code(code)))
    }

    fn list_channels(&self, archived: bool) -> BoxFuture<'_, StoreResult<Vec<Channel>>> {
        ready(Ok(self.state().membership.list_channels(archived)))
    }

    fn save_pool<'a>(&'a self, pool: &'a ChannelPool, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<ChannelPool>> {
        let mut state = self.state();
        let saved = state.membership.save_pool(pool);
        state.push_audit(audit.clone());
        ready(Ok(saved))
    }

    fn get_pool<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChannelPool>>> {
        ready(Ok(self.state().membership.get_pool(id)))
    }

    fn list_pools(&self) -> BoxFuture<'_, StoreResult<Vec<ChannelPool>>> {
        ready(Ok(self.state().membership.list_pools()))
    }

    fn mark_pool_alerted<'a>(&'a self, id: &'a str, at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.state().membership.mark_pool_alerted(id, at)))
    }

    fn join_counts(&self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> BoxFuture<'_, StoreResult<JoinCounts>> {
        ready(Ok(self.state().membership.join_counts(from, until)))
    }

    fn latest_join<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<JoinRecord>>> {
        ready(Ok(self.state().membership.latest_join(group, member)))
    }

    fn remembered_code<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<String>>> {
        ready(Ok(self.state().membership.remembered_code(group, member)))
    }

    fn member_profile<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<MemberProfile>>> {
        let state = self.state();
        ready(Ok(state.membership.profile(connector, member, &state.members)))
    }

    fn search_profiles<'a>(&'a self, tag: Option<&'a str>, query: Option<&'a str>, limit: u32) -> BoxFuture<'a, StoreResult<Vec<MemberProfile>>> {
        let state = self.state();
        ready(Ok(state.membership.search(tag, query, limit, &state.members)))
    }

    fn tag_profile<'a>(
        &'a self,
        connector: &'a ConnectorId,
        member: &'a MemberId,
        add: &'a [String],
        remove: &'a [String],
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<MemberProfile>> {
        let mut state = self.state();
        if let Err(error) = state.membership.tag(connector, member, add, remove) {
            return ready(Err(error));
        }
        state.push_audit(audit.clone());
        let profile = state.membership.profile(connector, member, &state.members);
        ready(profile.ok_or_else(|| StoreError::NotFound(format!("profile of {connector}/{member}"))))
    }

    fn churn<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<LeaveRecord>>> {
        ready(Ok(self.state().membership.churn(group, limit)))
    }

    // --- newcomer gate ---

    fn gate_entry<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Option<crate::gate::GateEntry>>> {
        ready(Ok(self.state().gate.entry(group, member)))
    }

    fn gate_entries<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: crate::gate::GateStatus,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::gate::GateEntry>>> {
        ready(Ok(self.state().gate.entries(group, status, limit)))
    }

    fn join_request_approved<'a>(&'a self, group: &'a GroupKey, member: &'a MemberId) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.state().admission.approved(group, member)))
    }

    fn insight_question_asker<'a>(&'a self, group: &'a GroupKey, message: &'a crate::ids::MessageId) -> BoxFuture<'a, StoreResult<Option<MemberId>>> {
        ready(Ok(self.state().insight.question_asker(group, message)))
    }

    fn insight_asked_between<'a>(
        &'a self,
        group: &'a GroupKey,
        member: &'a MemberId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.state().insight.asked_between(group, member, since, until)))
    }

    fn insight_rollups<'a>(
        &'a self,
        group: &'a GroupKey,
        granularity: crate::insight::Granularity,
        from: i64,
        until: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::insight::Rollup>>> {
        ready(Ok(self.state().insight.rollups(group, granularity, from, until)))
    }

    fn insight_member_days<'a>(&'a self, connector: &'a ConnectorId, member: &'a MemberId) -> BoxFuture<'a, StoreResult<Vec<crate::insight::Rollup>>> {
        ready(Ok(self.state().insight.member_days(connector, member)))
    }

    fn insight_reset(&self) -> BoxFuture<'_, StoreResult<()>> {
        self.state().insight.reset();
        ready(Ok(()))
    }

    fn processed_events(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<(i64, Event)>>> {
        let state = self.state();
        let events = state
            .events
            .iter()
            .enumerate()
            .map(|(i, (event, done))| (i as i64 + 1, event, *done))
            .filter(|(seq, _, done)| *done && *seq > after)
            .take(limit as usize)
            .map(|(seq, event, _)| (seq, event.clone()))
            .collect();
        ready(Ok(events))
    }

    fn record_conversion<'a>(&'a self, conversion: &'a crate::insight::Conversion) -> BoxFuture<'a, StoreResult<(crate::insight::Conversion, bool)>> {
        ready(Ok(self.state().insight.record_conversion(conversion)))
    }

    fn list_conversions(&self) -> BoxFuture<'_, StoreResult<Vec<crate::insight::Conversion>>> {
        ready(Ok(self.state().insight.conversions()))
    }

    fn save_digest<'a>(&'a self, digest: &'a crate::insight::DigestRecord) -> BoxFuture<'a, StoreResult<()>> {
        self.state().insight.save_digest(digest);
        ready(Ok(()))
    }

    fn digest<'a>(&'a self, group: &'a GroupKey, day: NaiveDate) -> BoxFuture<'a, StoreResult<Option<crate::insight::DigestRecord>>> {
        ready(Ok(self.state().insight.digest(group, day)))
    }

    fn list_digests<'a>(&'a self, group: &'a GroupKey, limit: u32) -> BoxFuture<'a, StoreResult<Vec<crate::insight::DigestRecord>>> {
        ready(Ok(self.state().insight.digests(group, limit)))
    }

    // --- care ---

    fn care_questions<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<crate::care::QuestionStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::care::CareQuestion>>> {
        ready(Ok(self.state().care.questions(group, status)))
    }

    fn care_question<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::care::CareQuestion>>> {
        ready(Ok(self.state().care.question(id)))
    }

    fn care_lines_since<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<crate::care::CareLine>>> {
        ready(Ok(self.state().care.lines_since(group, since)))
    }

    fn care_tickets<'a>(
        &'a self,
        group: Option<&'a GroupKey>,
        status: Option<crate::care::TicketStatus>,
    ) -> BoxFuture<'a, StoreResult<Vec<crate::care::Ticket>>> {
        ready(Ok(self.state().care.tickets(group, status)))
    }

    fn care_ticket<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::care::Ticket>>> {
        ready(Ok(self.state().care.ticket(id)))
    }

    fn save_ticket<'a>(&'a self, ticket: &'a crate::care::Ticket) -> BoxFuture<'a, StoreResult<()>> {
        self.state().care.save_ticket(ticket);
        ready(Ok(()))
    }

    // --- task assignment ---

    fn assign_task<'a>(
        &'a self,
        id: &'a TaskId,
        assignee: Option<&'a str>,
        by: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<crate::task::TaskAssignment>>> {
        let mut state = self.state();
        let Some(task) = state.tasks.iter().find(|t| &t.id == id).cloned() else {
            return ready(Err(StoreError::NotFound(format!("task {id}"))));
        };
        let assignment = assignee.map(|name| crate::task::TaskAssignment {
            task: id.clone(),
            assignee: name.to_owned(),
            assigned_at: at,
            assigned_by: by.to_owned(),
        });
        match &assignment {
            Some(a) => state.task_assignments.insert(id.clone(), a.clone()),
            None => state.task_assignments.remove(id),
        };
        state.push_audit(crate::task::assignment_audit(&task, assignee, by, at));
        ready(Ok(assignment))
    }

    fn task_assignments(&self, status: Option<TaskStatus>, limit: u32) -> BoxFuture<'_, StoreResult<Vec<crate::task::TaskAssignment>>> {
        let state = self.state();
        let assignments = state
            .tasks
            .iter()
            .rev()
            .filter(|t| status.is_none_or(|s| t.status == s))
            .take(limit as usize)
            .filter_map(|t| state.task_assignments.get(&t.id).cloned())
            .collect();
        ready(Ok(assignments))
    }

    // --- life stage ---

    fn life_stage_record<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<Option<crate::life_stage::StageRecord>>> {
        ready(Ok(self.state().life_stages.get(group).cloned()))
    }

    fn care_line_counts<'a>(&'a self, group: &'a GroupKey, since: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<(u64, u64)>> {
        let lines = self.state().care.lines_since(group, since);
        let window: Vec<_> = lines.iter().filter(|l| l.at < until).collect();
        ready(Ok((window.len() as u64, window.iter().filter(|l| l.negative).count() as u64)))
    }

    fn group_events<'a>(&'a self, group: &'a GroupKey, from: DateTime<Utc>, until: DateTime<Utc>) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        let state = self.state();
        let mut events: Vec<Event> =
            state.events.iter().map(|(e, _)| e).filter(|e| &e.group_key() == group && e.time >= from && e.time < until).cloned().collect();
        // Stable: arrival order among equal times.
        events.sort_by_key(|e| e.time);
        ready(Ok(events))
    }

    // --- dashboard overview ---

    fn insight_group_days(&self, from: i64, until: i64) -> BoxFuture<'_, StoreResult<Vec<crate::insight::Rollup>>> {
        ready(Ok(self.state().insight.group_days(from, until)))
    }

    fn insight_first_days(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, i64)>>> {
        ready(Ok(self.state().insight.first_days()))
    }

    fn member_counts(&self) -> BoxFuture<'_, StoreResult<Vec<(GroupKey, u32)>>> {
        let state = self.state();
        let mut counts: BTreeMap<(String, String), (GroupKey, u32)> = BTreeMap::new();
        for member in state.members.values().filter(|m| m.left_at.is_none()) {
            let key = (member.group.connector.as_str().to_owned(), member.group.group.as_str().to_owned());
            counts.entry(key).or_insert_with(|| (member.group.clone(), 0)).1 += 1;
        }
        ready(Ok(counts.into_values().collect()))
    }

    // --- accounts ---

    fn count_accounts(&self) -> BoxFuture<'_, StoreResult<u64>> {
        ready(Ok(self.state().accounts.count()))
    }

    fn create_account<'a>(
        &'a self,
        account: &'a crate::accounts::NewAccount,
        first: bool,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::Account>> {
        let mut state = self.state();
        let created = state.accounts.create(account, first);
        if created.is_ok() {
            state.push_audit(audit.clone());
        }
        ready(created)
    }

    fn account(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<crate::accounts::Account>>> {
        ready(Ok(self.state().accounts.get(id)))
    }

    fn account_by_login<'a>(&'a self, login: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::accounts::Account>>> {
        ready(Ok(self.state().accounts.by_login(login)))
    }

    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<crate::accounts::Account>>> {
        ready(Ok(self.state().accounts.list()))
    }

    fn update_account<'a>(
        &'a self,
        id: i64,
        change: &'a crate::accounts::AccountChange,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::Account>> {
        let mut state = self.state();
        let updated = state.accounts.update(id, change);
        if updated.is_ok() {
            state.push_audit(audit.clone());
        }
        ready(updated)
    }

    fn create_session<'a>(&'a self, session: &'a crate::accounts::Session, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        let mut state = self.state();
        state.accounts.create_session(session);
        state.push_audit(audit.clone());
        ready(Ok(()))
    }

    fn session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<(crate::accounts::Session, crate::accounts::Account)>>> {
        ready(Ok(self.state().accounts.session(token_hash, now)))
    }

    fn touch_session<'a>(&'a self, token_hash: &'a str, seen: DateTime<Utc>, expires_at: DateTime<Utc>) -> BoxFuture<'a, StoreResult<()>> {
        self.state().accounts.touch_session(token_hash, seen, expires_at);
        ready(Ok(()))
    }

    fn delete_session<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        ready(Ok(self.state().accounts.delete_session(token_hash)))
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>> {
        ready(Ok(self.state().accounts.delete_expired(now)))
    }

    fn create_api_token<'a>(
        &'a self,
        token: &'a crate::accounts::NewApiToken,
        audit: &'a NewAuditEntry,
    ) -> BoxFuture<'a, StoreResult<crate::accounts::ApiToken>> {
        let mut state = self.state();
        let created = state.accounts.create_token(token);
        if created.is_ok() {
            state.push_audit(audit.clone());
        }
        ready(created)
    }

    fn api_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<crate::accounts::ApiToken>>> {
        ready(Ok(self.state().accounts.token(token_hash)))
    }

    fn list_api_tokens(&self) -> BoxFuture<'_, StoreResult<Vec<crate::accounts::ApiToken>>> {
        ready(Ok(self.state().accounts.tokens()))
    }

    fn revoke_api_token<'a>(&'a self, id: i64, at: DateTime<Utc>, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let revoked = state.accounts.revoke_token(id, at);
        if revoked {
            state.push_audit(audit.clone());
        }
        ready(Ok(revoked))
    }

    fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> BoxFuture<'_, StoreResult<()>> {
        self.state().accounts.touch_token(id, at);
        ready(Ok(()))
    }

    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<()>> {
        self.state().push_audit(entry.clone());
        ready(Ok(()))
    }

    fn save_roster<'a>(&'a self, roster: &'a crate::platform::Roster) -> BoxFuture<'a, StoreResult<()>> {
        self.state().platform.save_roster(roster);
        ready(Ok(()))
    }

    fn rosters<'a>(&'a self, connector: &'a ConnectorId) -> BoxFuture<'a, StoreResult<Vec<crate::platform::Roster>>> {
        ready(Ok(self.state().platform.rosters(connector)))
    }

    fn delete_roster<'a>(&'a self, group: &'a GroupKey) -> BoxFuture<'a, StoreResult<()>> {
        self.state().platform.delete_roster(group);
        ready(Ok(()))
    }

    fn connector_value<'a>(&'a self, connector: &'a ConnectorId, key: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>> {
        ready(Ok(self.state().platform.value(connector, key)))
    }

    fn set_connector_value<'a>(
        &'a self,
        connector: &'a ConnectorId,
        key: &'a str,
        value: &'a str,
        _at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        self.state().platform.set_value(connector, key, value);
        ready(Ok(()))
    }

    fn hand_over<'a>(&'a self, task: &'a StaffTask, audit: &'a NewAuditEntry) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        if state.tasks.iter().any(|t| t.id == task.id) {
            return ready(Ok(false));
        }
        state.tasks.push(task.clone());
        state.push_audit(audit.clone());
        ready(Ok(true))
    }
}
