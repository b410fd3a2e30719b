//! The reference semantics of the newcomer gate for [`super::MemoryStore`]; the database
//! stores implement exactly this (checked by the gate store stories).

use crate::gate::{GateEntry, GateStatus, GateWrite};
use crate::ids::{GroupKey, MemberId};

#[derive(Clone, Debug, Default)]
pub(crate) struct Gate {
    entries: Vec<GateEntry>,
}

impl Gate {
    pub(crate) fn apply(&mut self, write: &GateWrite) {
        match write {
            GateWrite::Open(entry) => {
                self.entries.retain(|e| !(e.group == entry.group && e.member == entry.member));
                self.entries.push(entry.clone());
            }
            GateWrite::Pass { group, member, at, by } => {
                if let Some(entry) = self.find(group, member).filter(|e| e.status != GateStatus::Passed) {
                    entry.status = GateStatus::Passed;
                    entry.decided_at = Some(*at);
                    entry.decided_by = Some(by.clone());
                }
            }
            GateWrite::TimeOut { group, member, deadline, at } => {
                if let Some(entry) = self.find(group, member).filter(|e| e.status == GateStatus::Pending && e.deadline == *deadline) {
                    entry.status = GateStatus::TimedOut;
                    entry.decided_at = Some(*at);
                    entry.decided_by = Some("engine".into());
                }
            }
            GateWrite::Clear { group, member } => self.entries.retain(|e| !(&e.group == group && &e.member == member)),
        }
    }

    fn find(&mut self, group: &GroupKey, member: &MemberId) -> Option<&mut GateEntry> {
        self.entries.iter_mut().find(|e| &e.group == group && &e.member == member)
    }

    pub(crate) fn entry(&self, group: &GroupKey, member: &MemberId) -> Option<GateEntry> {
        self.entries.iter().find(|e| &e.group == group && &e.member == member).cloned()
    }

    pub(crate) fn entries(&self, group: Option<&GroupKey>, status: GateStatus, limit: u32) -> Vec<GateEntry> {
        let mut found: Vec<GateEntry> =
            self.entries.iter().filter(|e| e.status == status && group.is_none_or(|g| &e.group == g)).cloned().collect();
        found.sort_by(|a, b| a.deadline.cmp(&b.deadline).then_with(|| a.group.cmp(&b.group)).then_with(|| a.member.cmp(&b.member)));
        found.truncate(limit as usize);
        found
    }
}
