//! What operators do to moderation decisions: undo a penalty, mark a false positive (the
//! classifier learns), correct the classifier, and manage the blacklist. Each change is
//! audited; actions it needs (unmute, unban, kicks) go through the planner and the outbox
//! like any other.

use chrono::{DateTime, Utc};
use qunzhu_core::moderation::{BlacklistEntry, Correction, Violation, ViolationStatus};
use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, ConnectorId, GroupKey, MemberId, NewAuditEntry, StaffTask, StoreError};

use crate::planner::{Planned, Planner};
use crate::rules::moderate::{groups_with_member, Step};
use crate::{Engine, EngineError};

/// What an operation decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub actions: Vec<Action>,
    pub tasks: Vec<StaffTask>,
    /// The violation as it is now, for violation operations.
    pub violation: Option<Violation>,
}

impl Engine {
    /// Reverses a violation's penalty (unmute, lift the blacklist and unban) and marks it
    /// undone — or a false positive, which also teaches the spam classifier that its text
    /// is fine. A deleted message cannot be restored; a kicked member may simply rejoin.
    ///
    /// # Errors
    /// An unknown violation, one already undone ([`StoreError::Conflict`]), or a store failure.
    pub async fn undo_violation(&self, id: &str, by: &str, false_positive: bool) -> Result<Outcome, EngineError> {
        let store = self.store();
        let now = self.clock().now();
        let violation = store.get_violation(id).await?.ok_or_else(|| StoreError::NotFound(format!("violation {id}")))?;
        if violation.status != ViolationStatus::Active {
            return Err(StoreError::Conflict(format!("violation {id} is already {}", violation.status.name())).into());
        }
        let locale = self.locale();
        let step = Step::parse(&violation.penalty).unwrap_or_default();
        let who = violation.member_name.clone().unwrap_or_else(|| violation.member.to_string());
        let why = match (locale, false_positive) {
            (crate::Locale::ZhCn, true) => format!("{by} 标记为误判：撤销对 {who} 的处理"),
            (crate::Locale::ZhCn, false) => format!("{by} 撤销了对 {who} 的处理"),
            (crate::Locale::En, true) => format!("{by} marked a false positive: penalty on {who} reversed"),
            (crate::Locale::En, false) => format!("{by} undid the penalty on {who}"),
        };
        let mut wanted: Vec<(GroupKey, ActionKind)> = Vec::new();
        if step.mute_secs.is_some() && !step.removes() {
            wanted.push((violation.group.clone(), ActionKind::Unmute { member: violation.member.clone() }));
        }
        if step.blacklist {
            let audit = self.audit_row(by, "blacklist.remove", Some(&violation.group), &why, now);
            store.remove_from_blacklist(&violation.group.connector, &violation.member, &audit).await?;
            for group in groups_with_member(self.store().as_ref(), &violation.group.connector, &violation.member, true).await? {
                wanted.push((group, ActionKind::Unban { member: violation.member.clone() }));
            }
        }
        let outcome = self.decide(&format!("undo-{id}"), wanted, &why, "moderate", now).await?;
        let status = if false_positive { ViolationStatus::FalsePositive } else { ViolationStatus::Undone };
        let correction = false_positive.then(|| Correction {
            text: violation.text.clone(),
            is_spam: false,
            by: by.to_owned(),
            at: now,
            violation: Some(violation.id.clone()),
        });
        let audit = self.audit_row(by, "violation.status", Some(&violation.group), &why, now);
        let violation = store.set_violation_status(id, status, correction.as_ref(), &audit).await?;
        if let Some(correction) = &correction {
            self.learn(&correction.text, false);
        }
        Ok(Outcome { violation: Some(violation), ..outcome })
    }

    /// Records an operator's correction ("this is spam" / "not spam") and teaches the
    /// classifier at once.
    ///
    /// # Errors
    /// A store failure.
    pub async fn correct_classifier(&self, text: &str, is_spam: bool, by: &str) -> Result<(), EngineError> {
        let now = self.clock().now();
        let correction = Correction { text: text.to_owned(), is_spam, by: by.to_owned(), at: now, violation: None };
        let summary = match (self.locale(), is_spam) {
            (crate::Locale::ZhCn, true) => format!("标记为垃圾消息：{}", excerpt(text)),
            (crate::Locale::ZhCn, false) => format!("标记为正常消息：{}", excerpt(text)),
            (crate::Locale::En, true) => format!("marked as spam: {}", excerpt(text)),
            (crate::Locale::En, false) => format!("marked as not spam: {}", excerpt(text)),
        };
        let audit = self.audit_row(by, "classifier.correction", None, &summary, now);
        self.store().add_correction(&correction, &audit).await?;
        self.learn(text, is_spam);
        Ok(())
    }

    /// Puts a member on the connector's blacklist and removes them from every group of it
    /// where they are (kick where capable, a staff task elsewhere).
    ///
    /// # Errors
    /// A store failure.
    pub async fn blacklist_add(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
        name: Option<String>,
        reason: &str,
        by: &str,
    ) -> Result<Outcome, EngineError> {
        let now = self.clock().now();
        let entry = BlacklistEntry {
            connector: connector.clone(),
            member: member.clone(),
            member_name: name.clone(),
            reason: reason.to_owned(),
            added_by: by.to_owned(),
            added_at: now,
            violation: None,
        };
        let who = name.unwrap_or_else(|| member.to_string());
        let why = match self.locale() {
            crate::Locale::ZhCn => format!("{by} 将 {who} 加入黑名单：{reason}"),
            crate::Locale::En => format!("{by} blacklisted {who}: {reason}"),
        };
        let audit = self.audit_row(by, "blacklist.add", None, &why, now);
        self.store().add_to_blacklist(&entry, &audit).await?;
        let groups = groups_with_member(self.store().as_ref(), connector, member, false).await?;
        let wanted = groups.into_iter().map(|g| (g, ActionKind::Ban { member: member.clone() })).collect();
        self.decide(&format!("bl-{connector}-{member}-{}", now.timestamp_micros()), wanted, &why, "moderate", now).await
    }

    /// Takes a member off the blacklist and lifts their bans in the connector's groups.
    ///
    /// # Errors
    /// A store failure; `NotFound` when the member was not blacklisted.
    pub async fn blacklist_remove(&self, connector: &ConnectorId, member: &MemberId, by: &str) -> Result<Outcome, EngineError> {
        let now = self.clock().now();
        let why = match self.locale() {
            crate::Locale::ZhCn => format!("{by} 将 {member} 移出黑名单"),
            crate::Locale::En => format!("{by} removed {member} from the blacklist"),
        };
        let audit = self.audit_row(by, "blacklist.remove", None, &why, now);
        if !self.store().remove_from_blacklist(connector, member, &audit).await? {
            return Err(StoreError::NotFound(format!("{member} is not on the blacklist of {connector}")).into());
        }
        let groups = groups_with_member(self.store().as_ref(), connector, member, true).await?;
        let wanted = groups.into_iter().map(|g| (g, ActionKind::Unban { member: member.clone() })).collect();
        self.decide(&format!("unbl-{connector}-{member}-{}", now.timestamp_micros()), wanted, &why, "moderate", now).await
    }

    /// Plans and commits operator-caused actions (ids `<prefix>.<n>`).
    async fn decide(&self, prefix: &str, wanted: Vec<(GroupKey, ActionKind)>, why: &str, rule: &str, now: DateTime<Utc>) -> Result<Outcome, EngineError> {
        let mut commit = Commit::default();
        for (n, (group, kind)) in wanted.into_iter().enumerate() {
            let Some(capabilities) = self.capabilities(&group.connector) else { continue };
            let group_name = group.group.to_string();
            let planner = Planner { capabilities, locale: self.locale(), group_name: &group_name, event: None, now };
            let action = Action {
                id: ActionId::new(format!("{prefix}.{n}")),
                group: group.clone(),
                kind,
                rule: rule.to_owned(),
                cause: None,
                explanation: why.to_owned(),
                not_before: None,
                created_at: now,
            };
            for planned in planner.plan(action) {
                match planned {
                    Planned::Action(action) => commit.actions.push(action),
                    Planned::Task(task) => commit.tasks.push(task),
                }
            }
        }
        if commit.actions.is_empty() && commit.tasks.is_empty() {
            return Ok(Outcome::default());
        }
        self.store().commit(&commit).await?;
        self.notify_outbox();
        Ok(Outcome { actions: commit.actions, tasks: commit.tasks, violation: None })
    }

    fn audit_row(&self, by: &str, kind: &str, group: Option<&GroupKey>, summary: &str, now: DateTime<Utc>) -> NewAuditEntry {
        NewAuditEntry {
            time: now,
            actor: by.to_owned(),
            kind: kind.to_owned(),
            group: group.cloned(),
            event_id: None,
            action_id: None,
            rule: Some("moderate".into()),
            summary: summary.to_owned(),
            detail: None,
        }
    }
}

fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        short.push('…');
    }
    short
}
