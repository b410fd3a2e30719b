//! The reference semantics of sign-up lists and lotteries for [`super::MemoryStore`]: how
//! each write changes the state, and what each read returns. The database stores implement
//! exactly this (the store stories check them against it).

use chrono::{DateTime, Utc};

use crate::ids::{ConnectorId, GroupKey, MemberId};
use crate::lottery::{Lottery, LotteryEntry, LotteryStatus, LotteryWrite, MessageCount};
use crate::signup::{Signup, SignupEntry, SignupStatus, SignupWrite};
use crate::store::{StoreError, StoreResult};
use crate::writes::StateWrite;

/// Everything about sign-up lists and lotteries, in insertion order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Giveaways {
    signups: Vec<Signup>,
    /// In joining order (a rejoin moves the entry to the end).
    signup_entries: Vec<SignupEntry>,
    lotteries: Vec<Lottery>,
    lottery_entries: Vec<LotteryEntry>,
    counts: Vec<MessageCount>,
}

fn closed(id: &str) -> StoreError {
    StoreError::Conflict(format!("sign-up list {id} is closed"))
}

impl Giveaways {
    /// A copy with the commit's sign-up and lottery writes applied, in order (`None` when it
    /// has none); the first refused write refuses them all.
    pub(crate) fn applied(&self, writes: &[StateWrite]) -> StoreResult<Option<Self>> {
        let mut next: Option<Self> = None;
        for write in writes {
            let target = match write {
                StateWrite::Signup(_) | StateWrite::Lottery(_) => next.get_or_insert_with(|| self.clone()),
                _ => continue,
            };
            match write {
                StateWrite::Signup(write) => target.apply_signup(write)?,
                StateWrite::Lottery(write) => target.apply_lottery(write)?,
                _ => {}
            }
        }
        Ok(next)
    }

    fn signup_mut(&mut self, id: &str) -> StoreResult<&mut Signup> {
        self.signups.iter_mut().find(|s| s.id == id).ok_or_else(|| StoreError::NotFound(format!("sign-up list {id}")))
    }

    fn open_signup_mut(&mut self, id: &str) -> StoreResult<&mut Signup> {
        let signup = self.signup_mut(id)?;
        if signup.is_open() { Ok(signup) } else { Err(closed(id)) }
    }

    pub(crate) fn apply_signup(&mut self, write: &SignupWrite) -> StoreResult<()> {
        match write {
            SignupWrite::Start(signup) => {
                if self.signups.iter().any(|s| s.id == signup.id) {
                    return Ok(());
                }
                if self.signups.iter().any(|s| s.group == signup.group && s.is_open()) {
                    return Err(StoreError::Conflict(format!("group {} already has an open sign-up list", signup.group)));
                }
                self.signups.push(signup.clone());
            }
            SignupWrite::Join { signup, member, name, note, at } => {
                self.open_signup_mut(signup)?;
                let existing = self.signup_entries.iter().position(|e| &e.signup == signup && &e.member == member);
                match existing {
                    Some(i) if self.signup_entries[i].is_active() => {
                        let entry = &mut self.signup_entries[i];
                        if name.is_some() {
                            entry.name.clone_from(name);
                        }
                        if note.is_some() {
                            entry.note.clone_from(note);
                        }
                    }
                    _ => {
                        if let Some(i) = existing {
                            self.signup_entries.remove(i);
                        }
                        self.signup_entries.push(SignupEntry {
                            signup: signup.clone(),
                            member: member.clone(),
                            name: name.clone(),
                            note: note.clone(),
                            joined_at: *at,
                            withdrawn_at: None,
                        });
                    }
                }
            }
            SignupWrite::Withdraw { signup, member, at } => {
                self.open_signup_mut(signup)?;
                if let Some(entry) =
                    self.signup_entries.iter_mut().find(|e| &e.signup == signup && &e.member == member && e.is_active())
                {
                    entry.withdrawn_at = Some(*at);
                }
            }
            SignupWrite::Posted { signup, at } => {
                let signup = self.signup_mut(signup)?;
                signup.last_posted_at = Some(*at);
                signup.repost_due_at = None;
            }
            SignupWrite::RepostDue { signup, at } => {
                let signup = self.signup_mut(signup)?;
                if signup.is_open() {
                    signup.repost_due_at = Some(signup.repost_due_at.map_or(*at, |due| due.min(*at)));
                }
            }
            SignupWrite::Close { signup, reason, by, at } => {
                let signup = self.signup_mut(signup)?;
                if signup.is_open() {
                    signup.status = SignupStatus::Closed;
                    signup.close_reason = Some(*reason);
                    signup.closed_by = Some(by.clone());
                    signup.closed_at = Some(*at);
                    signup.repost_due_at = None;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn apply_lottery(&mut self, write: &LotteryWrite) -> StoreResult<()> {
        match write {
            LotteryWrite::Create(lottery) => {
                if !self.lotteries.iter().any(|l| l.id == lottery.id) {
                    self.lotteries.push(lottery.clone());
                }
            }
            LotteryWrite::Enter(entry) => {
                let lottery = self.lottery(&entry.lottery)?;
                if !lottery.is_open() {
                    return Err(StoreError::Conflict(format!("lottery {} is already drawn", entry.lottery)));
                }
                let entered = self
                    .lottery_entries
                    .iter()
                    .any(|e| e.lottery == entry.lottery && e.connector == entry.connector && e.member == entry.member);
                if !entered {
                    self.lottery_entries.push(entry.clone());
                }
            }
            LotteryWrite::CountMessage { lottery, group, member, name } => {
                if !self.lotteries.iter().any(|l| &l.id == lottery && l.is_open()) {
                    return Ok(());
                }
                let found = self.counts.iter_mut().find(|c| &c.lottery == lottery && c.connector == group.connector && &c.member == member);
                match found {
                    Some(count) => {
                        count.messages = count.messages.saturating_add(1);
                        count.group = group.clone();
                        if name.is_some() {
                            count.name.clone_from(name);
                        }
                    }
                    None => self.counts.push(MessageCount {
                        lottery: lottery.clone(),
                        connector: group.connector.clone(),
                        member: member.clone(),
                        group: group.clone(),
                        name: name.clone(),
                        messages: 1,
                    }),
                }
            }
            LotteryWrite::Draw { lottery, record, keyword_entries, added } => {
                let entries = self.lottery_entries.iter().filter(|e| &e.lottery == lottery).count() as u64;
                let target = self.lottery(lottery)?;
                if !target.is_open() {
                    return Err(StoreError::Conflict(format!("lottery {lottery} is already drawn")));
                }
                if entries != *keyword_entries {
                    return Err(StoreError::Conflict(format!(
                        "lottery {lottery} has {entries} entries, the draw read {keyword_entries}"
                    )));
                }
                for entry in added {
                    let entered = self
                        .lottery_entries
                        .iter()
                        .any(|e| &e.lottery == lottery && e.connector == entry.connector && e.member == entry.member);
                    if !entered {
                        self.lottery_entries.push(entry.clone());
                    }
                }
                let target = self.lotteries.iter_mut().find(|l| &l.id == lottery).ok_or_else(|| not_found(lottery))?;
                target.status = LotteryStatus::Drawn;
                target.draw = Some(record.clone());
            }
        }
        Ok(())
    }

    fn lottery(&self, id: &str) -> StoreResult<&Lottery> {
        self.lotteries.iter().find(|l| l.id == id).ok_or_else(|| not_found(id))
    }

    pub(crate) fn open_signup(&self, group: &GroupKey) -> Option<Signup> {
        self.signups.iter().find(|s| &s.group == group && s.is_open()).cloned()
    }

    pub(crate) fn get_signup(&self, id: &str) -> Option<Signup> {
        self.signups.iter().find(|s| s.id == id).cloned()
    }

    pub(crate) fn list_signups(&self, group: Option<&GroupKey>, status: Option<SignupStatus>, limit: u32) -> Vec<Signup> {
        self.signups
            .iter()
            .rev()
            .filter(|s| group.is_none_or(|g| &s.group == g) && status.is_none_or(|st| s.status == st))
            .take(limit as usize)
            .cloned()
            .collect()
    }

    pub(crate) fn signup_entries(&self, id: &str) -> Vec<SignupEntry> {
        self.signup_entries.iter().filter(|e| e.signup == id).cloned().collect()
    }

    pub(crate) fn due_signups(&self, now: DateTime<Utc>, limit: u32) -> Vec<Signup> {
        let mut due: Vec<&Signup> = self.signups.iter().filter(|s| s.due_at().is_some_and(|t| t <= now)).collect();
        due.sort_by_key(|s| s.due_at());
        due.into_iter().take(limit as usize).cloned().collect()
    }

    pub(crate) fn get_lottery(&self, id: &str) -> Option<Lottery> {
        self.lotteries.iter().find(|l| l.id == id).cloned()
    }

    pub(crate) fn list_lotteries(&self, status: Option<LotteryStatus>, limit: u32) -> Vec<Lottery> {
        self.lotteries.iter().rev().filter(|l| status.is_none_or(|s| l.status == s)).take(limit as usize).cloned().collect()
    }

    pub(crate) fn open_lotteries_in(&self, group: &GroupKey) -> Vec<Lottery> {
        self.lotteries.iter().filter(|l| l.is_open() && l.groups.contains(group)).cloned().collect()
    }

    pub(crate) fn lottery_entries(&self, id: &str) -> Vec<LotteryEntry> {
        self.lottery_entries.iter().filter(|e| e.lottery == id).cloned().collect()
    }

    pub(crate) fn lottery_entry(&self, id: &str, connector: &ConnectorId, member: &MemberId) -> Option<LotteryEntry> {
        self.lottery_entries.iter().find(|e| e.lottery == id && &e.connector == connector && &e.member == member).cloned()
    }

    pub(crate) fn message_count(&self, id: &str, connector: &ConnectorId, member: &MemberId) -> u32 {
        self.counts.iter().find(|c| c.lottery == id && &c.connector == connector && &c.member == member).map_or(0, |c| c.messages)
    }

    pub(crate) fn message_counts(&self, id: &str, at_least: u32) -> Vec<MessageCount> {
        self.counts.iter().filter(|c| c.lottery == id && c.messages >= at_least).cloned().collect()
    }

    pub(crate) fn due_lotteries(&self, now: DateTime<Utc>, limit: u32) -> Vec<Lottery> {
        let mut due: Vec<&Lottery> = self.lotteries.iter().filter(|l| l.is_open() && l.draw_at <= now).collect();
        due.sort_by_key(|l| l.draw_at);
        due.into_iter().take(limit as usize).cloned().collect()
    }
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound(format!("lottery {id}"))
}
