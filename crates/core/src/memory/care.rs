//! The reference semantics of care records: questions and tickets replaced by id, lines
//! skipped when their id is stored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::care::{CareLine, CareQuestion, CareWrite, QuestionStatus, Ticket, TicketStatus};
use crate::GroupKey;

#[derive(Default)]
pub(crate) struct Care {
    questions: BTreeMap<String, CareQuestion>,
    lines: BTreeMap<String, CareLine>,
    tickets: BTreeMap<String, Ticket>,
}

impl Care {
    pub(crate) fn apply(&mut self, write: &CareWrite) {
        match write {
            CareWrite::Line(line) => {
                self.lines.entry(line.id.clone()).or_insert_with(|| line.clone());
            }
            CareWrite::Question(question) => {
                self.questions.insert(question.id.clone(), question.clone());
            }
            CareWrite::Ticket(ticket) => self.save_ticket(ticket),
        }
    }

    pub(crate) fn save_ticket(&mut self, ticket: &Ticket) {
        self.tickets.insert(ticket.id.clone(), ticket.clone());
    }

    pub(crate) fn questions(&self, group: Option<&GroupKey>, status: Option<QuestionStatus>) -> Vec<CareQuestion> {
        let mut out: Vec<CareQuestion> = self
            .questions
            .values()
            .filter(|q| group.is_none_or(|g| g == &q.group) && status.is_none_or(|s| s == q.status))
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.asked_at, &a.id).cmp(&(b.asked_at, &b.id)));
        out
    }

    pub(crate) fn question(&self, id: &str) -> Option<CareQuestion> {
        self.questions.get(id).cloned()
    }

    pub(crate) fn lines_since(&self, group: &GroupKey, since: DateTime<Utc>) -> Vec<CareLine> {
        let mut out: Vec<CareLine> = self.lines.values().filter(|l| &l.group == group && l.at >= since).cloned().collect();
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        out
    }

    pub(crate) fn tickets(&self, group: Option<&GroupKey>, status: Option<TicketStatus>) -> Vec<Ticket> {
        let mut out: Vec<Ticket> = self
            .tickets
            .values()
            .filter(|t| group.is_none_or(|g| g == &t.group) && status.is_none_or(|s| s == t.status))
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
        out
    }

    pub(crate) fn ticket(&self, id: &str) -> Option<Ticket> {
        self.tickets.get(id).cloned()
    }
}
