//! Sign-up lists (接龙) end to end over the in-memory store with a manual clock: started by a
//! command or the API, filled by keyword, throttled re-posts coalesced at their tick, closed
//! when full, at their time or early.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::signup::{CloseReason, SignupStatus};
use qunzhu_core::{Action, ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Role, Store};
use qunzhu_engine::giveaways::GiveawayError;
use qunzhu_engine::rulebook::DEFAULT_TEMPLATE;
use qunzhu_engine::rules::signup::Starter;
use qunzhu_engine::{Engine, EngineConfig, Processed};

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

/// 2026-06-18 10:00 in Shanghai.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 18, 2, 0, 0).unwrap()
}

fn admin() -> Member {
    Member { role: Role::Admin, ..Member::new("admin", "群管小周") }
}

fn member(n: u32) -> Member {
    Member::new(format!("u{n}"), format!("成员{n}"))
}

fn group() -> GroupKey {
    GroupKey::new("shop", "g1")
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("shop"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: AtomicU32::new(0) }
    }

    async fn configure(&self, change: impl FnOnce(&mut qunzhu_engine::rules::signup::SignupSettings)) {
        let mut book = self.engine.rulebook().rulebook.clone();
        change(&mut book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().signup);
        self.engine.save_rulebook(book, "test", "signup settings").await.unwrap();
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    async fn say(&self, who: &Member, text: &str) -> Processed {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "shop".into(), group: "g1".into(), event_id: format!("e{n}").into() },
            group_name: Some("羽毛球群".into()),
            time: self.clock.now(),
            kind: EventKind::MessagePosted { author: who.clone(), message: Message::text(format!("m{n}"), text) },
        };
        self.engine.submit(event).await.unwrap()
    }

    async fn ticks(&self) -> usize {
        self.engine.run_due(self.clock.now()).await.ticks
    }

    async fn open_id(&self) -> String {
        self.store.open_signup(&group()).await.unwrap().expect("an open list").id
    }
}

fn text_of(action: &Action) -> String {
    match &action.kind {
        ActionKind::Send { segments } | ActionKind::Reply { segments, .. } => Message { id: "x".into(), segments: segments.clone() }.plain_text(),
        other => panic!("not a message: {other:?}"),
    }
}

/// The posted lists (sends) of what was decided.
fn posts(processed: &Processed) -> Vec<String> {
    processed.actions.iter().filter(|a| matches!(a.kind, ActionKind::Send { .. })).map(text_of).collect()
}

fn replies(processed: &Processed) -> Vec<String> {
    processed.actions.iter().filter(|a| matches!(a.kind, ActionKind::Reply { .. })).map(text_of).collect()
}

#[tokio::test]
async fn a_list_fills_and_closes_at_its_limit_with_a_final_post() {
    let h = Harness::new().await;
    let started = h.say(&admin(), "#接龙 周六羽毛球 限3人").await;
    let post = &posts(&started)[0];
    assert!(post.starts_with("📋 接龙：周六羽毛球\n（还没有人）\n已报 0/3 人\n发送「接龙」参加"), "{post}");
    assert_eq!(started.actions[0].rule, "signup");

    h.advance(60);
    let first = h.say(&member(1), "接龙").await;
    assert!(posts(&first)[0].contains("1. 成员1\n已报 1/3 人"), "{:?}", posts(&first));
    h.advance(60);
    let second = h.say(&member(2), "报名 带2人").await;
    assert!(posts(&second)[0].contains("1. 成员1\n2. 成员2（带2人）\n已报 2/3 人"), "{:?}", posts(&second));
    h.advance(60);
    let full = h.say(&member(3), "+1").await;
    assert_eq!(posts(&full), ["✅ 接龙结束：周六羽毛球（已满）\n1. 成员1\n2. 成员2（带2人）\n3. 成员3\n共 3 人"]);

    let signup = h.store.list_signups(Some(&group()), None, 1).await.unwrap().remove(0);
    assert_eq!((signup.status, signup.close_reason, signup.closed_by.as_deref()), (SignupStatus::Closed, Some(CloseReason::Full), Some("engine")));
    assert_eq!(h.store.signup_entries(&signup.id).await.unwrap().len(), 3);

    // A latecomer is told kindly, and no one is added.
    h.advance(60);
    let late = h.say(&member(4), "接龙").await;
    assert_eq!(replies(&late), ["@成员4 接龙「周六羽毛球」已经结束了，下次早点哦～"]);
    assert_eq!(h.store.signup_entries(&signup.id).await.unwrap().len(), 3);
    // Long after, `+1` is ordinary chat again.
    h.advance(7200);
    assert!(h.say(&member(4), "+1").await.actions.is_empty());
}

#[tokio::test]
async fn a_member_withdraws_and_joining_again_puts_them_at_the_end() {
    let h = Harness::new().await;
    h.configure(|s| s.repost_throttle_secs = 0).await;
    h.say(&admin(), "#接龙 聚餐").await;
    for n in 1..=3 {
        h.say(&member(n), "接龙").await;
    }
    let withdrawn = h.say(&member(1), "取消接龙").await;
    assert!(posts(&withdrawn)[0].contains("1. 成员2\n2. 成员3\n已报 2 人"), "{:?}", posts(&withdrawn));
    assert!(h.say(&member(1), "取消接龙").await.actions.is_empty(), "withdrawing twice changes nothing");
    let back = h.say(&member(1), "接龙 晚点到").await;
    assert!(posts(&back)[0].contains("1. 成员2\n2. 成员3\n3. 成员1（晚点到）"), "{:?}", posts(&back));
    assert!(h.say(&member(2), "接龙").await.actions.is_empty(), "joining twice changes nothing");
    let note = h.say(&member(2), "接龙 带家属").await;
    assert!(posts(&note)[0].contains("1. 成员2（带家属）"), "a new note keeps the place: {:?}", posts(&note));
}

#[tokio::test]
async fn changes_within_the_throttle_coalesce_into_one_re_post_at_its_tick() {
    let h = Harness::new().await;
    h.say(&admin(), "#接龙 周末爬山").await; // posted at 10:00:00; throttle 60 s
    for n in 1..=4 {
        h.advance(10);
        let joined = h.say(&member(n), "+1").await;
        assert!(joined.actions.is_empty(), "no re-post within the throttle");
    }
    h.advance(5); // 10:00:45 — nothing is due yet
    assert_eq!(h.ticks().await, 0);
    h.advance(15); // 10:01:00
    assert_eq!(h.ticks().await, 1, "one tick for the re-post");
    let audit = h.store.list_audit(Some(&group()), 5).await.unwrap();
    let posted = h.store.due_actions(&"shop".into(), h.clock.now(), 50).await.unwrap();
    let last = posted.last().unwrap();
    assert!(text_of(&last.action).contains("1. 成员1\n2. 成员2\n3. 成员3\n4. 成员4\n已报 4 人"), "{}", text_of(&last.action));
    assert!(audit.iter().any(|a| a.entry.summary.contains("合并节流期间的变化")), "the audit says why");
    assert_eq!(posted.iter().filter(|e| e.action.rule == "signup").count(), 2, "the start and one coalesced re-post");

    // The tick is not repeated, however often the scheduler scans.
    assert_eq!(h.ticks().await, 0);
    h.advance(60);
    assert_eq!(h.ticks().await, 0);
    // After the throttle, a change is posted at once again.
    let fifth = h.say(&member(5), "+1").await;
    assert_eq!(posts(&fifth).len(), 1);
}

#[tokio::test]
async fn a_list_closes_at_its_time_with_a_final_post() {
    let h = Harness::new().await;
    h.say(&admin(), "#接龙 团购水果 截止 12:00").await;
    h.advance(30);
    assert!(h.say(&member(1), "接龙 2箱").await.actions.is_empty(), "within the throttle");
    let id = h.open_id().await;
    assert_eq!(h.store.get_signup(&id).await.unwrap().unwrap().closes_at, Some(start() + Duration::hours(2)));
    h.clock.set(start() + Duration::hours(2) - Duration::seconds(1));
    assert_eq!(h.ticks().await, 1, "the pending re-post came due first");
    h.clock.set(start() + Duration::hours(2));
    assert_eq!(h.ticks().await, 1);
    let signup = h.store.get_signup(&id).await.unwrap().unwrap();
    assert_eq!(signup.close_reason, Some(CloseReason::Time));
    let due = h.store.due_actions(&"shop".into(), h.clock.now(), 50).await.unwrap();
    assert_eq!(text_of(&due.last().unwrap().action), "✅ 接龙结束：团购水果（已到截止时间）\n1. 成员1（2箱）\n共 1 人");
    assert!(h.say(&member(2), "接龙").await.actions.iter().all(|a| matches!(a.kind, ActionKind::Reply { .. })));
    assert_eq!(h.store.signup_entries(&id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn who_may_start_and_close_a_list() {
    let h = Harness::new().await;
    let refused = h.say(&member(1), "#接龙 我的活动").await;
    assert_eq!(replies(&refused), ["@成员1 只有管理员或发起人可以发起或结束接龙"]);
    assert!(h.store.open_signup(&group()).await.unwrap().is_none());

    h.configure(|s| s.who_may_start = Starter::Everyone).await;
    h.say(&member(1), "#接龙 我的活动").await;
    let again = h.say(&admin(), "#接龙 另一个").await;
    assert_eq!(replies(&again), ["@群管小周 接龙「我的活动」还在进行中，请先结束它再发起新的"]);
    let stranger = h.say(&member(2), "#结束接龙").await;
    assert_eq!(replies(&stranger).len(), 1, "only staff or the starter may close it");
    assert!(h.store.open_signup(&group()).await.unwrap().is_some());
    let closed = h.say(&member(1), "#结束接龙").await;
    assert_eq!(posts(&closed), ["✅ 接龙结束：我的活动（提前结束）\n（还没有人）\n共 0 人"]);
    assert_eq!(h.store.list_signups(None, None, 1).await.unwrap()[0].closed_by.as_deref(), Some("member:u1"));
}

#[tokio::test]
async fn a_malformed_command_is_answered_with_its_form() {
    let h = Harness::new().await;
    let answer = h.say(&admin(), "#接龙 限20人").await;
    assert_eq!(replies(&answer), ["接龙需要一个标题。格式：#接龙 标题 [限20人] [截止 20:00]"]);
    let past = h.say(&admin(), "#signup Picnic until 2026-06-01 10:00").await;
    assert!(replies(&past)[0].contains("has passed") || replies(&past)[0].contains("已经过去"), "{:?}", replies(&past));
    assert!(h.store.open_signup(&group()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_ad_with_the_keyword_never_joins_the_list() {
    let h = Harness::new().await;
    h.configure(|s| s.repost_throttle_secs = 0).await;
    h.say(&admin(), "#接龙 周六羽毛球").await;
    let spam = h.say(&member(9), "接龙 加薇信 abc12345，兼职刷单日赚三百").await;
    assert!(spam.actions.iter().all(|a| a.rule == "moderate"), "moderation acted; the list did not: {:?}", spam.actions);
    assert!(h.store.signup_entries(&h.open_id().await).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_api_starts_and_closes_lists_through_the_pipeline() {
    let h = Harness::new().await;
    let closes = start() + Duration::hours(3);
    let (signup, processed) = h.engine.start_signup(&group(), "  周六羽毛球 ", Some(10), Some(closes), "operator:alice").await.unwrap();
    assert_eq!((signup.title.as_str(), signup.limit, signup.closes_at), ("周六羽毛球", Some(10), Some(closes)));
    assert_eq!(signup.started_by, "operator:alice");
    assert!(posts(&processed)[0].contains("已报 0/10 人 · 截止 6月18日 13:00"), "{:?}", posts(&processed));

    let again = h.engine.start_signup(&group(), "另一个", None, None, "operator:alice").await.unwrap_err();
    assert!(matches!(again, GiveawayError::Conflict(_)), "{again:?}");
    let bad = h.engine.start_signup(&GroupKey::new("shop", "g2"), " ", None, None, "operator:alice").await.unwrap_err();
    assert!(matches!(bad, GiveawayError::Invalid { field: "title", .. }), "{bad:?}");
    let bad = h.engine.start_signup(&GroupKey::new("shop", "g2"), "t", Some(0), None, "operator:alice").await.unwrap_err();
    assert!(matches!(bad, GiveawayError::Invalid { field: "limit", .. }), "{bad:?}");
    let bad = h.engine.start_signup(&GroupKey::new("shop", "g2"), "t", None, Some(start()), "operator:alice").await.unwrap_err();
    assert!(matches!(bad, GiveawayError::Invalid { field: "closes_at", .. }), "{bad:?}");
    let bad = h.engine.start_signup(&GroupKey::new("nope", "g2"), "t", None, None, "operator:alice").await.unwrap_err();
    assert!(matches!(bad, GiveawayError::Invalid { field: "group", .. }), "{bad:?}");

    h.advance(60);
    h.say(&member(1), "接龙").await;
    let (closed, processed) = h.engine.close_signup(&signup.id, "operator:bob").await.unwrap();
    assert_eq!((closed.close_reason, closed.closed_by.as_deref()), (Some(CloseReason::Manual), Some("operator:bob")));
    assert_eq!(posts(&processed), ["✅ 接龙结束：周六羽毛球（提前结束）\n1. 成员1\n共 1 人"]);
    assert!(matches!(h.engine.close_signup(&signup.id, "operator:bob").await.unwrap_err(), GiveawayError::Conflict(_)));
    assert!(matches!(h.engine.close_signup("sg-none", "operator:bob").await.unwrap_err(), GiveawayError::NotFound(_)));
}
