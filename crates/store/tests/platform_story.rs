//! Platform state stories — rosters, connector values, staff tasks handed over by a
//! connector — told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::audit::NewAuditEntry;
use qunzhu_core::platform::{Roster, RosterMember};
use qunzhu_core::task::{StaffTask, TaskStatus};
use qunzhu_core::{Action, ActionId, ActionKind, ConnectorId, GroupKey, Segment, Store, TaskId};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn roster(connector: &str, group: &str, members: &[(&str, i64)], at: i64) -> Roster {
    Roster {
        group: GroupKey::new(connector, group),
        members: members
            .iter()
            .map(|(id, joined)| RosterMember { id: (*id).into(), joined_at: t(*joined), name: Some(format!("客户\"{id}\" 🙂")) })
            .collect(),
        updated_at: t(at),
    }
}

fn dm_task(id: &str, at: i64) -> (StaffTask, NewAuditEntry) {
    let group = GroupKey::new("tg", "-100");
    let action = Action {
        id: ActionId::new(id),
        group: group.clone(),
        kind: ActionKind::DirectMessage { member: "42".into(), segments: vec![Segment::text("你好")] },
        rule: "welcome".into(),
        cause: None,
        explanation: "私信欢迎".into(),
        not_before: None,
        created_at: t(at),
    };
    let task = StaffTask {
        id: TaskId::new(format!("{id}.handover")),
        group: group.clone(),
        title: "私信 42".into(),
        step: "在 Telegram 中私信 42：你好".into(),
        action,
        status: TaskStatus::Open,
        created_at: t(at),
        updated_at: t(at),
        updated_by: None,
    };
    let audit = NewAuditEntry {
        time: t(at),
        actor: "outbox:tg".into(),
        kind: "action.handover".into(),
        group: Some(group),
        event_id: None,
        action_id: Some(ActionId::new(id)),
        rule: Some("welcome".into()),
        summary: "转为待办".into(),
        detail: None,
    };
    (task, audit)
}

async fn rosters_are_replaced_per_group_and_listed_per_connector(store: Arc<dyn Store>) {
    let wecom = ConnectorId::new("wecom");
    assert!(store.rosters(&wecom).await.unwrap().is_empty());
    store.save_roster(&roster("wecom", "wrB", &[("wmA", 10)], 100)).await.unwrap();
    store.save_roster(&roster("wecom", "wrA", &[("wmA", 10), ("wmB", 20)], 100)).await.unwrap();
    store.save_roster(&roster("other", "wrA", &[("x", 1)], 100)).await.unwrap();
    let newer = roster("wecom", "wrB", &[("wmC", 30), ("wmA", 10)], 200);
    store.save_roster(&newer).await.unwrap();
    let listed = store.rosters(&wecom).await.unwrap();
    assert_eq!(listed, vec![roster("wecom", "wrA", &[("wmA", 10), ("wmB", 20)], 100), newer], "by group, the newer list replacing the older");
    store.delete_roster(&GroupKey::new("wecom", "wrA")).await.unwrap();
    store.delete_roster(&GroupKey::new("wecom", "gone")).await.unwrap();
    assert_eq!(store.rosters(&wecom).await.unwrap().len(), 1);
    assert_eq!(store.rosters(&ConnectorId::new("other")).await.unwrap().len(), 1, "other connectors keep theirs");
}

async fn connector_values_are_set_replaced_and_kept_apart(store: Arc<dyn Store>) {
    let (a, b) = (ConnectorId::new("wecom"), ConnectorId::new("wecom2"));
    assert_eq!(store.connector_value(&a, "welcome_template:default").await.unwrap(), None);
    store.set_connector_value(&a, "welcome_template:default", r#"{"id":"t1"}"#, t(0)).await.unwrap();
    store.set_connector_value(&a, "welcome_template:default", r#"{"id":"t2"}"#, t(1)).await.unwrap();
    store.set_connector_value(&b, "welcome_template:default", "other", t(1)).await.unwrap();
    assert_eq!(store.connector_value(&a, "welcome_template:default").await.unwrap().as_deref(), Some(r#"{"id":"t2"}"#));
    assert_eq!(store.connector_value(&b, "welcome_template:default").await.unwrap().as_deref(), Some("other"));
}

async fn a_handed_over_task_is_written_once_with_its_audit_row(store: Arc<dyn Store>) {
    let (task, audit) = dm_task("e7.0", 5);
    assert!(store.hand_over(&task, &audit).await.unwrap());
    assert!(!store.hand_over(&task, &audit).await.unwrap(), "the same hand-over again writes nothing");
    let tasks = store.list_tasks(Some(TaskStatus::Open), 10).await.unwrap();
    assert_eq!(tasks, vec![task]);
    let rows: Vec<_> = store.list_audit(None, 10).await.unwrap().into_iter().filter(|a| a.entry.kind == "action.handover").collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

async fn rosters_survive_a_restart(backend: Reopenable) {
    let store = backend.open().await;
    let saved = roster("wecom", "wrA", &[("wmA", 10)], 100);
    store.save_roster(&saved).await.unwrap();
    store.close().await;
    let store = backend.open().await;
    assert_eq!(store.rosters(&ConnectorId::new("wecom")).await.unwrap(), vec![saved]);
}

stories! {
    any store:
        rosters_are_replaced_per_group_and_listed_per_connector,
        connector_values_are_set_replaced_and_kept_apart,
        a_handed_over_task_is_written_once_with_its_audit_row;
    reopened:
        rosters_survive_a_restart,
}
