//! The engine end to end over the in-memory store: events in, committed decisions out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::store::{ActionStatus, NewRulebookVersion};
use qunzhu_core::{
    ActionKind, Capabilities, Capability, ConnectorId, Event, EventKind, Member, Message, Origin, Segment, Store,
    SystemClock, TaskStatus,
};
use qunzhu_engine::rulebook::{GroupBinding, DEFAULT_TEMPLATE};
use qunzhu_engine::{Engine, EngineConfig, EngineError, Locale, Rulebook};
use serde_json::Map;

fn event(connector: &str, group: &str, id: &str, kind: EventKind) -> Event {
    Event {
        origin: Origin { connector: connector.into(), group: group.into(), event_id: id.into() },
        group_name: Some("粉丝1群".into()),
        time: Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
        kind,
    }
}

fn join(group: &str, id: &str, member: &str, name: &str) -> Event {
    event("shop", group, id, EventKind::MemberJoined { member: Member::new(member, name), inviter: None, invite_code: None, join_scene: None })
}

/// A store whose first rulebook is the built-in one welcoming at once instead of batching
/// and without join waves:
/// these stories are about the pipeline, and a join's welcome is their typical decision
/// (tests/ritual.rs covers batching).
async fn store_welcoming_at_once(locale: Locale) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let mut book = Rulebook::builtin(locale);
    let settings = book.templates.get_mut(DEFAULT_TEMPLATE).unwrap();
    settings.welcome.batch_window_secs = 0;
    // Their bursts of joins are not join waves to alert staff about.
    settings.admission.join_wave.enabled = false;
    let first = NewRulebookVersion {
        parent: None,
        author: "system".into(),
        note: "built-in defaults, welcoming at once".into(),
        changes: Vec::new(),
        body: book.to_json().to_string(),
        time: Utc::now(),
    };
    store.rulebook_save(&first).await.unwrap();
    store
}

async fn engine_with(capabilities: Capabilities) -> (Engine, Arc<MemoryStore>) {
    let store = store_welcoming_at_once(Locale::ZhCn).await;
    let connectors = HashMap::from([(ConnectorId::new("shop"), capabilities)]);
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), connectors, EngineConfig::default()).await.unwrap();
    (engine, store)
}

fn send_segments(kind: &ActionKind) -> &[Segment] {
    match kind {
        ActionKind::Send { segments } => segments,
        other => panic!("expected a send, got {other:?}"),
    }
}

#[tokio::test]
async fn a_newcomer_is_welcomed_by_name_with_the_group_and_its_rules_out_of_the_box() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let processed = engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap();
    assert!(!processed.duplicate);
    assert_eq!(processed.actions.len(), 1);
    let action = &processed.actions[0];
    assert_eq!(action.rule, "welcome");
    let segments = send_segments(&action.kind);
    assert!(segments.contains(&Segment::Mention { member: "u1".into(), name: Some("小王".into()) }));
    let text = Message { id: "x".into(), segments: segments.to_vec() }.plain_text();
    assert!(text.contains("粉丝1群"), "{text}");
    assert!(text.contains("禁止广告"), "the default rules text is included: {text}");

    let due = store.due_actions(&"shop".into(), Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1, "the welcome waits in the outbox");
    assert_eq!(due[0].status, ActionStatus::Pending);
    let audit = store.list_audit(None, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.kind == "decision" && a.entry.action_id.as_ref() == Some(&action.id)));
}

#[tokio::test]
async fn a_redelivered_event_is_processed_once() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let first = engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap();
    let again = engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap();
    assert_eq!(first.actions.len(), 1);
    assert!(again.duplicate);
    assert!(again.actions.is_empty());
    assert_eq!(store.due_actions(&"shop".into(), Utc::now(), 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn what_the_platform_cannot_do_becomes_a_staff_task() {
    let (engine, store) = engine_with(Capabilities::new([Capability::Reply])).await;
    let processed = engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap();
    assert!(processed.actions.is_empty());
    assert_eq!(processed.tasks.len(), 1);
    let task = &processed.tasks[0];
    assert!(task.step.starts_with("在群「粉丝1群」中发送："), "{}", task.step);
    assert!(task.step.contains("欢迎 @小王"), "{}", task.step);
    let open = store.list_tasks(Some(TaskStatus::Open), 10).await.unwrap();
    assert_eq!(open, processed.tasks);
}

#[tokio::test]
async fn a_group_binding_and_its_override_change_only_that_group() {
    let (engine, _store) = engine_with(Capabilities::all()).await;
    let mut book = engine.rulebook().rulebook.clone();
    book.groups.insert(
        "shop/vip".into(),
        GroupBinding {
            template: DEFAULT_TEMPLATE.into(),
            overrides: Map::from_iter([("welcome".into(), serde_json::json!({"text": "VIP {name}，{group} 欢迎你"}))]),
        },
    );
    let saved = engine.save_rulebook(book, "operator:alice", "VIP 群欢迎语").await.unwrap();
    assert_eq!(saved.version, 2);

    let vip = engine.submit(join("vip", "e1", "u1", "小王")).await.unwrap();
    let text = Message { id: "x".into(), segments: send_segments(&vip.actions[0].kind).to_vec() }.plain_text();
    assert_eq!(text, "VIP @小王，粉丝1群 欢迎你");
    let other = engine.submit(join("g2", "e2", "u2", "小李")).await.unwrap();
    let text = Message { id: "x".into(), segments: send_segments(&other.actions[0].kind).to_vec() }.plain_text();
    assert!(text.starts_with("欢迎 @小李"), "{text}");
}

#[tokio::test]
async fn rulebook_saves_are_versioned_and_roll_back() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let original = engine.rulebook().rulebook.clone();
    let mut book = original.clone();
    book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().welcome.enabled = false;
    engine.save_rulebook(book, "operator:alice", "关闭欢迎").await.unwrap();
    assert!(engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap().actions.is_empty());

    let versions = engine.rulebook_versions(10).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].author, "operator:alice");
    assert_eq!(versions[0].changes, vec!["templates.default.welcome.enabled"]);

    let rolled = engine.rollback_rulebook(1, "operator:bob").await.unwrap();
    assert_eq!(rolled.version, 3);
    assert_eq!(rolled.rulebook, original);
    assert_eq!(engine.submit(join("g1", "e2", "u2", "小李")).await.unwrap().actions.len(), 1);
    let audit = store.list_audit(None, 50).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.entry.kind == "rulebook.save").count(), 3);
}

#[tokio::test]
async fn an_invalid_rulebook_is_refused_with_every_problem_and_nothing_changes() {
    let (engine, _store) = engine_with(Capabilities::all()).await;
    let mut book = Rulebook::builtin(Locale::ZhCn);
    book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().welcome.text = "hi {who}".into();
    book.groups.insert("nogroup".into(), GroupBinding { template: "missing".into(), overrides: Map::new() });
    let Err(qunzhu_engine::RulebookError::Invalid(problems)) = engine.save_rulebook(book, "a", "b").await else {
        panic!("expected validation problems");
    };
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_eq!(engine.rulebook().version, 1);
}

#[tokio::test]
async fn an_unknown_connector_is_refused_before_anything_is_stored() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let stray = event("nope", "g1", "e1", EventKind::GroupUpdated { name: None });
    assert!(matches!(engine.submit(stray).await, Err(EngineError::UnknownConnector(_))));
    assert!(store.pending_events(10).await.unwrap().is_empty());
    assert!(store.list_groups().await.unwrap().is_empty());
}

#[tokio::test]
async fn events_of_one_group_are_processed_in_arrival_order_while_groups_run_in_parallel() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let senders: Vec<_> = (0..8)
        .map(|group| {
            let engine = engine.clone();
            tokio::spawn(async move {
                for n in 0..25 {
                    let e = join(&format!("g{group}"), &format!("e{group}-{n}"), &format!("u{n}"), &format!("成员{n}"));
                    engine.submit(e).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let feed = store.actions_after(&"shop".into(), 0, Utc::now(), 1000).await.unwrap();
    for group in 0..8 {
        let texts: Vec<String> = feed
            .iter()
            .filter(|e| e.action.group.group.as_str() == format!("g{group}"))
            .map(|e| Message { id: "x".into(), segments: send_segments(&e.action.kind).to_vec() }.plain_text())
            .collect();
        assert_eq!(texts.len(), 25);
        for (n, text) in texts.iter().enumerate() {
            assert!(text.starts_with(&format!("欢迎 @成员{n} 加入")), "group {group}, join #{n} came out as {text}");
        }
    }
}

#[tokio::test]
async fn shutdown_lets_queued_events_finish_and_refuses_new_ones() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    let submits: Vec<_> = (0..50)
        .map(|n| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.submit(join("g1", &format!("e{n}"), &format!("u{n}"), "x")).await })
        })
        .collect();
    tokio::task::yield_now().await;
    engine.shutdown().await;
    let mut finished = 0;
    for submit in submits {
        if submit.await.unwrap().is_ok() {
            finished += 1;
        }
    }
    assert!(matches!(engine.submit(join("g1", "late", "u", "x")).await, Err(EngineError::ShuttingDown)));
    let decided = store.actions_after(&"shop".into(), 0, Utc::now(), 100).await.unwrap().len();
    assert_eq!(decided, finished, "every submit that returned Ok had its welcome committed");
    // Every accepted event is either decided or still pending for the next start: none lost.
    let mut accepted = 0;
    for n in 0..50 {
        let probe = join("g1", &format!("e{n}"), &format!("u{n}"), "x");
        if matches!(store.accept_event(&probe).await.unwrap(), qunzhu_core::store::Accepted::Duplicate { .. }) {
            accepted += 1;
        }
    }
    let pending = store.pending_events(100).await.unwrap().len() - (50 - accepted);
    assert_eq!(accepted, finished + pending);
}

#[tokio::test]
async fn events_left_unfinished_are_rerun_on_the_next_start() {
    let store = store_welcoming_at_once(Locale::ZhCn).await;
    // An event accepted by a previous run that stopped before processing it.
    store.accept_event(&join("g1", "e1", "u1", "小王")).await.unwrap();
    let connectors = HashMap::from([(ConnectorId::new("shop"), Capabilities::all())]);
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), connectors, EngineConfig::default()).await.unwrap();
    engine.shutdown().await;
    assert!(store.pending_events(10).await.unwrap().is_empty());
    assert_eq!(store.actions_after(&"shop".into(), 0, Utc::now(), 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn english_operators_get_english_welcomes_and_task_steps() {
    let store = store_welcoming_at_once(Locale::En).await;
    let connectors = HashMap::from([(ConnectorId::new("shop"), Capabilities::new([Capability::Reply]))]);
    let config = EngineConfig { locale: Locale::En, ..EngineConfig::default() };
    let engine = Engine::start(store, Arc::new(SystemClock), connectors, config).await.unwrap();
    let processed = engine.submit(join("g1", "e1", "u1", "Wang")).await.unwrap();
    assert!(processed.tasks[0].step.starts_with("In group “粉丝1群”, post:\nWelcome @Wang to 粉丝1群!"), "{}", processed.tasks[0].step);
}

#[tokio::test]
async fn a_renamed_group_is_stored_under_its_new_name_at_once() {
    let (engine, store) = engine_with(Capabilities::all()).await;
    engine.submit(join("g1", "e1", "u1", "小王")).await.unwrap();
    let mut renamed = join("g1", "e2", "u2", "小李");
    renamed.group_name = Some("粉丝1群（新）".into());
    let processed = engine.submit(renamed).await.unwrap();
    let text = Message { id: "x".into(), segments: send_segments(&processed.actions[0].kind).to_vec() }.plain_text();
    assert!(text.contains("粉丝1群（新）"), "{text}");
    let groups = store.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name.as_deref(), Some("粉丝1群（新）"));
}
