//! The cooling alert on a manual clock: the daily life-stage check alerts staff once when the
//! group turns to cooling, not again while it stays cooling (a second scan, a restarted
//! engine), and again after it left cooling and re-entered it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Segment, Store};
use qunzhu_engine::{Engine, EngineConfig};

/// Monday 2026-06-15, 00:00 in Shanghai.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 14, 16, 0, 0).unwrap()
}

fn group() -> GroupKey {
    GroupKey::new("qq", "g1")
}

async fn engine(store: &Arc<MemoryStore>, clock: &Arc<ManualClock>) -> Engine {
    let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
    Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap()
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// `n` messages by five members, at 12:00 local on `day`.
async fn chat(engine: &Engine, clock: &ManualClock, day: i64, n: usize) {
    clock.set(monday() + Duration::days(day) + Duration::hours(12));
    for i in 0..n {
        let k = NEXT.fetch_add(1, Ordering::SeqCst);
        let who = Member::new(format!("m{}", i % 5).as_str(), "成员");
        let event = Event {
            origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: format!("e{k}").into() },
            group_name: Some("家长群".into()),
            time: clock.now() + Duration::seconds(i as i64),
            kind: EventKind::MessagePosted { author: who, message: Message { id: format!("m{k}").into(), segments: vec![Segment::text("今天的作业")] } },
        };
        engine.submit(event).await.unwrap();
    }
}

/// The cooling alerts in the outbox.
async fn alerts(store: &MemoryStore) -> Vec<String> {
    let entries = store.actions_after(&ConnectorId::new("qq"), 0, monday() + Duration::days(1000), 10_000).await.unwrap();
    entries
        .into_iter()
        .filter(|e| e.action.rule == "life_stage")
        .map(|e| match e.action.kind {
            ActionKind::NotifyStaff { text } => text,
            other => panic!("the life-stage rule only alerts staff: {other:?}"),
        })
        .collect()
}

/// The day's check at 10:00 local.
async fn check(engine: &Engine, clock: &ManualClock, day: i64) {
    clock.set(monday() + Duration::days(day) + Duration::hours(10));
    let report = engine.run_due(clock.now()).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Weeks 0–3: 15 messages a week; weeks 4–5: one a week; weeks 6–9 busy again; 10–11 quiet.
fn messages_on(day: i64) -> usize {
    if day % 7 != 0 {
        return 0;
    }
    match day / 7 {
        0..=3 | 6..=9 => 15,
        _ => 1,
    }
}

#[tokio::test]
async fn turning_to_cooling_alerts_staff_once_per_transition_across_scans_and_restarts() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(monday()));
    let mut engine = engine(&store, &clock).await;
    let mut stages = Vec::new();
    for day in 0..84 {
        check(&engine, &clock, day).await;
        let stage = store.life_stage_record(&group()).await.unwrap().map(|r| r.stage);
        stages.push((day, stage.clone()));
        if day == 35 {
            assert_eq!(stage.as_deref(), Some("cooling"), "the Monday after the first quiet week: {stages:?}");
            assert_eq!(alerts(&store).await.len(), 1, "{stages:?}");
            // A second scan the same day, and a restarted engine, alert nothing more.
            check(&engine, &clock, day).await;
            engine.shutdown().await;
            engine = self::engine(&store, &clock).await;
            check(&engine, &clock, day).await;
            assert_eq!(alerts(&store).await.len(), 1);
        }
        let n = messages_on(day);
        if n > 0 {
            chat(&engine, &clock, day, n).await;
        }
    }
    let days_cooling: Vec<i64> = stages.iter().filter(|(_, s)| s.as_deref() == Some("cooling")).map(|(d, _)| *d).collect();
    let entries: Vec<i64> = stages
        .windows(2)
        .filter(|w| w[1].1.as_deref() == Some("cooling") && w[0].1.as_deref() != Some("cooling"))
        .map(|w| w[1].0)
        .collect();
    assert!(days_cooling.len() > entries.len(), "it stays cooling for days: {stages:?}");
    assert_eq!(entries, vec![35, 77], "{stages:?}");
    assert_eq!(entries.len(), 2, "left cooling and entered it again: {stages:?}");
    let texts = alerts(&store).await;
    assert_eq!(texts.len(), 2, "one alert per transition: {stages:?}");
    assert!(texts[0].contains("进入冷却期") && texts[0].contains("近两周消息 16 条，之前两周 30 条"), "{}", texts[0]);
}

#[tokio::test]
async fn no_check_runs_for_a_young_group_before_the_check_hour_or_when_turned_off() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(monday()));
    let engine = engine(&store, &clock).await;
    chat(&engine, &clock, 0, 3).await;
    clock.set(monday() + Duration::days(13) + Duration::hours(10));
    assert_eq!(engine.run_due(clock.now()).await.ticks, 0, "a group seen for 13 days is new: no tick");
    clock.set(monday() + Duration::days(15) + Duration::hours(8));
    engine.run_due(clock.now()).await;
    assert!(store.life_stage_record(&group()).await.unwrap().is_none(), "08:00 is before check_hour 9");
    clock.set(monday() + Duration::days(15) + Duration::hours(9));
    engine.run_due(clock.now()).await;
    let record = store.life_stage_record(&group()).await.unwrap().unwrap();
    assert_eq!(record.checked_on.to_string(), "2026-06-30");

    let mut rulebook = engine.rulebook().rulebook.clone();
    rulebook.templates.get_mut("default").unwrap().life_stage.alert_cooling = false;
    engine.save_rulebook(rulebook, "test", "no cooling alert").await.unwrap();
    clock.set(monday() + Duration::days(16) + Duration::hours(10));
    engine.run_due(clock.now()).await;
    let record = store.life_stage_record(&group()).await.unwrap().unwrap();
    assert_eq!(record.checked_on.to_string(), "2026-06-30", "turned off: not checked");
}
