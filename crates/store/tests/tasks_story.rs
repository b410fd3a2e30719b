//! Staff-task assignment (待办指派) stories, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, GroupKey, StaffTask, Store, StoreError, TaskId, TaskStatus};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn task(id: &str, at: i64) -> StaffTask {
    let group = GroupKey::new("qq", "1");
    StaffTask {
        id: TaskId::new(id),
        group: group.clone(),
        title: format!("待办 {id}"),
        step: "在群里手动禁言 10 分钟".into(),
        action: Action {
            id: ActionId::new(format!("a-{id}")),
            group,
            kind: ActionKind::NotifyStaff { text: "请处理".into() },
            rule: "moderate".into(),
            cause: None,
            explanation: "需要人工处理".into(),
            not_before: None,
            created_at: t(at),
        },
        status: TaskStatus::Open,
        created_at: t(at),
        updated_at: t(at),
        updated_by: None,
    }
}

async fn with_tasks(store: &Arc<dyn Store>, ids: &[&str]) {
    let tasks = ids.iter().enumerate().map(|(i, id)| task(id, i as i64)).collect();
    store.commit(&Commit { tasks, ..Commit::default() }).await.unwrap();
}

fn names(assignments: Vec<qunzhu_core::TaskAssignment>) -> Vec<(String, String)> {
    assignments.into_iter().map(|a| (a.task.to_string(), a.assignee)).collect()
}

async fn a_task_is_assigned_reassigned_and_unassigned_with_an_audit_row_each(store: Arc<dyn Store>) {
    with_tasks(&store, &["t1", "t2"]).await;
    let assigned = store.assign_task(&TaskId::new("t1"), Some("小李"), "operator:alice", t(10)).await.unwrap().unwrap();
    assert_eq!((assigned.assignee.as_str(), assigned.assigned_by.as_str(), assigned.assigned_at), ("小李", "operator:alice", t(10)));
    assert_eq!(names(store.task_assignments(None, 10).await.unwrap()), [("t1".to_owned(), "小李".to_owned())]);

    store.assign_task(&TaskId::new("t1"), Some("bob"), "operator:alice", t(20)).await.unwrap();
    store.assign_task(&TaskId::new("t2"), Some("carol"), "operator:alice", t(21)).await.unwrap();
    assert_eq!(
        names(store.task_assignments(None, 10).await.unwrap()),
        [("t2".to_owned(), "carol".to_owned()), ("t1".to_owned(), "bob".to_owned())],
        "newest task first, one assignee per task"
    );
    assert_eq!(store.assign_task(&TaskId::new("t1"), None, "operator:alice", t(30)).await.unwrap(), None);
    assert_eq!(names(store.task_assignments(None, 10).await.unwrap()), [("t2".to_owned(), "carol".to_owned())]);

    let audit = store.list_audit(None, 10).await.unwrap();
    let summaries: Vec<&str> = audit.iter().filter(|a| a.entry.kind == "task.assign").map(|a| a.entry.summary.as_str()).collect();
    assert_eq!(summaries, ["待办 t1 取消指派", "待办 t2 指派给 carol", "待办 t1 指派给 bob", "待办 t1 指派给 小李"]);
    assert!(audit.iter().filter(|a| a.entry.kind == "task.assign").all(|a| a.entry.actor == "operator:alice" && a.entry.group == Some(GroupKey::new("qq", "1"))));
}

async fn assignments_follow_the_task_list_they_belong_to(store: Arc<dyn Store>) {
    with_tasks(&store, &["t1", "t2", "t3"]).await;
    for id in ["t1", "t2", "t3"] {
        store.assign_task(&TaskId::new(id), Some(id), "operator:alice", t(10)).await.unwrap();
    }
    store.set_task_status(&TaskId::new("t2"), TaskStatus::Done, "operator:alice", t(20)).await.unwrap();
    assert_eq!(names(store.task_assignments(Some(TaskStatus::Done), 10).await.unwrap()), [("t2".to_owned(), "t2".to_owned())]);
    let open = names(store.task_assignments(Some(TaskStatus::Open), 10).await.unwrap());
    assert_eq!(open, [("t3".to_owned(), "t3".to_owned()), ("t1".to_owned(), "t1".to_owned())]);
    assert_eq!(
        names(store.task_assignments(Some(TaskStatus::Open), 1).await.unwrap()),
        [("t3".to_owned(), "t3".to_owned())],
        "the limit is the task list's: only the newest open task's assignment"
    );
}

async fn assigning_an_unknown_task_is_refused_and_records_nothing(store: Arc<dyn Store>) {
    let refused = store.assign_task(&TaskId::new("nope"), Some("bob"), "operator:alice", t(1)).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    assert!(store.list_audit(None, 10).await.unwrap().iter().all(|a| a.entry.kind != "task.assign"));
}

async fn an_assignment_survives_a_reopen(backend: Reopenable) {
    let store = backend.open().await;
    with_tasks(&store, &["t1"]).await;
    store.assign_task(&TaskId::new("t1"), Some("小李"), "operator:alice", t(10)).await.unwrap();
    store.close().await;
    let store = backend.open().await;
    assert_eq!(names(store.task_assignments(None, 10).await.unwrap()), [("t1".to_owned(), "小李".to_owned())]);
    store.close().await;
}

stories! {
    any store:
        a_task_is_assigned_reassigned_and_unassigned_with_an_audit_row_each,
        assignments_follow_the_task_list_they_belong_to,
        assigning_an_unknown_task_is_refused_and_records_nothing;
    reopened:
        an_assignment_survives_a_reopen,
}
