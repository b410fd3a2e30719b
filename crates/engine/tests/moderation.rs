//! Moderation end to end over the in-memory store: the default template catches an ad and
//! warns its sender, the ladder escalates across groups, and every penalty can be undone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::moderation::ViolationStatus;
use qunzhu_core::{
    Action, ActionKind, Capabilities, Capability, ConnectorId, Event, EventKind, ManualClock, Member, Message, Origin,
    Role, Segment, Store,
};
use qunzhu_engine::rulebook::DEFAULT_TEMPLATE;
use qunzhu_engine::{Engine, EngineConfig, Processed};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: std::sync::atomic::AtomicU32,
}

impl Harness {
    async fn new(capabilities: Capabilities) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()));
        let connectors = HashMap::from([(ConnectorId::new("shop"), capabilities)]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: Default::default() }
    }

    async fn submit(&self, group: &str, kind: EventKind) -> Processed {
        self.clock.advance(Duration::seconds(30));
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "shop".into(), group: group.into(), event_id: format!("e{n}").into() },
            group_name: Some(format!("群{group}")),
            time: self.clock_now(),
            kind,
        };
        self.engine.submit(event).await.unwrap()
    }

    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use qunzhu_core::Clock;
        self.clock.now()
    }

    async fn post(&self, group: &str, member: &Member, text: &str) -> Processed {
        let n = self.next.load(std::sync::atomic::Ordering::SeqCst);
        let message = Message::text(format!("m{n}"), text);
        self.submit(group, EventKind::MessagePosted { author: member.clone(), message }).await
    }

    async fn join(&self, group: &str, member: &Member) -> Processed {
        self.submit(group, EventKind::MemberJoined { member: member.clone(), inviter: None, invite_code: None, join_scene: None }).await
    }

    async fn set_ladder(&self, ladder: &[&str]) {
        let mut book = self.engine.rulebook().rulebook.clone();
        book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().moderation.ladder = ladder.iter().map(|s| (*s).to_owned()).collect();
        self.engine.save_rulebook(book, "test", "short ladder").await.unwrap();
    }
}

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(|a| a.kind.name()).collect()
}

fn text_of(action: &Action) -> String {
    match &action.kind {
        ActionKind::Send { segments } | ActionKind::DirectMessage { segments, .. } => {
            Message { id: "x".into(), segments: segments.clone() }.plain_text()
        }
        other => panic!("not a message: {other:?}"),
    }
}

#[tokio::test]
async fn with_zero_configuration_an_obvious_ad_is_deleted_and_its_sender_warned_by_name() {
    let h = Harness::new(Capabilities::all()).await;
    let spammer = Member::new("u9", "推广小妹");
    let processed = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&processed.actions), vec!["delete", "send"]);
    let warning = &processed.actions[1];
    let ActionKind::Send { segments } = &warning.kind else { unreachable!() };
    assert!(segments.contains(&Segment::Mention { member: "u9".into(), name: Some("推广小妹".into()) }));
    let warning_text = text_of(warning);
    assert!(["广告", "诈骗", "引流"].iter().any(|c| warning_text.contains(c)), "the warning names the category: {warning_text}");
    let violation = &processed.violations[0];
    assert_eq!(violation.actions.len(), 2);
    let checks: serde_json::Value = serde_json::from_str(&violation.checks).unwrap();
    let evidence = checks.to_string();
    assert!(evidence.contains("加微信") || evidence.contains("刷单"), "evidence names the word: {evidence}");
    let audit = h.store.list_audit(None, 20).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.rule.as_deref() == Some("moderate") && a.entry.detail.as_deref().is_some_and(|d| d.contains("checks"))));
}

#[tokio::test]
async fn ordinary_chat_and_staff_are_left_alone() {
    let h = Harness::new(Capabilities::all()).await;
    let parent = Member::new("u1", "乐乐妈妈");
    for text in ["今天的作业是第三页，明早交", "收到，谢谢老师", "微信支付可以吗？", "明天 8:30 在校门口集合", "大家加油！"] {
        let processed = h.post("g1", &parent, text).await;
        assert!(processed.actions.is_empty() && processed.violations.is_empty(), "{text} was flagged: {processed:?}");
    }
    let admin = Member { role: Role::Admin, ..Member::new("u0", "班主任") };
    assert!(h.post("g1", &admin, AD).await.actions.is_empty(), "staff are exempt");
}

#[tokio::test]
async fn the_ladder_escalates_across_groups_and_the_blacklist_keeps_them_out_everywhere() {
    let h = Harness::new(Capabilities::all()).await;
    h.set_ladder(&["delete+warn", "delete+mute:10m", "delete+kick", "delete+blacklist"]).await;
    let spammer = Member::new("u9", "推广小妹");
    h.join("g2", &spammer).await;
    let first = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&first.actions), vec!["delete", "send"]);
    let second = h.post("g2", &spammer, "兼职刷单，日赚五百，私聊我").await;
    assert_eq!(kinds(&second.actions), vec!["delete", "mute"], "violations count across groups");
    assert_eq!(second.actions[1].kind, ActionKind::Mute { member: "u9".into(), duration_secs: 600 });
    let third = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&third.actions), vec!["delete", "kick"]);
    let fourth = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&fourth.actions), vec!["delete", "ban", "ban"]);
    assert_eq!(fourth.actions[2].group.group.as_str(), "g2", "the blacklist reaches the other group they are in");
    assert!(h.store.blacklisted(&"shop".into(), &"u9".into()).await.unwrap().is_some());

    let rejoin = h.join("g3", &spammer).await;
    assert_eq!(kinds(&rejoin.actions), vec!["ban"], "no welcome, just the ban");
    let request = h
        .submit("g4", EventKind::JoinRequested { member: spammer.clone(), request_id: "r1".into(), comment: Some("想进群".into()) })
        .await;
    assert_eq!(kinds(&request.actions), vec!["reject_join"]);
}

#[tokio::test]
async fn old_violations_decay_out_of_the_ladder() {
    let h = Harness::new(Capabilities::all()).await;
    let spammer = Member::new("u9", "推广小妹");
    h.post("g1", &spammer, AD).await;
    h.clock.advance(Duration::days(31));
    let later = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&later.actions), vec!["delete", "send"], "a month later it is a first violation again");
}

#[tokio::test]
async fn a_platform_that_cannot_mute_skips_to_what_it_can_do() {
    let h = Harness::new(Capabilities::new([Capability::Send, Capability::Delete, Capability::Kick, Capability::Mention])).await;
    let spammer = Member::new("u9", "推广小妹");
    h.post("g1", &spammer, AD).await;
    let second = h.post("g1", &spammer, AD).await;
    assert_eq!(kinds(&second.actions), vec!["delete", "kick"]);
    assert!(second.tasks.is_empty());
}

#[tokio::test]
async fn where_nothing_can_be_done_the_penalty_becomes_staff_tasks() {
    let h = Harness::new(Capabilities::new([])).await;
    let processed = h.post("g1", &Member::new("u9", "推广小妹"), AD).await;
    assert!(processed.actions.is_empty());
    let titles: Vec<&str> = processed.tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, vec!["撤回消息", "代发群消息"]);
    assert!(processed.tasks[0].step.contains("原因："), "{}", processed.tasks[0].step);
}

#[tokio::test]
async fn dry_run_records_the_verdict_and_does_nothing() {
    let h = Harness::new(Capabilities::all()).await;
    let mut book = h.engine.rulebook().rulebook.clone();
    book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().moderation.dry_run = true;
    h.engine.save_rulebook(book, "test", "dry run").await.unwrap();
    let spammer = Member::new("u9", "推广小妹");
    let processed = h.post("g1", &spammer, AD).await;
    assert!(processed.actions.is_empty());
    assert_eq!(processed.violations.len(), 1);
    assert!(processed.violations[0].dry_run);
    assert_eq!(h.store.count_violations(&"shop".into(), &"u9".into(), Utc.timestamp_opt(0, 0).unwrap()).await.unwrap(), 0);
    let audit = h.store.list_audit(None, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.summary.starts_with("试运行")));
}

#[tokio::test]
async fn undo_lifts_a_mute_and_a_false_positive_teaches_the_classifier() {
    let h = Harness::new(Capabilities::all()).await;
    h.set_ladder(&["delete+mute:1h"]).await;
    let seller = Member::new("u5", "二手群友");
    let text = "出闲置婴儿车，九成新，价格好商量，电话 13812345678，私聊我";
    let processed = h.post("g1", &seller, text).await;
    assert_eq!(kinds(&processed.actions), vec!["delete", "mute"], "{:?}", processed.violations);
    let id = processed.violations[0].id.clone();
    let before = h.engine.spam_score(text);

    let undone = h.engine.undo_violation(&id, "operator:alice", true).await.unwrap();
    assert_eq!(kinds(&undone.actions), vec!["unmute"]);
    assert_eq!(undone.violation.unwrap().status, ViolationStatus::FalsePositive);
    assert!(h.engine.spam_score(text) < before, "the classifier learned the correction");
    assert_eq!(h.store.list_corrections().await.unwrap().len(), 1);
    assert!(h.engine.undo_violation(&id, "operator:alice", false).await.is_err(), "an undone violation cannot be undone twice");
    assert_eq!(h.store.count_violations(&"shop".into(), &"u5".into(), Utc.timestamp_opt(0, 0).unwrap()).await.unwrap(), 0);
}

#[tokio::test]
async fn undoing_a_blacklist_lifts_it_and_unbans_everywhere() {
    let h = Harness::new(Capabilities::all()).await;
    h.set_ladder(&["delete+blacklist"]).await;
    let member = Member::new("u9", "推广小妹");
    h.join("g2", &member).await;
    let processed = h.post("g1", &member, AD).await;
    let undone = h.engine.undo_violation(&processed.violations[0].id, "operator:bob", false).await.unwrap();
    let mut groups: Vec<String> = undone.actions.iter().map(|a| format!("{}:{}", a.kind.name(), a.group.group)).collect();
    groups.sort();
    assert_eq!(groups, vec!["unban:g1", "unban:g2"]);
    assert!(h.store.blacklisted(&"shop".into(), &"u9".into()).await.unwrap().is_none());
    let welcome_again = h.join("g3", &member).await;
    assert!(!kinds(&welcome_again.actions).contains(&"ban"), "no longer kept out");
    let owed = h.store.pending_welcomes(&qunzhu_core::GroupKey::new("shop", "g3")).await.unwrap();
    assert_eq!(owed.len(), 1, "and owed a welcome like any newcomer");
}

#[tokio::test]
async fn flooding_and_a_spam_wave_are_caught_by_behaviour() {
    let h = Harness::new(Capabilities::all()).await;
    let chatty = Member::new("u1", "话痨");
    let mut flagged = None;
    for i in 0..12 {
        // Nine messages within ten seconds (the harness's 30 s step is undone here).
        h.clock.advance(Duration::seconds(-29));
        let processed = h.post("g1", &chatty, &format!("哈哈哈 第{i}条")).await;
        if !processed.violations.is_empty() {
            flagged = Some((i, processed.violations[0].category.clone()));
            break;
        }
    }
    assert_eq!(flagged, Some((8, "flood".to_owned())), "the 9th message within 10 s is a flood");

    let wave = "点击领取新人红包，名额有限先到先得哦 t.cn/abc";
    let mut results = Vec::new();
    for (n, group) in ["g5", "g6", "g7"].iter().enumerate() {
        let member = Member::new(format!("w{n}"), format!("路人{n}"));
        let processed = h.post(group, &member, wave).await;
        results.push(processed.violations.first().map(|v| v.checks.contains("\"wave\"")).unwrap_or(false));
    }
    assert_eq!(results.last(), Some(&true), "the third member posting the same text makes a wave: {results:?}");
}

#[tokio::test]
async fn a_newcomer_sharing_a_link_is_stopped_but_a_regular_is_not() {
    let h = Harness::new(Capabilities::all()).await;
    let newcomer = Member::new("n1", "新人");
    h.join("g1", &newcomer).await;
    let link = "看看这个 https://shop.example.com/item/1";
    let processed = h.post("g1", &newcomer, link).await;
    assert!(!processed.violations.is_empty(), "newcomers are checked strictly");
    let regular = Member::new("r1", "老群友");
    assert!(h.post("g1", &regular, link).await.violations.is_empty(), "a member qunzhu never saw join is not a newcomer");
}
