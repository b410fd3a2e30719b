//! One event through the rules: analyse once, let every rule judge, apply suppression, plan
//! against the connector's capabilities, and commit actions, tasks and audit in one go.

use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, Event, NewAuditEntry, StaffTask};
use tracing::warn;

use crate::analysis::Analysis;
use crate::planner::{Planned, Planner};
use crate::rules::{Rule, RuleContext};
use crate::{Core, EngineError, Processed};

pub(crate) async fn process(core: &Core, seq: i64, event: &Event) -> Result<Processed, EngineError> {
    let now = core.clock.now();
    let key = event.group_key();
    let capabilities = core
        .connectors
        .get(&key.connector)
        .ok_or_else(|| EngineError::UnknownConnector(key.connector.clone()))?;
    let group = core.store.touch_group(&key, event.group_name.as_deref(), event.time).await?;
    let rulebook = core.rulebook();
    let resolved = rulebook.settings_for(&key);
    let analysis = Analysis::of(event);
    let cx = RuleContext {
        event,
        analysis: &analysis,
        settings: &resolved.settings,
        template: &resolved.template,
        group: &group,
        locale: core.locale,
        now,
        store: core.store.as_ref(),
    };

    let mut audit = Vec::new();
    let mut proposals = Vec::new();
    let mut suppressed_by: Option<Rule> = None;
    for &rule in Rule::ALL {
        let verdict = match rule.evaluate(&cx).await {
            Ok(verdict) => verdict,
            Err(error) => {
                warn!(rule = rule.name(), group = %key, error = %error, "rule failed; other rules go on");
                audit.push(entry(core, event, rule.name(), None, format!("rule failed: {error}")));
                continue;
            }
        };
        for proposal in verdict.proposals {
            let is_reply = matches!(proposal.kind, ActionKind::Send { .. } | ActionKind::Reply { .. });
            if let (Some(by), true) = (suppressed_by, is_reply) {
                let summary = core.locale.pick("已抑制（", "suppressed (").to_owned()
                    + by.name()
                    + core.locale.pick(" 已处理此消息）：", " handled this message): ")
                    + &proposal.explanation;
                audit.push(entry(core, event, rule.name(), None, summary));
                continue;
            }
            proposals.push((rule, proposal));
        }
        if verdict.suppress_replies && suppressed_by.is_none() {
            suppressed_by = Some(rule);
        }
    }

    let group_name = group.name.as_deref().unwrap_or(key.group.as_str());
    let planner = Planner { capabilities, locale: core.locale, group_name, event: Some(event), now };
    let mut actions: Vec<Action> = Vec::new();
    let mut tasks: Vec<StaffTask> = Vec::new();
    for (n, (rule, proposal)) in proposals.into_iter().enumerate() {
        let action = Action {
            id: ActionId::new(format!("e{seq}.{n}")),
            group: key.clone(),
            kind: proposal.kind,
            rule: rule.name().to_owned(),
            cause: Some(event.origin.event_id.clone()),
            explanation: proposal.explanation,
            not_before: proposal.not_before,
            created_at: now,
        };
        for planned in planner.plan(action) {
            match planned {
                Planned::Action(action) => {
                    audit.push(entry(core, event, &action.rule, Some(&action.id), format!("{}: {}", action.kind.name(), action.explanation)));
                    actions.push(action);
                }
                Planned::Task(task) => {
                    let summary = core.locale.pick("转为待办：", "became a staff task: ").to_owned() + &task.step;
                    audit.push(entry(core, event, &task.action.rule, Some(&task.action.id), summary));
                    tasks.push(task);
                }
            }
        }
    }

    let commit = Commit { event_seq: Some(seq), actions, tasks, audit };
    core.store.commit(&commit).await?;
    if !commit.actions.is_empty() || !commit.tasks.is_empty() {
        core.outbox_changed.send_modify(|generation| *generation += 1);
    }
    Ok(Processed { duplicate: false, actions: commit.actions, tasks: commit.tasks })
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
