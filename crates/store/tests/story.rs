//! The store's stories, written once and told to every backend: the in-memory reference
//! store, SQLite (a file in a temp dir) and PostgreSQL (a fresh database per test on the
//! server `QUNZHU_TEST_POSTGRES_URL` names; `eval "$(scripts/postgres-test-server.sh)"`
//! starts one). Without that variable the PostgreSQL tests say so and pass — unless `CI` is
//! set, where they fail, so CI cannot skip them silently.
//!
//! Test names read `backend::story`, e.g. `sqlite::redelivered_event_is_a_duplicate`.

// The stories are async fns outside `#[test]` items; a failed unwrap there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use qunzhu_core::moderation::{
    BlacklistEntry, Correction, MemberChange, MemberRecord, MemberUpdate, Violation,
    ViolationStatus,
};
use qunzhu_core::store::{
    Accepted, ActionStatus, AttemptResult, Commit, NewRulebookVersion, OutboxEntry, RulebookVersion,
};
use qunzhu_core::{
    Action, ActionId, ActionKind, ConnectorId, Event, EventKind, GroupKey, Member, MemberId,
    Message, MessageId, NewAuditEntry, Origin, PlatformEventId, Segment, StaffTask, Store,
    StoreError, TaskId, TaskStatus,
};

// ---------------------------------------------------------------------------------------
// Fixtures

/// Whole seconds after a fixed instant: every backend keeps these exactly.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn message(event_id: &str, group: &GroupKey, text: &str, at: DateTime<Utc>) -> Event {
    Event {
        origin: Origin {
            connector: group.connector.clone(),
            group: group.group.clone(),
            event_id: PlatformEventId::new(event_id),
        },
        group_name: Some("测试群".into()),
        time: at,
        kind: EventKind::MessagePosted {
            author: Member::new("10001", "小明"),
            message: Message::text(format!("m-{event_id}"), text),
        },
    }
}

fn send(id: &str, group: &GroupKey, text: &str, created_at: DateTime<Utc>) -> Action {
    Action {
        id: ActionId::new(id),
        group: group.clone(),
        kind: ActionKind::Send {
            segments: vec![Segment::Text { text: text.into() }],
        },
        rule: "welcome".into(),
        cause: None,
        explanation: format!("欢迎 {text}"),
        not_before: None,
        created_at,
    }
}

fn task(id: &str, action: Action, at: DateTime<Utc>) -> StaffTask {
    StaffTask {
        id: TaskId::new(id),
        group: action.group.clone(),
        title: format!("待办 {id}"),
        step: "在群里手动禁言 10 分钟".into(),
        action,
        status: TaskStatus::Open,
        created_at: at,
        updated_at: at,
        updated_by: None,
    }
}

fn note(kind: &str, group: Option<&GroupKey>, summary: &str, at: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry {
        time: at,
        actor: "engine".into(),
        kind: kind.into(),
        group: group.cloned(),
        event_id: None,
        action_id: None,
        rule: Some("moderate".into()),
        summary: summary.into(),
        detail: Some(r#"{"score": 0.9}"#.into()),
    }
}

fn rulebook(parent: Option<i64>, note: &str, at: DateTime<Utc>) -> NewRulebookVersion {
    NewRulebookVersion {
        parent,
        author: "operator:alice".into(),
        note: note.into(),
        changes: vec!["templates.default.welcome.text".into()],
        body: format!(r#"{{"note": "{note}",   "kept": "verbatim"}}"#),
        time: at,
    }
}

fn member_update(
    group: &GroupKey,
    member: &str,
    name: Option<&str>,
    change: MemberChange,
    at: DateTime<Utc>,
) -> MemberUpdate {
    MemberUpdate {
        group: group.clone(),
        member: MemberId::new(member),
        name: name.map(str::to_owned),
        at,
        change,
    }
}

fn members_only(members: Vec<MemberUpdate>) -> Commit {
    Commit {
        members,
        ..Commit::default()
    }
}

/// An active, enforced violation of `member`, as the moderation rule records it.
fn violation(id: &str, group: &GroupKey, member: &str, at: DateTime<Utc>) -> Violation {
    Violation {
        id: id.into(),
        group: group.clone(),
        member: MemberId::new(member),
        member_name: Some("小明".into()),
        message_id: Some(MessageId::new(format!("m-{id}"))),
        event_id: PlatformEventId::new(format!("e-{id}")),
        category: "ad".into(),
        text: "加微信 abc123 领红包".into(),
        checks: r#"[{"check":"keywords","category":"ad","evidence":"加微信"}]"#.into(),
        penalty: "warn".into(),
        actions: vec![ActionId::new(format!("{id}-warn"))],
        dry_run: false,
        status: ViolationStatus::Active,
        time: at,
    }
}

fn violations_only(violations: Vec<Violation>) -> Commit {
    Commit {
        violations,
        ..Commit::default()
    }
}

fn blacklist_entry(member: &str, reason: &str, at: DateTime<Utc>) -> BlacklistEntry {
    BlacklistEntry {
        connector: ConnectorId::new("qq"),
        member: MemberId::new(member),
        member_name: Some(format!("成员{member}")),
        reason: reason.into(),
        added_by: "operator:alice".into(),
        added_at: at,
        violation: None,
    }
}

fn correction(text: &str, is_spam: bool, at: DateTime<Utc>, violation: Option<&str>) -> Correction {
    Correction {
        text: text.into(),
        is_spam,
        by: "operator:alice".into(),
        at,
        violation: violation.map(str::to_owned),
    }
}

fn violation_ids(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.id.as_str()).collect()
}

fn actions_only(actions: Vec<Action>) -> Commit {
    Commit {
        actions,
        ..Commit::default()
    }
}

fn ids(entries: &[OutboxEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.id.as_str()).collect()
}

async fn accept_new(store: &Arc<dyn Store>, event: &Event) -> i64 {
    match store.accept_event(event).await.unwrap() {
        Accepted::New { seq } => seq,
        other => panic!("{} should be new, was {other:?}", event.origin.event_id),
    }
}

// ---------------------------------------------------------------------------------------
// Stories on any store

async fn redelivered_event_is_a_duplicate(store: Arc<dyn Store>) {
    let g = qq("100");
    let first = message("e1", &g, "你好", t(0));
    let seq = accept_new(&store, &first).await;

    let mut redelivered = first.clone();
    redelivered.kind = EventKind::GroupUpdated {
        name: Some("changed on the way".into()),
    };
    assert_eq!(
        store.accept_event(&redelivered).await.unwrap(),
        Accepted::Duplicate { seq }
    );

    // The same platform id on another connector is another event.
    let elsewhere = message("e1", &GroupKey::new("matrix", "!room"), "hi", t(1));
    let other_seq = accept_new(&store, &elsewhere).await;
    assert!(other_seq > seq);

    let pending = store.pending_events(10).await.unwrap();
    assert_eq!(
        pending,
        vec![(seq, first), (other_seq, elsewhere)],
        "the first copy is kept, once"
    );
}

async fn commit_marks_the_event_processed_so_it_is_no_longer_pending(store: Arc<dyn Store>) {
    let g = qq("100");
    let e1 = message("e1", &g, "第一条", t(0));
    let e2 = message("e2", &g, "第二条", t(1));
    let s1 = accept_new(&store, &e1).await;
    let s2 = accept_new(&store, &e2).await;
    assert_eq!(store.pending_events(10).await.unwrap().len(), 2);
    assert_eq!(
        store.pending_events(1).await.unwrap(),
        vec![(s1, e1.clone())],
        "oldest first, limited"
    );

    let action = send("a1", &g, "欢迎", t(2));
    store
        .commit(&Commit {
            event_seq: Some(s1),
            actions: vec![action.clone()],
            tasks: vec![task("t1", action.clone(), t(2))],
            audit: vec![note("decision", Some(&g), "欢迎新人", t(2))],
            ..Commit::default()
        })
        .await
        .unwrap();

    assert_eq!(store.pending_events(10).await.unwrap(), vec![(s2, e2)]);
    assert_eq!(
        store.get_action(&action.id).await.unwrap().unwrap().action,
        action
    );
    assert_eq!(store.list_tasks(None, 10).await.unwrap().len(), 1);
    assert_eq!(
        store.list_audit(None, 10).await.unwrap()[0].entry.summary,
        "欢迎新人"
    );
}

async fn a_commit_for_an_unknown_event_writes_nothing(store: Arc<dyn Store>) {
    let g = qq("100");
    let action = send("a-lost", &g, "x", t(0));
    let error = store
        .commit(&Commit {
            event_seq: Some(999),
            actions: vec![action.clone()],
            tasks: vec![task("t-lost", action.clone(), t(0))],
            audit: vec![note("decision", Some(&g), "never", t(0))],
            members: vec![member_update(
                &g,
                "10001",
                Some("小明"),
                MemberChange::Posted,
                t(0),
            )],
            violations: vec![violation("v-lost", &g, "10001", t(0))],
            blacklist: vec![blacklist_entry("10001", "广告", t(0))],
            writes: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error, StoreError::NotFound("event #999".into()));
    assert_eq!(
        store.get_action(&action.id).await.unwrap(),
        None,
        "one transaction: no action without its event"
    );
    assert!(store.list_tasks(None, 10).await.unwrap().is_empty());
    assert!(store.list_audit(None, 10).await.unwrap().is_empty());
    assert_eq!(
        store.member(&g, &MemberId::new("10001")).await.unwrap(),
        None
    );
    assert_eq!(store.get_violation("v-lost").await.unwrap(), None);
    assert!(store.list_blacklist(10).await.unwrap().is_empty());
}

async fn commit_is_idempotent_on_action_and_task_ids(store: Arc<dyn Store>) {
    let g = qq("100");
    let action = send("a1", &g, "原文", t(0));
    let first = Commit {
        event_seq: None,
        actions: vec![action.clone()],
        tasks: vec![task("t1", action.clone(), t(0))],
        audit: vec![note("decision", Some(&g), "first run", t(0))],
        ..Commit::default()
    };
    store.commit(&first).await.unwrap();

    // A re-run after a crash decides the same ids (possibly worded differently).
    let mut rerun_action = send("a1", &g, "改写", t(5));
    rerun_action.explanation = "re-run".into();
    let rerun = Commit {
        event_seq: None,
        actions: vec![
            rerun_action.clone(),
            rerun_action.clone(),
            send("a2", &g, "新的", t(5)),
        ],
        tasks: vec![task("t1", rerun_action, t(5))],
        audit: vec![note("decision", Some(&g), "second run", t(5))],
        ..Commit::default()
    };
    store.commit(&rerun).await.unwrap();

    let feed = store
        .actions_after(&g.connector, 0, t(10), 10)
        .await
        .unwrap();
    assert_eq!(ids(&feed), ["a1", "a2"]);
    assert_eq!(feed[0].action, action, "the first a1 stands");
    let tasks = store.list_tasks(None, 10).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].action, action);
    let audit = store.list_audit(None, 10).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .map(|a| a.entry.summary.as_str())
            .collect::<Vec<_>>(),
        ["second run", "first run"]
    );
}

async fn outbox_moves_through_due_retry_backoff_and_failure(store: Arc<dyn Store>) {
    let g = qq("100");
    let other = GroupKey::new("matrix", "!room");
    let mut later = send("a-later", &g, "定时", t(0));
    later.not_before = Some(t(100));
    store
        .commit(&actions_only(vec![
            send("a1", &g, "one", t(0)),
            send("a2", &g, "two", t(0)),
            later,
            send("b1", &other, "elsewhere", t(0)),
        ]))
        .await
        .unwrap();

    assert!(
        store
            .due_actions(&g.connector, t(-1), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before created_at"
    );
    let due = store.due_actions(&g.connector, t(0), 10).await.unwrap();
    assert_eq!(
        ids(&due),
        ["a1", "a2"],
        "other connectors' and not_before actions stay out"
    );
    assert_eq!(
        (due[0].status, due[0].attempts, due[0].next_attempt_at),
        (ActionStatus::Pending, 0, t(0))
    );
    assert_eq!(
        ids(&store.due_actions(&g.connector, t(0), 1).await.unwrap()),
        ["a1"]
    );

    // A failed attempt backs off until next_attempt_at.
    let a1 = ActionId::new("a1");
    let retry = AttemptResult::Retry {
        next_attempt_at: t(60),
        error: "timeout".into(),
    };
    let entry = store.record_attempt(&a1, &retry, t(1), None).await.unwrap();
    assert_eq!(
        (
            entry.status,
            entry.attempts,
            entry.next_attempt_at,
            entry.last_error.as_deref(),
            entry.updated_at
        ),
        (ActionStatus::Pending, 1, t(60), Some("timeout"), t(1))
    );
    assert_eq!(store.get_action(&a1).await.unwrap(), Some(entry));
    assert_eq!(
        ids(&store.due_actions(&g.connector, t(59), 10).await.unwrap()),
        ["a2"]
    );
    assert_eq!(
        ids(&store.due_actions(&g.connector, t(60), 10).await.unwrap()),
        ["a1", "a2"]
    );

    // Giving up: failed, counted, never due again.
    let failed = AttemptResult::Failed {
        error: "banned by platform".into(),
    };
    let entry = store
        .record_attempt(&a1, &failed, t(61), None)
        .await
        .unwrap();
    assert_eq!(
        (entry.status, entry.attempts, entry.last_error.as_deref()),
        (ActionStatus::Failed, 2, Some("banned by platform"))
    );

    // Delivered clears the error; awaiting a peer is not due either.
    let a2 = ActionId::new("a2");
    store.record_attempt(&a2, &retry, t(1), None).await.unwrap();
    let entry = store
        .record_attempt(&a2, &AttemptResult::Delivered, t(62), None)
        .await
        .unwrap();
    assert_eq!(
        (entry.status, entry.attempts, entry.last_error),
        (ActionStatus::Delivered, 1, None)
    );

    assert!(
        store
            .due_actions(&g.connector, t(99), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&store.due_actions(&g.connector, t(100), 10).await.unwrap()),
        ["a-later"]
    );
    let awaiting = store
        .record_attempt(
            &ActionId::new("a-later"),
            &AttemptResult::AwaitingPeer,
            t(100),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (awaiting.status, awaiting.attempts),
        (ActionStatus::AwaitingPeer, 0)
    );
    assert!(
        store
            .due_actions(&g.connector, t(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let unknown = store
        .record_attempt(
            &ActionId::new("nope"),
            &AttemptResult::Delivered,
            t(1),
            None,
        )
        .await;
    assert_eq!(unknown, Err(StoreError::NotFound("action nope".into())));
}

async fn actions_after_follows_the_cursor_in_order_and_hides_not_before(store: Arc<dyn Store>) {
    let g = qq("100");
    let mut scheduled = send("a2", &g, "定时公告", t(0));
    scheduled.not_before = Some(t(500));
    store
        .commit(&actions_only(vec![send("a1", &g, "1", t(0)), scheduled]))
        .await
        .unwrap();
    store
        .commit(&actions_only(vec![
            send("b1", &GroupKey::new("matrix", "!r"), "x", t(0)),
            send("a3", &g, "3", t(0)),
        ]))
        .await
        .unwrap();

    let feed = store
        .actions_after(&g.connector, 0, t(0), 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&feed),
        ["a1", "a3"],
        "a2 is hidden until its not_before"
    );
    assert!(feed[0].seq < feed[1].seq);
    let after_first = store
        .actions_after(&g.connector, feed[0].seq, t(0), 10)
        .await
        .unwrap();
    assert_eq!(ids(&after_first), ["a3"]);
    assert!(
        store
            .actions_after(&g.connector, feed[1].seq, t(0), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Whatever their status: the feed is a log, not a queue.
    store
        .record_attempt(&ActionId::new("a1"), &AttemptResult::Delivered, t(1), None)
        .await
        .unwrap();
    let at_500 = store
        .actions_after(&g.connector, 0, t(500), 10)
        .await
        .unwrap();
    assert_eq!(ids(&at_500), ["a1", "a2", "a3"]);
    assert_eq!(at_500[0].status, ActionStatus::Delivered);
    assert_eq!(
        ids(&store
            .actions_after(&g.connector, 0, t(500), 2)
            .await
            .unwrap()),
        ["a1", "a2"]
    );
    assert_eq!(
        ids(&store
            .actions_after(&ConnectorId::new("matrix"), 0, t(0), 10)
            .await
            .unwrap()),
        ["b1"]
    );
}

async fn a_bridge_outcome_recorded_with_record_attempt_writes_its_audit_row(store: Arc<dyn Store>) {
    let g = qq("100");
    store
        .commit(&actions_only(vec![send("a1", &g, "hi", t(0))]))
        .await
        .unwrap();
    let id = ActionId::new("a1");
    store
        .record_attempt(&id, &AttemptResult::AwaitingPeer, t(1), None)
        .await
        .unwrap();
    assert!(
        store.list_audit(None, 10).await.unwrap().is_empty(),
        "no audit row unless one is given"
    );

    let outcome = NewAuditEntry {
        time: t(2),
        actor: "bridge:qq".into(),
        kind: "action.result".into(),
        group: Some(g.clone()),
        event_id: Some(PlatformEventId::new("e1")),
        action_id: Some(id.clone()),
        rule: Some("welcome".into()),
        summary: "已发送".into(),
        detail: None,
    };
    let entry = store
        .record_attempt(&id, &AttemptResult::Delivered, t(2), Some(&outcome))
        .await
        .unwrap();
    assert_eq!(entry.status, ActionStatus::Delivered);
    assert_eq!(store.get_action(&id).await.unwrap(), Some(entry));
    let audit = store.list_audit(Some(&g), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entry, outcome);
}

async fn changing_a_task_status_writes_an_audit_row(store: Arc<dyn Store>) {
    let g = qq("100");
    let mute = Action {
        kind: ActionKind::Mute {
            member: "10001".into(),
            duration_secs: 600,
        },
        rule: "moderate".into(),
        ..send("a-mute", &g, "", t(0))
    };
    store
        .commit(&Commit {
            tasks: vec![task("t1", mute.clone(), t(0))],
            ..Commit::default()
        })
        .await
        .unwrap();
    store
        .commit(&Commit {
            tasks: vec![task("t2", send("a-other", &g, "x", t(1)), t(1))],
            ..Commit::default()
        })
        .await
        .unwrap();
    let newest_first: Vec<_> = store
        .list_tasks(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.0)
        .collect();
    assert_eq!(newest_first, ["t2", "t1"]);

    let id = TaskId::new("t1");
    let done = store
        .set_task_status(&id, TaskStatus::Done, "operator:alice", t(10))
        .await
        .unwrap();
    assert_eq!(
        (
            done.status,
            done.updated_at,
            done.updated_by.as_deref(),
            &done.action
        ),
        (TaskStatus::Done, t(10), Some("operator:alice"), &mute)
    );
    let done_list = store.list_tasks(Some(TaskStatus::Done), 10).await.unwrap();
    assert_eq!(done_list, vec![done]);
    let open: Vec<_> = store
        .list_tasks(Some(TaskStatus::Open), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.0)
        .collect();
    assert_eq!(open, ["t2"]);

    let audit = store.list_audit(Some(&g), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].entry,
        NewAuditEntry {
            time: t(10),
            actor: "operator:alice".into(),
            kind: "task.status".into(),
            group: Some(g.clone()),
            event_id: None,
            action_id: Some(ActionId::new("a-mute")),
            rule: Some("moderate".into()),
            summary: "待办 t1：open → done".into(),
            detail: None,
        }
    );

    let missing = store
        .set_task_status(&TaskId::new("nope"), TaskStatus::Done, "cli", t(11))
        .await;
    assert_eq!(missing, Err(StoreError::NotFound("task nope".into())));
    assert_eq!(
        store.list_audit(None, 10).await.unwrap().len(),
        1,
        "a failed change writes no audit"
    );
}

async fn rulebook_saves_append_versions_and_a_stale_parent_conflicts(store: Arc<dyn Store>) {
    assert_eq!(store.rulebook_head().await.unwrap(), None);
    let v1 = store
        .rulebook_save(&rulebook(None, "初始", t(0)))
        .await
        .unwrap();
    assert_eq!(
        v1,
        RulebookVersion {
            version: 1,
            author: "operator:alice".into(),
            note: "初始".into(),
            changes: vec!["templates.default.welcome.text".into()],
            body: r#"{"note": "初始",   "kept": "verbatim"}"#.into(),
            time: t(0),
        }
    );
    let v2 = store
        .rulebook_save(&rulebook(Some(1), "改欢迎语", t(10)))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);

    for stale in [None, Some(1), Some(7)] {
        let error = store
            .rulebook_save(&rulebook(stale, "stale", t(20)))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(_)),
            "parent {stale:?}: {error:?}"
        );
    }

    assert_eq!(store.rulebook_head().await.unwrap(), Some(v2.clone()));
    assert_eq!(
        store.rulebook_versions(10).await.unwrap(),
        vec![v2.clone(), v1.clone()]
    );
    assert_eq!(store.rulebook_versions(1).await.unwrap(), vec![v2]);
    assert_eq!(store.rulebook_version(1).await.unwrap(), Some(v1));
    assert_eq!(store.rulebook_version(3).await.unwrap(), None);

    let audit = store.list_audit(None, 10).await.unwrap();
    let saves: Vec<_> = audit
        .iter()
        .map(|a| {
            (
                a.entry.kind.as_str(),
                a.entry.actor.as_str(),
                a.entry.summary.as_str(),
            )
        })
        .collect();
    assert_eq!(
        saves,
        [
            ("rulebook.save", "operator:alice", "规则手册 v2：改欢迎语"),
            ("rulebook.save", "operator:alice", "规则手册 v1：初始"),
        ],
        "one audit row per successful save, none for conflicts"
    );
}

async fn touch_group_creates_once_then_updates_name_and_last_seen(store: Arc<dyn Store>) {
    let g = qq("100");
    let created = store.touch_group(&g, None, t(10)).await.unwrap();
    assert_eq!(
        (created.name, created.first_seen, created.last_seen),
        (None, t(10), t(10))
    );

    let named = store
        .touch_group(&g, Some("产品交流群"), t(20))
        .await
        .unwrap();
    assert_eq!(
        (named.name.as_deref(), named.first_seen, named.last_seen),
        (Some("产品交流群"), t(10), t(20))
    );

    // A late, nameless sighting neither forgets the name nor moves last_seen back.
    let late = store.touch_group(&g, None, t(15)).await.unwrap();
    assert_eq!(
        (late.name.as_deref(), late.first_seen, late.last_seen),
        (Some("产品交流群"), t(10), t(20))
    );

    store.touch_group(&qq("B"), None, t(0)).await.unwrap();
    store.touch_group(&qq("a"), None, t(0)).await.unwrap();
    store
        .touch_group(&GroupKey::new("matrix", "!x"), None, t(0))
        .await
        .unwrap();
    let keys: Vec<String> = store
        .list_groups()
        .await
        .unwrap()
        .iter()
        .map(|g| g.key.to_string())
        .collect();
    assert_eq!(
        keys,
        ["matrix/!x", "qq/100", "qq/B", "qq/a"],
        "ordered like GroupKey: by bytes"
    );
    assert_eq!(store.list_groups().await.unwrap()[1], late);
}

async fn list_audit_filters_by_group_newest_first(store: Arc<dyn Store>) {
    let (g1, g2) = (qq("1"), qq("2"));
    let same_id_elsewhere = GroupKey::new("matrix", "1");
    let entries = vec![
        note("decision", Some(&g1), "g1 first", t(0)),
        note("decision", Some(&g2), "g2", t(1)),
        note("config", None, "global", t(2)),
        note("decision", Some(&same_id_elsewhere), "matrix 1", t(3)),
        note("decision", Some(&g1), "g1 second", t(4)),
    ];
    store
        .commit(&Commit {
            audit: entries.clone(),
            ..Commit::default()
        })
        .await
        .unwrap();

    let g1_rows = store.list_audit(Some(&g1), 10).await.unwrap();
    assert_eq!(
        g1_rows.iter().map(|a| a.entry.clone()).collect::<Vec<_>>(),
        vec![entries[4].clone(), entries[0].clone()]
    );
    assert!(g1_rows[0].id > g1_rows[1].id);
    assert_eq!(
        store.list_audit(Some(&g1), 1).await.unwrap()[0]
            .entry
            .summary,
        "g1 second"
    );

    let all = store.list_audit(None, 10).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|a| a.entry.summary.as_str())
            .collect::<Vec<_>>(),
        ["g1 second", "matrix 1", "global", "g2", "g1 first"]
    );
    assert_eq!(all.len(), 5);
}

async fn chat_text_with_a_nul_character_round_trips(store: Arc<dyn Store>) {
    // Platforms deliver whatever users type; a NUL must not make an event unstorable.
    let g = qq("100");
    let event = message("e-nul", &g, "before\u{0}after \u{1F600} 中文", t(0));
    let seq = accept_new(&store, &event).await;
    assert_eq!(store.pending_events(10).await.unwrap(), vec![(seq, event)]);
    store
        .commit(&actions_only(vec![send("a-nul", &g, "x\u{0}y", t(0))]))
        .await
        .unwrap();
    let stored = store
        .get_action(&ActionId::new("a-nul"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.action, send("a-nul", &g, "x\u{0}y", t(0)));

    // Audit summaries quote names and messages: a NUL there must not sink the commit.
    let mut commit = actions_only(vec![send("a-nul-2", &g, "z", t(0))]);
    commit.audit.push(NewAuditEntry {
        time: t(0),
        actor: "engine".into(),
        kind: "decision".into(),
        group: Some(g.clone()),
        event_id: None,
        action_id: None,
        rule: Some("moderate".into()),
        summary: "warned 小\u{0}王".into(),
        detail: Some("{\"text\":\"a\u{0}b\"}".into()),
    });
    store.commit(&commit).await.unwrap();
    let rows = store.list_audit(Some(&g), 5).await.unwrap();
    assert!(rows.iter().any(|r| r.entry.summary.starts_with("warned 小")), "{rows:?}");
}

async fn concurrent_rulebook_saves_with_the_same_parent_yield_exactly_one_success(
    store: Arc<dyn Store>,
) {
    for parent in [None, Some(1)] {
        let attempts: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .rulebook_save(&rulebook(parent, &format!("writer {i}"), t(i)))
                        .await
                })
            })
            .collect();
        let mut wins = Vec::new();
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(saved) => wins.push(saved),
                Err(StoreError::Conflict(_)) => {}
                Err(other) => panic!("a losing save must be a conflict, got {other:?}"),
            }
        }
        assert_eq!(wins.len(), 1, "parent {parent:?}: {wins:?}");
        assert_eq!(wins[0].version, parent.unwrap_or(0) + 1);
    }
    assert_eq!(store.rulebook_versions(10).await.unwrap().len(), 2);
    let saves = store.list_audit(None, 100).await.unwrap();
    assert_eq!(
        saves
            .iter()
            .filter(|a| a.entry.kind == "rulebook.save")
            .count(),
        2
    );
}

async fn a_cursor_following_concurrent_commits_misses_no_action(store: Arc<dyn Store>) {
    // Workers of different groups commit in parallel while a bridge follows the feed. If a
    // later sequence number could become visible before an earlier one, the cursor would
    // jump past the earlier one and never deliver it.
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 25;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let g = qq(&format!("g{w}"));
                for i in 0..PER_WRITER {
                    let action = send(&format!("w{w}-{i}"), &g, "x", t(0));
                    store.commit(&actions_only(vec![action])).await.unwrap();
                }
            })
        })
        .collect();

    let connector = ConnectorId::new("qq");
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < WRITERS * PER_WRITER && tokio::time::Instant::now() < deadline {
        let all_written = writers.iter().all(|w| w.is_finished());
        let page = store
            .actions_after(&connector, cursor, t(0), 50)
            .await
            .unwrap();
        for entry in &page {
            assert!(entry.seq > cursor);
            cursor = entry.seq;
            seen.insert(entry.action.id.0.clone());
        }
        if page.is_empty() {
            if all_written {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(
        seen.len(),
        WRITERS * PER_WRITER,
        "the cursor skipped actions that committed late"
    );
}

// ---------------------------------------------------------------------------------------
// Moderation records

async fn member_record_follows_join_posts_leave_and_rejoin_keeping_first_seen(
    store: Arc<dyn Store>,
) {
    let g = qq("100");
    let ming = MemberId::new("10001");
    assert_eq!(store.member(&g, &ming).await.unwrap(), None);

    store
        .commit(&members_only(vec![member_update(
            &g,
            "10001",
            Some("小明"),
            MemberChange::Joined,
            t(0),
        )]))
        .await
        .unwrap();
    let mut expected = MemberRecord {
        group: g.clone(),
        member: ming.clone(),
        name: Some("小明".into()),
        first_seen: t(0),
        joined_at: Some(t(0)),
        left_at: None,
        messages: 0,
        last_message_at: None,
    };
    assert_eq!(
        store.member(&g, &ming).await.unwrap(),
        Some(expected.clone())
    );

    // Two posts in one commit; the first carries no name, which keeps the known one.
    store
        .commit(&members_only(vec![
            member_update(&g, "10001", None, MemberChange::Posted, t(10)),
            member_update(&g, "10001", Some("小明同学"), MemberChange::Posted, t(20)),
        ]))
        .await
        .unwrap();
    expected.name = Some("小明同学".into());
    expected.messages = 2;
    expected.last_message_at = Some(t(20));
    assert_eq!(
        store.member(&g, &ming).await.unwrap(),
        Some(expected.clone())
    );

    store
        .commit(&members_only(vec![member_update(
            &g,
            "10001",
            None,
            MemberChange::Left,
            t(30),
        )]))
        .await
        .unwrap();
    expected.left_at = Some(t(30));
    assert_eq!(
        store.member(&g, &ming).await.unwrap(),
        Some(expected.clone()),
        "leaving keeps the join time and the message count"
    );

    store
        .commit(&members_only(vec![member_update(
            &g,
            "10001",
            Some("小明"),
            MemberChange::Joined,
            t(40),
        )]))
        .await
        .unwrap();
    expected.name = Some("小明".into());
    expected.joined_at = Some(t(40));
    expected.left_at = None;
    assert_eq!(
        store.member(&g, &ming).await.unwrap(),
        Some(expected),
        "a rejoin clears left_at and keeps first_seen"
    );

    // The same member elsewhere is another record; a first post or a first sighting creates one.
    store
        .commit(&members_only(vec![
            member_update(&qq("200"), "10001", None, MemberChange::Posted, t(50)),
            member_update(&qq("300"), "10001", Some("阿明"), MemberChange::Seen, t(60)),
        ]))
        .await
        .unwrap();
    assert_eq!(
        store.member(&qq("200"), &ming).await.unwrap(),
        Some(MemberRecord {
            group: qq("200"),
            member: ming.clone(),
            name: None,
            first_seen: t(50),
            joined_at: None,
            left_at: None,
            messages: 1,
            last_message_at: Some(t(50)),
        })
    );
    assert_eq!(
        store.member(&qq("300"), &ming).await.unwrap(),
        Some(MemberRecord {
            group: qq("300"),
            member: ming.clone(),
            name: Some("阿明".into()),
            first_seen: t(60),
            joined_at: None,
            left_at: None,
            messages: 0,
            last_message_at: None,
        })
    );
    assert_eq!(
        store
            .member(&GroupKey::new("matrix", "100"), &ming)
            .await
            .unwrap(),
        None
    );
}

async fn violations_are_idempotent_by_id_and_counted_per_connector_within_the_window(
    store: Arc<dyn Store>,
) {
    let (g100, g200) = (qq("100"), qq("200"));
    let matrix = GroupKey::new("matrix", "!room");
    let mut dry_run = violation("v-dry", &g100, "10001", t(40));
    dry_run.dry_run = true;
    store
        .commit(&violations_only(vec![
            violation("v-old", &g100, "10001", t(0)),
            violation("v-1", &g100, "10001", t(10)),
            violation("v-2", &g200, "10001", t(20)),
            violation("v-matrix", &matrix, "10001", t(30)),
            dry_run,
            violation("v-other", &g100, "20002", t(50)),
        ]))
        .await
        .unwrap();

    // A re-run decides the same id; the first record stands.
    let mut rerun = violation("v-1", &g100, "10001", t(15));
    rerun.text = "re-run".into();
    rerun.penalty = "mute:600".into();
    store.commit(&violations_only(vec![rerun])).await.unwrap();
    assert_eq!(
        store.get_violation("v-1").await.unwrap(),
        Some(violation("v-1", &g100, "10001", t(10)))
    );
    assert_eq!(store.get_violation("v-nope").await.unwrap(), None);

    let qq_id = ConnectorId::new("qq");
    let ming = MemberId::new("10001");
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(5)).await.unwrap(),
        2,
        "v-1 and v-2 in two groups of one connector; not the older one, the dry run, the other connector or the other member"
    );
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(0)).await.unwrap(),
        3,
        "the window includes its start"
    );
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(21)).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .count_violations(&ConnectorId::new("matrix"), &ming, t(0))
            .await
            .unwrap(),
        1
    );

    let audit = note("violation.status", Some(&g100), "撤销", t(60));
    store
        .set_violation_status("v-2", ViolationStatus::Undone, None, &audit)
        .await
        .unwrap();
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(5)).await.unwrap(),
        1
    );
    store
        .set_violation_status("v-1", ViolationStatus::FalsePositive, None, &audit)
        .await
        .unwrap();
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(5)).await.unwrap(),
        0,
        "undone and false-positive violations no longer count"
    );

    assert_eq!(
        violation_ids(&store.list_violations(None, None, 10).await.unwrap()),
        ["v-other", "v-dry", "v-matrix", "v-2", "v-1", "v-old"],
        "newest first"
    );
    assert_eq!(
        violation_ids(&store.list_violations(None, None, 2).await.unwrap()),
        ["v-other", "v-dry"]
    );
    assert_eq!(
        violation_ids(&store.list_violations(Some(&g100), None, 10).await.unwrap()),
        ["v-other", "v-dry", "v-1", "v-old"]
    );
    assert_eq!(
        violation_ids(
            &store
                .list_violations(Some(&g100), Some(ViolationStatus::Active), 10)
                .await
                .unwrap()
        ),
        ["v-other", "v-dry", "v-old"]
    );
    let false_positives = store
        .list_violations(None, Some(ViolationStatus::FalsePositive), 10)
        .await
        .unwrap();
    assert_eq!(violation_ids(&false_positives), ["v-1"]);
    assert_eq!(false_positives[0].status, ViolationStatus::FalsePositive);
}

async fn marking_a_false_positive_writes_the_correction_and_audit_together(store: Arc<dyn Store>) {
    let g = qq("100");
    store
        .commit(&violations_only(vec![violation("v-1", &g, "10001", t(0))]))
        .await
        .unwrap();

    let not_spam = correction("加微信 abc123 领红包", false, t(10), Some("v-nope"));
    let error = store
        .set_violation_status(
            "v-nope",
            ViolationStatus::FalsePositive,
            Some(&not_spam),
            &note("violation.status", Some(&g), "never", t(10)),
        )
        .await
        .unwrap_err();
    assert_eq!(error, StoreError::NotFound("violation v-nope".into()));
    assert!(
        store.list_corrections().await.unwrap().is_empty(),
        "nothing written"
    );
    assert!(
        store.list_audit(None, 10).await.unwrap().is_empty(),
        "nothing written"
    );

    let not_spam = correction("加微信 abc123 领红包", false, t(10), Some("v-1"));
    let marked = store
        .set_violation_status(
            "v-1",
            ViolationStatus::FalsePositive,
            Some(&not_spam),
            &note("violation.status", Some(&g), "误判：v-1", t(10)),
        )
        .await
        .unwrap();
    let mut expected = violation("v-1", &g, "10001", t(0));
    expected.status = ViolationStatus::FalsePositive;
    assert_eq!(marked, expected);
    assert_eq!(
        store.get_violation("v-1").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.list_corrections().await.unwrap(),
        vec![not_spam.clone()]
    );
    let audit = store.list_audit(None, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].entry,
        note("violation.status", Some(&g), "误判：v-1", t(10))
    );

    // Back to active without a correction: the status and one more audit row, no correction.
    let restored = store
        .set_violation_status(
            "v-1",
            ViolationStatus::Active,
            None,
            &note("violation.status", Some(&g), "恢复：v-1", t(20)),
        )
        .await
        .unwrap();
    assert_eq!(restored.status, ViolationStatus::Active);
    assert_eq!(store.list_corrections().await.unwrap(), vec![not_spam]);
    assert_eq!(store.list_audit(None, 10).await.unwrap().len(), 2);
}

async fn blacklist_adds_keeps_lists_and_removes_with_audit(store: Arc<dyn Store>) {
    let qq_id = ConnectorId::new("qq");
    let (a, b) = (MemberId::new("10001"), MemberId::new("20002"));
    let first = blacklist_entry("10001", "广告", t(10));
    store
        .add_to_blacklist(&first, &note("blacklist.add", None, "拉黑 10001", t(10)))
        .await
        .unwrap();
    assert_eq!(
        store.blacklisted(&qq_id, &a).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .blacklisted(&ConnectorId::new("matrix"), &a)
            .await
            .unwrap(),
        None,
        "a blacklist is per connector"
    );

    // Adding again keeps the existing entry (its reason and time); the attempt is audited.
    store
        .add_to_blacklist(
            &blacklist_entry("10001", "again", t(20)),
            &note("blacklist.add", None, "再次拉黑 10001", t(20)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.blacklisted(&qq_id, &a).await.unwrap(),
        Some(first.clone())
    );

    let second = blacklist_entry("20002", "诈骗", t(30));
    store
        .add_to_blacklist(&second, &note("blacklist.add", None, "拉黑 20002", t(30)))
        .await
        .unwrap();
    assert_eq!(
        store.list_blacklist(10).await.unwrap(),
        vec![second.clone(), first.clone()],
        "newest first"
    );
    assert_eq!(store.list_blacklist(1).await.unwrap(), vec![second.clone()]);
    assert_eq!(store.list_audit(None, 10).await.unwrap().len(), 3);

    assert!(
        store
            .remove_from_blacklist(
                &qq_id,
                &a,
                &note("blacklist.remove", None, "移出 10001", t(40))
            )
            .await
            .unwrap()
    );
    assert_eq!(store.blacklisted(&qq_id, &a).await.unwrap(), None);
    assert_eq!(store.list_blacklist(10).await.unwrap(), vec![second]);
    assert_eq!(
        store.list_audit(None, 1).await.unwrap()[0].entry.summary,
        "移出 10001"
    );

    assert!(
        !store
            .remove_from_blacklist(&qq_id, &a, &note("blacklist.remove", None, "never", t(50)))
            .await
            .unwrap(),
        "nothing to remove"
    );
    assert!(
        !store
            .remove_from_blacklist(
                &ConnectorId::new("matrix"),
                &b,
                &note("blacklist.remove", None, "never", t(50))
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_audit(None, 10).await.unwrap().len(),
        4,
        "a removal that removed nothing writes no audit row"
    );
}

async fn a_commit_blacklists_a_member_with_the_violation_that_caused_it(store: Arc<dyn Store>) {
    let g = qq("100");
    let event = message("e-scam", &g, "转账到这个账户", t(0));
    let seq = accept_new(&store, &event).await;
    let mut scam = violation("v-e-scam", &g, "10001", t(0));
    scam.category = "scam".into();
    scam.penalty = "blacklist".into();
    let mut entry = blacklist_entry("10001", "诈骗", t(0));
    entry.added_by = "engine".into();
    entry.violation = Some("v-e-scam".into());
    store
        .commit(&Commit {
            event_seq: Some(seq),
            audit: vec![note("decision", Some(&g), "拉黑 10001", t(0))],
            members: vec![member_update(
                &g,
                "10001",
                Some("小明"),
                MemberChange::Posted,
                t(0),
            )],
            violations: vec![scam.clone()],
            blacklist: vec![entry.clone()],
            ..Commit::default()
        })
        .await
        .unwrap();
    assert!(store.pending_events(10).await.unwrap().is_empty());
    assert_eq!(store.get_violation("v-e-scam").await.unwrap(), Some(scam));
    let qq_id = ConnectorId::new("qq");
    let ming = MemberId::new("10001");
    assert_eq!(
        store.blacklisted(&qq_id, &ming).await.unwrap(),
        Some(entry.clone())
    );
    assert_eq!(
        store.count_violations(&qq_id, &ming, t(0)).await.unwrap(),
        1
    );
    assert_eq!(store.member(&g, &ming).await.unwrap().unwrap().messages, 1);

    // A later commit that blacklists again keeps the first entry.
    store
        .commit(&Commit {
            blacklist: vec![blacklist_entry("10001", "again", t(10))],
            ..Commit::default()
        })
        .await
        .unwrap();
    assert_eq!(store.list_blacklist(10).await.unwrap(), vec![entry]);
}

async fn corrections_are_listed_oldest_first(store: Arc<dyn Store>) {
    let g = qq("100");
    let spam = correction("低价出售账号", true, t(10), None);
    let ham = correction("今晚开会", false, t(20), None);
    store
        .add_correction(&spam, &note("correction", None, "是垃圾", t(10)))
        .await
        .unwrap();
    store
        .add_correction(&ham, &note("correction", None, "不是垃圾", t(20)))
        .await
        .unwrap();
    store
        .commit(&violations_only(vec![violation("v-1", &g, "10001", t(25))]))
        .await
        .unwrap();
    let from_review = correction("加微信 abc123 领红包", false, t(30), Some("v-1"));
    store
        .set_violation_status(
            "v-1",
            ViolationStatus::FalsePositive,
            Some(&from_review),
            &note("violation.status", Some(&g), "误判", t(30)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_corrections().await.unwrap(),
        vec![spam, ham, from_review]
    );
    assert_eq!(
        store
            .list_audit(None, 10)
            .await
            .unwrap()
            .iter()
            .map(|a| a.entry.summary.as_str())
            .collect::<Vec<_>>(),
        ["误判", "不是垃圾", "是垃圾"]
    );
}

async fn moderation_text_with_a_nul_character_round_trips(store: Arc<dyn Store>) {
    // Nicknames and messages are whatever users type, NUL included.
    let g = qq("100");
    let name = "小\u{0}明";
    let mut bad = violation("v-nul", &g, "10001", t(0));
    bad.text = "加\u{0}微信".into();
    bad.member_name = Some(name.into());
    let mut entry = blacklist_entry("10001", "广\u{0}告", t(0));
    entry.member_name = Some(name.into());
    store
        .commit(&Commit {
            members: vec![member_update(
                &g,
                "10001",
                Some(name),
                MemberChange::Joined,
                t(0),
            )],
            violations: vec![bad.clone()],
            blacklist: vec![entry.clone()],
            ..Commit::default()
        })
        .await
        .unwrap();
    let nul = correction("加\u{0}微信", true, t(1), Some("v-nul"));
    store
        .add_correction(&nul, &note("correction", None, "是垃圾", t(1)))
        .await
        .unwrap();

    let ming = MemberId::new("10001");
    assert_eq!(
        store
            .member(&g, &ming)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some(name)
    );
    assert_eq!(store.get_violation("v-nul").await.unwrap(), Some(bad));
    assert_eq!(
        store
            .blacklisted(&ConnectorId::new("qq"), &ming)
            .await
            .unwrap(),
        Some(entry)
    );
    assert_eq!(store.list_corrections().await.unwrap(), vec![nul]);
}

async fn concurrent_commits_about_a_new_member_count_every_message(store: Arc<dyn Store>) {
    // Workers racing to create the same member's record must neither fail on the key nor
    // lose a message: the upsert is one statement, not a read followed by a write.
    const WRITERS: u64 = 8;
    const PER_WRITER: u64 = 10;
    let g = qq("100");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, g) = (store.clone(), g.clone());
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let at = t(i64::try_from(w * PER_WRITER + i).unwrap());
                    store
                        .commit(&Commit {
                            members: vec![member_update(
                                &g,
                                "10001",
                                None,
                                MemberChange::Posted,
                                at,
                            )],
                            violations: vec![violation(&format!("v-{w}-{i}"), &g, "10001", at)],
                            blacklist: vec![blacklist_entry("10001", "刷屏", at)],
                            ..Commit::default()
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let record = store
        .member(&g, &MemberId::new("10001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.messages, WRITERS * PER_WRITER);
    assert_eq!(
        store
            .count_violations(&ConnectorId::new("qq"), &MemberId::new("10001"), t(0))
            .await
            .unwrap(),
        u32::try_from(WRITERS * PER_WRITER).unwrap()
    );
    assert_eq!(store.list_blacklist(10).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Stories that need the store to be closed and opened again (SQLite, PostgreSQL)

async fn an_uncommitted_event_survives_reopening_the_store(backend: Reopenable) {
    let g = qq("100");
    let store = backend.open().await;
    let e1 = message("e1", &g, "processed", t(0));
    let e2 = message("e2", &g, "crash before commit", t(1));
    let s1 = accept_new(&store, &e1).await;
    let s2 = accept_new(&store, &e2).await;
    store
        .commit(&Commit {
            event_seq: Some(s1),
            ..Commit::default()
        })
        .await
        .unwrap();
    store.close().await;

    let store = backend.open().await;
    assert_eq!(
        store.pending_events(10).await.unwrap(),
        vec![(s2, e2.clone())]
    );
    assert_eq!(
        store.accept_event(&e2).await.unwrap(),
        Accepted::Duplicate { seq: s2 }
    );
    assert_eq!(
        store.accept_event(&e1).await.unwrap(),
        Accepted::Duplicate { seq: s1 }
    );
    store.close().await;
}

async fn data_survives_close_and_reopen(backend: Reopenable) {
    let g = qq("100");
    let store = backend.open().await;
    let group = store.touch_group(&g, Some("老群"), t(0)).await.unwrap();
    let action = send("a1", &g, "hi", t(0));
    store
        .commit(&Commit {
            event_seq: None,
            actions: vec![action.clone()],
            tasks: vec![task("t1", action.clone(), t(0))],
            audit: vec![note("decision", Some(&g), "kept", t(0))],
            members: vec![member_update(
                &g,
                "10001",
                Some("小明"),
                MemberChange::Posted,
                t(0),
            )],
            violations: vec![violation("v-1", &g, "10001", t(0))],
            blacklist: vec![blacklist_entry("10001", "广告", t(0))],
            writes: Vec::new(),
        })
        .await
        .unwrap();
    let kept = correction("低价出售账号", true, t(0), None);
    store
        .add_correction(&kept, &note("correction", None, "是垃圾", t(0)))
        .await
        .unwrap();
    let member = store.member(&g, &MemberId::new("10001")).await.unwrap();
    assert!(member.is_some());
    let retry = AttemptResult::Retry {
        next_attempt_at: t(30),
        error: "busy".into(),
    };
    let entry = store
        .record_attempt(&action.id, &retry, t(1), None)
        .await
        .unwrap();
    let v1 = store
        .rulebook_save(&rulebook(None, "v1", t(2)))
        .await
        .unwrap();
    let tasks = store.list_tasks(None, 10).await.unwrap();
    let audit = store.list_audit(None, 10).await.unwrap();
    store.close().await;

    let store = backend.open().await;
    assert_eq!(store.list_groups().await.unwrap(), vec![group]);
    assert_eq!(store.get_action(&action.id).await.unwrap(), Some(entry));
    assert_eq!(store.list_tasks(None, 10).await.unwrap(), tasks);
    assert_eq!(store.list_audit(None, 10).await.unwrap(), audit);
    assert_eq!(store.rulebook_head().await.unwrap(), Some(v1));
    assert_eq!(
        store.member(&g, &MemberId::new("10001")).await.unwrap(),
        member
    );
    assert_eq!(
        store.list_violations(None, None, 10).await.unwrap(),
        vec![violation("v-1", &g, "10001", t(0))]
    );
    assert_eq!(
        store.list_blacklist(10).await.unwrap(),
        vec![blacklist_entry("10001", "广告", t(0))]
    );
    assert_eq!(store.list_corrections().await.unwrap(), vec![kept]);
    // And it keeps counting where it left off.
    assert_eq!(
        store
            .rulebook_save(&rulebook(Some(1), "v2", t(3)))
            .await
            .unwrap()
            .version,
        2
    );
    store.close().await;
}

// ---------------------------------------------------------------------------------------
// Backends

mod support;
use support::*;

#[tokio::test]
async fn postgres_open_names_a_missing_database_and_how_to_create_it() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let url = with_database(&database.server_url, "qz_no_such_database");
    let error = match qunzhu_store::open(&url).await {
        Ok(_) => panic!("the database does not exist"),
        Err(error) => error,
    };
    assert!(
        matches!(error, qunzhu_store::OpenError::PostgresNoDatabase { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("createdb qz_no_such_database"),
        "{error}"
    );
    database.drop_database().await;
}

stories! {
    any store:
        redelivered_event_is_a_duplicate,
        commit_marks_the_event_processed_so_it_is_no_longer_pending,
        a_commit_for_an_unknown_event_writes_nothing,
        commit_is_idempotent_on_action_and_task_ids,
        outbox_moves_through_due_retry_backoff_and_failure,
        actions_after_follows_the_cursor_in_order_and_hides_not_before,
        a_bridge_outcome_recorded_with_record_attempt_writes_its_audit_row,
        changing_a_task_status_writes_an_audit_row,
        rulebook_saves_append_versions_and_a_stale_parent_conflicts,
        touch_group_creates_once_then_updates_name_and_last_seen,
        list_audit_filters_by_group_newest_first,
        chat_text_with_a_nul_character_round_trips,
        concurrent_rulebook_saves_with_the_same_parent_yield_exactly_one_success,
        a_cursor_following_concurrent_commits_misses_no_action,
        member_record_follows_join_posts_leave_and_rejoin_keeping_first_seen,
        violations_are_idempotent_by_id_and_counted_per_connector_within_the_window,
        marking_a_false_positive_writes_the_correction_and_audit_together,
        blacklist_adds_keeps_lists_and_removes_with_audit,
        a_commit_blacklists_a_member_with_the_violation_that_caused_it,
        corrections_are_listed_oldest_first,
        moderation_text_with_a_nul_character_round_trips,
        concurrent_commits_about_a_new_member_count_every_message;
    reopened:
        an_uncommitted_event_survives_reopening_the_store,
        data_survives_close_and_reopen,
}
