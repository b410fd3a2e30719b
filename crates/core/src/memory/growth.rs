//! The reference semantics of referrals, invite codes, campaigns, milestones and counters for
//! [`super::MemoryStore`]. The database stores implement exactly this (the growth stories
//! check them against it).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use crate::growth::{
    Counter, CounterIncrement, Milestone, MilestoneKind, Referral, ReferralCampaign, ReferralCode, ReferralFilter,
    ReferralStatus, ReferralWrite,
};
use crate::ids::{ConnectorId, GroupKey};
use crate::store::{StoreError, StoreResult};
use crate::writes::StateWrite;

/// (group, kind, name, threshold).
type MilestoneKey = (GroupKey, MilestoneKind, String, i64);

#[derive(Clone, Debug, Default)]
pub(crate) struct Growth {
    pub(crate) referrals: BTreeMap<String, Referral>,
    pub(crate) codes: Vec<ReferralCode>,
    pub(crate) campaigns: BTreeMap<String, ReferralCampaign>,
    pub(crate) milestones: BTreeMap<MilestoneKey, Milestone>,
    pub(crate) counters: BTreeMap<(GroupKey, String), Counter>,
    pub(crate) increments: HashSet<String>,
}

fn milestone_key(m: &Milestone) -> MilestoneKey {
    (m.group.clone(), m.kind, m.name.clone(), m.threshold)
}

impl Growth {
    /// Refuses the commit when one of its milestones was reached by another event.
    pub(crate) fn check(&self, writes: &[StateWrite]) -> StoreResult<()> {
        for write in writes {
            if let StateWrite::Milestone(m) = write
                && let Some(existing) = self.milestones.get(&milestone_key(m))
                && existing.cause != m.cause
            {
                return Err(StoreError::Conflict(format!(
                    "milestone {} {} {} of {} was already reached",
                    m.kind.name(),
                    m.name,
                    m.threshold,
                    m.group
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_referral(&mut self, write: &ReferralWrite) {
        let transition = |referral: &mut Referral, from: Option<ReferralStatus>, to: Option<ReferralStatus>| {
            if from.is_none_or(|f| f == referral.status) {
                if let Some(to) = to {
                    referral.status = to;
                }
                true
            } else {
                false
            }
        };
        match write {
            ReferralWrite::Invited(referral) => {
                self.referrals.entry(referral.id.clone()).or_insert_with(|| (**referral).clone());
            }
            ReferralWrite::Spoke { id, at } => {
                if let Some(r) = self.referrals.get_mut(id) {
                    r.spoke_at.get_or_insert(*at);
                }
            }
            ReferralWrite::Validated { id, at } => {
                if let Some(r) = self.referrals.get_mut(id)
                    && transition(r, Some(ReferralStatus::Pending), Some(ReferralStatus::Valid))
                {
                    r.validated_at = Some(*at);
                }
            }
            ReferralWrite::Voided { id, at } => {
                if let Some(r) = self.referrals.get_mut(id)
                    && transition(r, Some(ReferralStatus::Pending), Some(ReferralStatus::Void))
                {
                    r.left_at.get_or_insert(*at);
                }
            }
            ReferralWrite::Reversed { id, at } => {
                if let Some(r) = self.referrals.get_mut(id)
                    && transition(r, Some(ReferralStatus::Valid), Some(ReferralStatus::Reversed))
                {
                    r.left_at.get_or_insert(*at);
                }
            }
            ReferralWrite::Left { id, at } => {
                if let Some(r) = self.referrals.get_mut(id) {
                    r.left_at.get_or_insert(*at);
                }
            }
        }
    }

    pub(crate) fn apply_milestone(&mut self, milestone: &Milestone) {
        self.milestones.entry(milestone_key(milestone)).or_insert_with(|| milestone.clone());
    }

    pub(crate) fn apply_counter(&mut self, increment: &CounterIncrement) {
        if !self.increments.insert(increment.id.clone()) {
            return;
        }
        let counter = self.counters.entry((increment.group.clone(), increment.name.clone())).or_insert_with(|| Counter {
            group: increment.group.clone(),
            name: increment.name.clone(),
            value: 0,
            updated_at: increment.at,
        });
        counter.value += increment.amount;
        counter.updated_at = increment.at;
    }

    pub(crate) fn list_referrals(&self, filter: &ReferralFilter, limit: u32) -> Vec<Referral> {
        let mut found: Vec<Referral> = self.referrals.values().filter(|r| filter.matches(r)).cloned().collect();
        found.sort_by(|a, b| b.joined_at.cmp(&a.joined_at).then_with(|| a.id.cmp(&b.id)));
        found.truncate(limit as usize);
        found
    }

    pub(crate) fn due_referrals(&self, now: DateTime<Utc>, limit: u32) -> Vec<Referral> {
        let mut due: Vec<Referral> = self
            .referrals
            .values()
            .filter(|r| r.status == ReferralStatus::Pending && r.spoke_at.is_some() && r.due_at <= now)
            .cloned()
            .collect();
        due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
        due.truncate(limit as usize);
        due
    }

    pub(crate) fn save_code(&mut self, code: &ReferralCode) -> StoreResult<ReferralCode> {
        if let Some(held) = self.codes.iter().find(|c| c.connector == code.connector && c.member == code.member) {
            return Ok(held.clone());
        }
        if self.codes.iter().any(|c| c.connector == code.connector && c.code == code.code) {
            return Err(StoreError::Conflict(format!("invite code {} is taken", code.code)));
        }
        self.codes.push(code.clone());
        Ok(code.clone())
    }

    pub(crate) fn code(&self, connector: &ConnectorId, code: &str) -> Option<ReferralCode> {
        self.codes.iter().find(|c| &c.connector == connector && c.code == code).cloned()
    }

    pub(crate) fn campaigns(&self) -> Vec<ReferralCampaign> {
        let mut all: Vec<ReferralCampaign> = self.campaigns.values().cloned().collect();
        all.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.id.cmp(&b.id)));
        all
    }

    pub(crate) fn list_milestones(&self, group: Option<&GroupKey>, limit: u32) -> Vec<Milestone> {
        let mut found: Vec<Milestone> = self.milestones.values().filter(|m| group.is_none_or(|g| g == &m.group)).cloned().collect();
        found.sort_by(|a, b| {
            b.reached_at.cmp(&a.reached_at).then_with(|| (&a.group, a.kind, &a.name, a.threshold).cmp(&(&b.group, b.kind, &b.name, b.threshold)))
        });
        found.truncate(limit as usize);
        found
    }

    pub(crate) fn list_counters(&self, group: Option<&GroupKey>) -> Vec<Counter> {
        self.counters.values().filter(|c| group.is_none_or(|g| g == &c.group)).cloned().collect()
    }
}
