//! One event through the rules: analyse once, let every rule judge, apply suppression, plan
//! against the connector's capabilities, and commit actions, tasks and audit in one go.

use std::collections::HashMap;

use qunzhu_core::membership::JoinFacts;
use qunzhu_core::moderation::{MemberChange, MemberRecord, MemberUpdate, Violation};
use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, Event, EventKind, NewAuditEntry, StaffTask};
use tracing::warn;

use crate::analysis::Analysis;
use crate::planner::{Planned, Planner};
use crate::rules::{Proposal, Rule, RuleContext, Verdict};
use crate::{Core, EngineError, Processed};

pub(crate) async fn process(core: &Core, seq: i64, event: &Event) -> Result<Processed, EngineError> {
    let now = core.clock.now();
    let key = event.group_key();
    let capabilities = core
        .connectors
        .get(&key.connector)
        .ok_or_else(|| EngineError::UnknownConnector(key.connector.clone()))?;
    let group = core.touch_group(&key, event).await?;
    let rulebook = core.rulebook();
    let resolved = rulebook.settings_for(&key);
    let member = match event.actor() {
        Some(actor) => core.store.member(&key, &actor.id).await?,
        None => None,
    };
    let join = join_facts(core, event, member.as_ref()).await?;
    let joined_through = join.as_ref().and_then(|j| j.channel.as_ref());
    let membership = crate::membership::writes(core.store.as_ref(), event, member.as_ref(), joined_through).await?;
    let analysis = Analysis::of(event, &resolved.matcher);
    let cx = RuleContext {
        event,
        analysis: &analysis,
        settings: &resolved.settings,
        template: &resolved.template,
        faq: &resolved.faq,
        group: &group,
        member: member.as_ref(),
        join: join.as_ref(),
        capabilities,
        tools: &core.tools,
        locale: core.locale,
        now,
        store: core.store.as_ref(),
    };

    let mut audit = Vec::new();
    let mut verdicts = Vec::new();
    for &rule in Rule::ALL {
        match rule.evaluate(&cx).await {
            Ok(verdict) => verdicts.push((rule, verdict)),
            Err(error) => {
                warn!(rule = rule.name(), group = %key, error = %error, "rule failed; other rules go on");
                audit.push(entry(core, event, rule.name(), None, format!("rule failed: {error}")));
            }
        }
    }
    let mut violations = Vec::new();
    let mut blacklist = Vec::new();
    let mut writes = Vec::new();
    let mut details: HashMap<Rule, String> = HashMap::new();
    // A message a rule handled (e.g. deleted as spam) earns nothing from the rules after it:
    // their state writes go with their suppressed replies.
    let mut suppressed_by: Option<Rule> = None;
    for (rule, verdict) in &mut verdicts {
        if let Some(violation) = verdict.violation.take() {
            violations.push((*rule, violation));
        }
        blacklist.append(&mut verdict.blacklist);
        if suppressed_by.is_none() {
            writes.append(&mut verdict.writes);
        } else {
            // A join request's record is kept whoever handled the request (the blacklist
            // rejection is moderation's; admission records it).
            writes.extend(verdict.writes.drain(..).filter(is_decision_record));
        }
        if verdict.suppress_replies && suppressed_by.is_none() {
            suppressed_by = Some(*rule);
        }
        if let Some(detail) = verdict.detail.take() {
            details.insert(*rule, detail);
        }
    }
    writes.extend(membership);
    crate::insight::complete(&mut writes, violations.iter().map(|(_, v)| v));
    let (proposals, suppressed) = apply_suppression(verdicts);
    let proposals = without_repeated_deletes(proposals);
    for (rule, by, proposal) in suppressed {
        let summary = core.locale.pick("已抑制（", "suppressed (").to_owned()
            + by.name()
            + core.locale.pick(" 已处理此消息）：", " handled this message): ")
            + &proposal.explanation;
        audit.push(entry(core, event, rule.name(), None, summary));
    }

    let group_name = group.name.as_deref().unwrap_or(key.group.as_str());
    let planner = Planner { capabilities, locale: core.locale, group_name, event: Some(event), now };
    let mut actions: Vec<Action> = Vec::new();
    let mut tasks: Vec<StaffTask> = Vec::new();
    let mut decided: HashMap<Rule, Vec<ActionId>> = HashMap::new();
    for (n, (rule, proposal)) in proposals.into_iter().enumerate() {
        let action = Action {
            id: ActionId::new(format!("e{seq}.{n}")),
            group: proposal.target.unwrap_or_else(|| key.clone()),
            kind: proposal.kind,
            rule: rule.name().to_owned(),
            cause: Some(event.origin.event_id.clone()),
            explanation: proposal.explanation,
            not_before: proposal.not_before,
            created_at: now,
        };
        let detail = details.get(&rule).cloned();
        let mut routed = Vec::new();
        if let ActionKind::NotifyStaff { text } = &action.kind
            && !resolved.settings.staff_alerts.destinations.is_empty()
        {
            let (extra, skipped) = crate::staff_alerts::route(&action, text, &resolved.settings.staff_alerts, |c| core.connectors.get(c));
            for connector in skipped {
                audit.push(entry(core, event, &action.rule, Some(&action.id), format!("staff_alerts: connector `{connector}` is not configured; skipped")));
            }
            routed = extra;
        }
        let mut planned_all = planner.plan(action);
        for extra in routed {
            match core.connectors.get(&extra.group.connector) {
                Some(caps) if extra.group.connector.as_str() != crate::staff_alerts::WEBHOOK_CONNECTOR => {
                    let name = extra.group.group.to_string();
                    let other = Planner { capabilities: caps, locale: core.locale, group_name: &name, event: Some(event), now };
                    planned_all.extend(other.plan(extra));
                }
                _ => planned_all.push(Planned::Action(extra)),
            }
        }
        for planned in planned_all {
            match planned {
                Planned::Action(action) => {
                    let mut row = entry(core, event, &action.rule, Some(&action.id), format!("{}: {}", action.kind.name(), action.explanation));
                    row.detail = detail.clone();
                    decided.entry(rule).or_default().push(action.id.clone());
                    audit.push(row);
                    actions.push(action);
                }
                Planned::Task(task) => {
                    let summary = core.locale.pick("转为待办：", "became a staff task: ").to_owned() + &task.step;
                    let mut row = entry(core, event, &task.action.rule, Some(&task.action.id), summary);
                    row.detail = detail.clone();
                    decided.entry(rule).or_default().push(task.action.id.clone());
                    audit.push(row);
                    tasks.push(task);
                }
            }
        }
    }
    let violations: Vec<Violation> = violations
        .into_iter()
        .map(|(rule, mut violation)| {
            violation.actions = decided.get(&rule).cloned().unwrap_or_default();
            if violation.dry_run {
                let mut row = entry(core, event, rule.name(), None, core.locale.pick("试运行（未执行）：", "dry run (nothing done): ").to_owned() + &violation.penalty);
                row.detail = details.get(&rule).cloned();
                audit.push(row);
            }
            violation
        })
        .collect();

    let commit = Commit {
        event_seq: Some(seq),
        actions,
        tasks,
        audit,
        members: member_updates(event),
        violations,
        blacklist,
        writes,
    };
    core.store.commit(&commit).await?;
    if !commit.actions.is_empty() || !commit.tasks.is_empty() {
        core.outbox_changed.send_modify(|generation| *generation += 1);
    }
    if commit.writes.iter().any(creates_due_work) {
        core.scheduler_wake.send_modify(|generation| *generation += 1);
    }
    Ok(Processed { duplicate: false, actions: commit.actions, tasks: commit.tasks, violations: commit.violations })
}

/// For a join, what the rules need to know about it: the newcomer's number counts the
/// members on record who have not left, plus the newcomer unless they are already counted
/// (a repeated join event); the channel is the one its invite code (or a code remembered
/// from the member's join request) belongs to (see [`crate::membership`]).
async fn join_facts(core: &Core, event: &Event, member: Option<&MemberRecord>) -> Result<Option<JoinFacts>, EngineError> {
    let EventKind::MemberJoined { .. } = &event.kind else {
        return Ok(None);
    };
    let on_record = core.store.count_members(&event.group_key()).await?;
    let counted = member.is_some_and(|record| record.left_at.is_none());
    let member_no = if counted { on_record } else { on_record.saturating_add(1) };
    let channel = crate::membership::join_channel(core.store.as_ref(), event).await?;
    Ok(Some(JoinFacts { member_no, channel }))
}

/// Whether a write records a decision taken whatever rule suppressed the others.
fn is_decision_record(write: &qunzhu_core::StateWrite) -> bool {
    matches!(
        write,
        qunzhu_core::StateWrite::Admission(qunzhu_core::admission::AdmissionWrite::Request(_)) | qunzhu_core::StateWrite::Insight(_)
    )
}

/// Whether a write gives the scheduler work it must wake for (a batched welcome is owed).
fn creates_due_work(write: &qunzhu_core::StateWrite) -> bool {
    matches!(write, qunzhu_core::StateWrite::Admission(qunzhu_core::admission::AdmissionWrite::Join(join)) if join.welcome_pending)
}

/// What the event changes in its member's record.
fn member_updates(event: &Event) -> Vec<MemberUpdate> {
    let (member, change) = match &event.kind {
        EventKind::MemberJoined { member, .. } => (member, MemberChange::Joined),
        EventKind::MemberLeft { member, .. } => (member, MemberChange::Left),
        EventKind::MessagePosted { author, .. } => (author, MemberChange::Posted),
        EventKind::JoinRequested { member, .. } | EventKind::ReactionAdded { member, .. } => (member, MemberChange::Seen),
        _ => return Vec::new(),
    };
    vec![MemberUpdate { group: event.group_key(), member: member.id.clone(), name: member.name.clone(), at: event.time, change }]
}

/// A dropped proposal: (its rule, the rule that suppressed it, the proposal).
type Suppressed = (Rule, Rule, Proposal);

/// Once a rule asks to suppress replies, the sends and replies of the rules after it are
/// dropped (returned separately, with the rule that suppressed them, for the audit log).
fn apply_suppression(verdicts: Vec<(Rule, Verdict)>) -> (Vec<(Rule, Proposal)>, Vec<Suppressed>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    let mut suppressed_by: Option<Rule> = None;
    for (rule, verdict) in verdicts {
        for proposal in verdict.proposals {
            let is_reply = matches!(proposal.kind, ActionKind::Send { .. } | ActionKind::Reply { .. });
            match suppressed_by {
                Some(by) if is_reply => suppressed.push((rule, by, proposal)),
                _ => kept.push((rule, proposal)),
            }
        }
        if verdict.suppress_replies && suppressed_by.is_none() {
            suppressed_by = Some(rule);
        }
    }
    (kept, suppressed)
}

/// One message is deleted once: a later rule's delete of a message an earlier rule already
/// deletes (moderation and the newcomer gate both judge a gated newcomer's spam) is dropped.
fn without_repeated_deletes(proposals: Vec<(Rule, Proposal)>) -> Vec<(Rule, Proposal)> {
    let mut deleted = std::collections::HashSet::new();
    proposals
        .into_iter()
        .filter(|(_, proposal)| match &proposal.kind {
            ActionKind::Delete { message_id } => deleted.insert((proposal.target.clone(), message_id.clone())),
            _ => true,
        })
        .collect()
}

fn entry(core: &Core, event: &Event, rule: &str, action: Option<&ActionId>, summary: String) -> NewAuditEntry {
    NewAuditEntry {
        time: core.clock.now(),
        actor: "engine".into(),
        kind: "decision".into(),
        group: Some(event.group_key()),
        event_id: Some(event.origin.event_id.clone()),
        action_id: action.cloned(),
        rule: Some(rule.to_owned()),
        summary,
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use qunzhu_core::{MemberId, MessageId, Segment};

    use super::*;

    fn proposal(kind: ActionKind) -> Proposal {
        Proposal { kind, explanation: String::new(), not_before: None, target: None }
    }

    #[test]
    fn a_suppressing_verdict_drops_later_replies_but_not_other_actions() {
        let send = ActionKind::Send { segments: vec![Segment::text("auto reply")] };
        let delete = ActionKind::Delete { message_id: MessageId::new("m1") };
        let mute = ActionKind::Mute { member: MemberId::new("u1"), duration_secs: 60 };
        let moderator = Verdict { proposals: vec![proposal(delete.clone())], suppress_replies: true, ..Verdict::default() };
        let later = Verdict { proposals: vec![proposal(send.clone()), proposal(mute.clone())], suppress_replies: false, ..Verdict::default() };
        let (kept, suppressed) = apply_suppression(vec![(Rule::Welcome, moderator), (Rule::Welcome, later)]);
        let kept: Vec<ActionKind> = kept.into_iter().map(|(_, p)| p.kind).collect();
        assert_eq!(kept, vec![delete, mute]);
        assert_eq!(suppressed.len(), 1);
        assert_eq!(suppressed[0].2.kind, send);
    }

    #[test]
    fn a_message_two_rules_delete_is_deleted_once() {
        let delete = ActionKind::Delete { message_id: MessageId::new("m1") };
        let other = ActionKind::Delete { message_id: MessageId::new("m2") };
        let kept = without_repeated_deletes(vec![
            (Rule::Moderate, proposal(delete.clone())),
            (Rule::Admission, proposal(delete.clone())),
            (Rule::Admission, proposal(other.clone())),
        ]);
        assert_eq!(kept.into_iter().map(|(r, p)| (r, p.kind)).collect::<Vec<_>>(), vec![(Rule::Moderate, delete), (Rule::Admission, other)]);
    }

    #[test]
    fn without_suppression_everything_is_kept_in_rule_order() {
        let a = ActionKind::Send { segments: vec![Segment::text("a")] };
        let b = ActionKind::Send { segments: vec![Segment::text("b")] };
        let (kept, suppressed) = apply_suppression(vec![
            (Rule::Welcome, Verdict { proposals: vec![proposal(a.clone())], suppress_replies: false, ..Verdict::default() }),
            (Rule::Welcome, Verdict { proposals: vec![proposal(b.clone())], suppress_replies: false, ..Verdict::default() }),
        ]);
        assert_eq!(kept.into_iter().map(|(_, p)| p.kind).collect::<Vec<_>>(), vec![a, b]);
        assert!(suppressed.is_empty());
    }
}
