//! Insight rollups end to end over the in-memory store with a manual clock: the weekly table
//! against hand-computed figures, deleted spam counted as a message and a violation, answers,
//! and a rebuild from the stored events giving the live figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use qunzhu_core::insight::{Granularity, Rollup};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Segment, Store};
use qunzhu_engine::insight::{self, LifeStage};
use qunzhu_engine::{Engine, EngineConfig};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

/// Monday 2026-06-15, 10:00 in Shanghai.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

fn group() -> GroupKey {
    GroupKey::new("qq", "g1")
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: AtomicU32::new(0) }
    }

    async fn submit(&self, kind: EventKind) -> String {
        self.clock.advance(Duration::seconds(60));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: format!("e{n}").into() },
            group_name: Some("家长群".into()),
            time: self.clock.now(),
            kind,
        };
        self.engine.submit(event).await.unwrap();
        format!("m{n}")
    }

    async fn join(&self, who: &Member) {
        self.submit(EventKind::MemberJoined { member: who.clone(), inviter: None, invite_code: None, join_scene: None }).await;
    }

    async fn leave(&self, who: &Member) {
        self.submit(EventKind::MemberLeft { member: who.clone(), removed_by: None }).await;
    }

    async fn say(&self, who: &Member, segments: Vec<Segment>) -> String {
        let n = self.next.load(Ordering::SeqCst);
        let id = format!("m{n}");
        self.submit(EventKind::MessagePosted { author: who.clone(), message: Message { id: id.clone().into(), segments } }).await;
        id
    }

    async fn post(&self, who: &Member, text: &str) -> String {
        self.say(who, vec![Segment::text(text)]).await
    }

    fn week(&self, n: i64) {
        self.clock.set(start() + Duration::weeks(n));
    }

    async fn rows(&self, granularity: Granularity) -> Vec<Rollup> {
        self.store.insight_rollups(&group(), granularity, i64::MIN, i64::MAX).await.unwrap()
    }
}

/// Three weeks: week 1 a, b, c join; a posts 3, b asks, c answers by reply (5 messages);
/// week 2 d joins, c leaves, a posts 2, d posts 1; week 3 a posts once.
async fn three_weeks(h: &Harness) {
    let (a, b, c, d) = (Member::new("a", "小安"), Member::new("b", "小白"), Member::new("c", "小陈"), Member::new("d", "小丁"));
    for m in [&a, &b, &c] {
        h.join(m).await;
    }
    for text in ["早上好", "今天作业发了", "明天见"] {
        h.post(&a, text).await;
    }
    let question = h.post(&b, "请问明天几点放学").await;
    h.say(&c, vec![Segment::Reply { message_id: question.into() }, Segment::text("四点半")]).await;
    h.week(1);
    h.join(&d).await;
    h.leave(&c).await;
    h.post(&a, "周末有活动").await;
    h.post(&a, "记得带水").await;
    h.post(&d, "大家好，我是新来的").await;
    h.week(2);
    h.post(&a, "收到").await;
}

#[tokio::test]
async fn the_weekly_table_matches_hand_computed_figures() {
    let h = Harness::new().await;
    three_weeks(&h).await;
    let today = NaiveDate::from_ymd_opt(2026, 6, 29).unwrap();
    let table = insight::weekly_table(h.store.as_ref(), &group(), today, 3).await.unwrap();
    let figures: Vec<_> = table
        .iter()
        .map(|w| (w.week_start.to_string(), w.members, w.active, w.silent_pct, w.messages, w.joins, w.leaves, w.questions, w.answers))
        .collect();
    assert_eq!(
        figures,
        vec![
            ("2026-06-15".to_owned(), 3, 3, 0.0, 5, 3, 0, 1, 1),
            ("2026-06-22".to_owned(), 3, 2, 33.3, 3, 1, 1, 0, 0),
            ("2026-06-29".to_owned(), 3, 1, 66.7, 1, 0, 0, 0, 0),
        ]
    );
    let changes: Vec<_> = table.iter().map(|w| (w.messages_change_pct, w.active_change_pct)).collect();
    assert_eq!(changes, vec![(None, None), (Some(-40.0), Some(-33.3)), (Some(-66.7), Some(-50.0))]);
}

#[tokio::test]
async fn deleted_spam_counts_as_a_message_and_a_violation() {
    let h = Harness::new().await;
    let spammer = Member::new("s", "推广");
    h.join(&spammer).await;
    h.post(&spammer, AD).await;
    let rows = h.rows(Granularity::Day).await;
    let group_row = rows.iter().find(|r| r.member.is_none()).unwrap();
    assert_eq!((group_row.counts.messages, group_row.counts.violations, group_row.counts.joins), (1, 1, 1));
}

#[tokio::test]
async fn a_mention_of_a_recent_asker_is_an_answer_but_answering_yourself_is_not() {
    let h = Harness::new().await;
    let (a, b) = (Member::new("a", "小安"), Member::new("b", "小白"));
    let own = h.post(&a, "有没有人知道报名截止时间").await;
    h.say(&a, vec![Segment::Reply { message_id: own.into() }, Segment::text("找到了")]).await;
    h.say(&b, vec![Segment::Mention { member: a.id.clone(), name: Some("小安".into()) }, Segment::text(" 周五截止")]).await;
    let rows = h.rows(Granularity::Day).await;
    let answers: Vec<_> = rows.iter().filter(|r| r.member.is_some()).map(|r| (r.member.clone().unwrap().to_string(), r.counts.answers)).collect();
    assert_eq!(answers, vec![("a".to_owned(), 0), ("b".to_owned(), 1)]);
}

#[tokio::test]
async fn a_rebuild_from_the_stored_events_gives_the_live_figures() {
    let h = Harness::new().await;
    three_weeks(&h).await;
    let spammer = Member::new("s", "推广");
    h.post(&spammer, AD).await;
    h.post(&Member::new("a", "小安"), "签到").await;
    let (days, hours) = (h.rows(Granularity::Day).await, h.rows(Granularity::Hour).await);
    assert!(days.iter().any(|r| r.counts.check_ins == 1), "the check-in is counted: {days:?}");
    assert!(days.iter().any(|r| r.counts.violations == 1), "the spam is counted: {days:?}");
    let report = insight::rebuild(h.store.as_ref(), &h.engine.rulebook()).await.unwrap();
    assert_eq!(report.tallies, 16);
    assert_eq!(h.rows(Granularity::Day).await, days);
    assert_eq!(h.rows(Granularity::Hour).await, hours);
}

#[tokio::test]
async fn a_group_whose_messages_fall_by_half_is_cooling_and_a_quiet_one_dormant() {
    let h = Harness::new().await;
    let a = Member::new("a", "小安");
    for _ in 0..30 {
        h.post(&a, "讨论一下").await;
    }
    h.week(2);
    for _ in 0..5 {
        h.post(&a, "嗯").await;
    }
    let today = NaiveDate::from_ymd_opt(2026, 7, 3).unwrap();
    let (stage, _) = insight::group_life_stage(h.store.as_ref(), &group(), today).await.unwrap();
    assert_eq!(stage, LifeStage::Cooling);
    let later = NaiveDate::from_ymd_opt(2026, 7, 24).unwrap();
    assert_eq!(insight::group_life_stage(h.store.as_ref(), &group(), later).await.unwrap().0, LifeStage::Dormant);
}
