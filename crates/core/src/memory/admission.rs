//! The reference semantics of admission and welcome state for [`super::MemoryStore`]; the
//! database stores implement exactly this (checked by the admission store stories).

use chrono::{DateTime, Utc};

use crate::admission::{AdmissionWrite, GuardRecord, WelcomeJoin, JoinRequestRecord, JoinRequestStatus};
use crate::ids::GroupKey;

#[derive(Clone, Debug, Default)]
pub(crate) struct Admission {
    requests: Vec<JoinRequestRecord>,
    joins: Vec<WelcomeJoin>,
    guards: Vec<GuardRecord>,
}

impl Admission {
    pub(crate) fn apply(&mut self, write: &AdmissionWrite) {
        match write {
            AdmissionWrite::Request(record) => {
                match self.requests.iter_mut().find(|r| r.group == record.group && r.request_id == record.request_id) {
                    Some(existing) if existing.status.is_final() => {}
                    Some(existing) => *existing = record.clone(),
                    None => self.requests.push(record.clone()),
                }
            }
            AdmissionWrite::Join(join) => {
                if !self.joins.iter().any(|j| j.id == join.id) {
                    self.joins.push(join.clone());
                }
            }
            AdmissionWrite::Welcomed { group, ids, at } => {
                for join in self.joins.iter_mut().filter(|j| &j.group == group && j.welcome_pending && ids.contains(&j.id)) {
                    join.welcome_pending = false;
                    join.welcomed_at = Some(*at);
                }
            }
            AdmissionWrite::Guard(guard) => {
                self.guards.retain(|g| g.group != guard.group);
                self.guards.push(guard.clone());
            }
            AdmissionWrite::EndGuard { group, .. } => self.guards.retain(|g| &g.group != group),
        }
    }

    pub(crate) fn request(&self, group: &GroupKey, request_id: &str) -> Option<JoinRequestRecord> {
        self.requests.iter().find(|r| &r.group == group && r.request_id == request_id).cloned()
    }

    pub(crate) fn requests(&self, status: Option<JoinRequestStatus>, limit: u32) -> Vec<JoinRequestRecord> {
        let mut found: Vec<JoinRequestRecord> =
            self.requests.iter().filter(|r| status.is_none_or(|s| r.status == s)).cloned().collect();
        found.sort_by(|a, b| {
            b.updated_at.cmp(&a.updated_at).then_with(|| a.group.cmp(&b.group)).then_with(|| a.request_id.cmp(&b.request_id))
        });
        found.truncate(limit as usize);
        found
    }

    pub(crate) fn pending_welcomes(&self, group: &GroupKey) -> Vec<WelcomeJoin> {
        let mut found: Vec<WelcomeJoin> = self.joins.iter().filter(|j| &j.group == group && j.welcome_pending).cloned().collect();
        found.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.id.cmp(&b.id)));
        found
    }

    pub(crate) fn due_welcomes(&self, limit: u32) -> Vec<(GroupKey, DateTime<Utc>)> {
        let mut first: std::collections::BTreeMap<GroupKey, DateTime<Utc>> = std::collections::BTreeMap::new();
        for join in self.joins.iter().filter(|j| j.welcome_pending) {
            let at = first.entry(join.group.clone()).or_insert(join.joined_at);
            *at = (*at).min(join.joined_at);
        }
        let mut found: Vec<(GroupKey, DateTime<Utc>)> = first.into_iter().collect();
        found.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        found.truncate(limit as usize);
        found
    }

    pub(crate) fn count_joins(&self, group: &GroupKey, since: DateTime<Utc>) -> u32 {
        u32::try_from(self.joins.iter().filter(|j| &j.group == group && j.joined_at >= since).count()).unwrap_or(u32::MAX)
    }

    pub(crate) fn guard(&self, group: &GroupKey) -> Option<GuardRecord> {
        self.guards.iter().find(|g| &g.group == group).cloned()
    }

    pub(crate) fn approved(&self, group: &GroupKey, member: &crate::ids::MemberId) -> bool {
        self.requests.iter().any(|r| &r.group == group && &r.member == member && r.status == JoinRequestStatus::Approved)
    }
}
