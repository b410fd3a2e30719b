//! The care rule's baseline outbreak rule through the pipeline, with the trailing 7 days
//! counted by the store (not read line by line): two upset members are an outbreak only
//! against a calm week, and lines older than the week do not count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, ManualClock, Member, Message, Origin, Segment, Store};
use qunzhu_engine::{Engine, EngineConfig};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: AtomicU32::new(0) }
    }

    async fn post(&self, who: &str, text: &str) {
        self.clock.advance(Duration::seconds(30));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: format!("e{n}").into() },
            group_name: Some("家长群".into()),
            time: self.clock.now(),
            kind: EventKind::MessagePosted {
                author: Member::new(who, who),
                message: Message { id: format!("m{n}").into(), segments: vec![Segment::text(text)] },
            },
        };
        self.engine.submit(event).await.unwrap();
    }

    /// 60 calm lines from ten members, `days_ago` days before the complaints.
    async fn calm_week(&self, days_ago: i64) {
        self.clock.set(start() + Duration::days(10) - Duration::days(days_ago));
        for i in 0..60 {
            self.post(&format!("p{}", i % 10), "收到，谢谢老师").await;
        }
    }

    async fn complaints(&self) {
        self.clock.set(start() + Duration::days(10));
        for (who, text) in [("a", "太坑了，退钱"), ("b", "什么破课，气死了"), ("a", "太差劲了，退钱"), ("b", "垃圾，骗子"), ("a", "太失望了，烂透了")] {
            self.post(who, text).await;
        }
    }

    async fn outbreak_alerts(&self) -> usize {
        let entries = self.store.actions_after(&ConnectorId::new("qq"), 0, start() + Duration::days(100), 1000).await.unwrap();
        entries
            .iter()
            .filter(|e| e.action.rule == "care" && matches!(&e.action.kind, ActionKind::NotifyStaff { text } if text.contains("负面")))
            .count()
    }
}

#[tokio::test]
async fn two_upset_members_after_a_calm_week_are_an_outbreak_by_the_baseline() {
    let h = Harness::new().await;
    h.calm_week(3).await;
    h.complaints().await;
    assert_eq!(h.outbreak_alerts().await, 1);
}

#[tokio::test]
async fn two_upset_members_without_a_week_of_history_are_no_outbreak() {
    let h = Harness::new().await;
    h.complaints().await;
    assert_eq!(h.outbreak_alerts().await, 0);
}

#[tokio::test]
async fn lines_older_than_the_trailing_week_are_no_baseline() {
    let h = Harness::new().await;
    h.calm_week(9).await;
    h.complaints().await;
    assert_eq!(h.outbreak_alerts().await, 0);
}
