//! Member profiles' automatic tags (核心, 沉默, 新人, 违规) over the in-memory store with a
//! manual clock: each tag appears and goes away as its documented rule says, and search by
//! an automatic tag finds the members across groups.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, MemberId, Message, Origin, Segment};
use qunzhu_engine::profiles::{NEW_DAYS, Profile, Profiler, SILENT_DAYS, VIOLATION_DAYS};
use qunzhu_engine::{Engine, EngineConfig};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

struct Harness {
    engine: Engine,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

/// Monday 2026-06-15, 10:00 in Shanghai.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
        let engine = Engine::start(store, clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, clock, next: AtomicU32::new(0) }
    }

    async fn submit(&self, group: &str, kind: EventKind) {
        self.clock.advance(Duration::seconds(60));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "qq".into(), group: group.into(), event_id: format!("e{n}").into() },
            group_name: Some("家长群".into()),
            time: self.clock.now(),
            kind,
        };
        self.engine.submit(event).await.unwrap();
    }

    async fn join(&self, group: &str, who: &Member) {
        self.submit(group, EventKind::MemberJoined { member: who.clone(), inviter: None, invite_code: None, join_scene: None }).await;
    }

    async fn post(&self, group: &str, who: &Member, text: &str) {
        let n = self.next.load(Ordering::SeqCst);
        let message = Message { id: format!("m{n}").into(), segments: vec![Segment::text(text)] };
        self.submit(group, EventKind::MessagePosted { author: who.clone(), message }).await;
    }

    async fn profile(&self, member: &str) -> Profile {
        let rulebook = self.engine.rulebook();
        let mut profiler = Profiler::new(self.engine.store().as_ref(), &rulebook, self.clock.now());
        profiler.profile(&ConnectorId::new("qq"), &MemberId::new(member)).await.unwrap().unwrap()
    }

    async fn tags(&self, member: &str) -> Vec<&'static str> {
        self.profile(member).await.auto_tags
    }

    async fn search(&self, tag: &str, group: Option<&GroupKey>) -> Vec<String> {
        let rulebook = self.engine.rulebook();
        let mut profiler = Profiler::new(self.engine.store().as_ref(), &rulebook, self.clock.now());
        let (found, total) = profiler.search(Some(tag), group, None, 0, 100).await.unwrap();
        assert_eq!(found.len(), total);
        found.into_iter().map(|p| p.profile.member.to_string()).collect()
    }
}

#[tokio::test]
async fn a_newcomer_is_new_for_seven_days_then_silent_after_fourteen_quiet_days() {
    let h = Harness::new().await;
    let a = Member::new("a", "小安");
    h.join("g1", &a).await;
    assert_eq!(h.tags("a").await, vec!["新人"]);
    h.clock.advance(Duration::days(NEW_DAYS) - Duration::minutes(5));
    assert_eq!(h.tags("a").await, vec!["新人"], "still within the newcomer days");
    h.clock.advance(Duration::minutes(10));
    assert!(h.tags("a").await.is_empty(), "no longer new, not yet silent: {:?}", h.tags("a").await);
    h.clock.set(start() + Duration::days(SILENT_DAYS) + Duration::minutes(5));
    assert_eq!(h.tags("a").await, vec!["沉默"], "fourteen days without a message");
}

#[tokio::test]
async fn a_member_becomes_silent_fourteen_local_days_after_their_last_message_and_speaking_clears_it() {
    let h = Harness::new().await;
    let (a, b) = (Member::new("a", "小安"), Member::new("b", "小白"));
    h.join("g1", &a).await;
    h.join("g1", &b).await;
    h.clock.set(start() + Duration::days(20));
    h.post("g1", &a, "大家好").await;
    h.post("g1", &b, "早").await;
    h.clock.set(start() + Duration::days(20 + SILENT_DAYS - 1));
    assert!(!h.tags("a").await.contains(&"沉默"), "thirteen days after: {:?}", h.tags("a").await);
    h.clock.set(start() + Duration::days(20 + SILENT_DAYS));
    assert!(h.tags("a").await.contains(&"沉默"), "fourteen days after: {:?}", h.tags("a").await);
    h.post("g1", &a, "我回来了").await;
    assert!(!h.tags("a").await.contains(&"沉默"));
    assert_eq!(h.search("沉默", None).await, vec!["b"]);
}

#[tokio::test]
async fn the_most_engaged_members_are_core_and_the_tag_follows_the_28_day_window() {
    let h = Harness::new().await;
    let members: Vec<Member> = (0..10).map(|i| Member::new(format!("m{i}").as_str(), format!("成员{i}").as_str())).collect();
    for m in &members {
        h.join("g1", m).await;
    }
    for day in 0..5 {
        h.clock.set(start() + Duration::days(day) + Duration::hours(1));
        for _ in 0..4 {
            h.post("g1", &members[0], "今天的作业大家看了吗").await;
        }
        h.post("g1", &members[1], "看了").await;
        h.post("g1", &members[2], "收到").await;
    }
    h.post("g1", &members[3], "好的").await;
    assert!(h.tags("m0").await.contains(&"核心"));
    assert!(!h.tags("m9").await.contains(&"核心"));
    let core = h.search("核心", None).await;
    assert!(core.len() >= 3 && core.len() <= 7 && core.contains(&"m0".to_owned()), "{core:?}");
    h.clock.set(start() + Duration::days(40));
    assert!(!h.tags("m0").await.contains(&"核心"), "nothing in the last 28 days");
}

#[tokio::test]
async fn a_violation_tags_the_member_for_thirty_days_in_every_group() {
    let h = Harness::new().await;
    let s = Member::new("s", "广告哥");
    h.join("g1", &s).await;
    h.join("g2", &s).await;
    h.clock.advance(Duration::days(10));
    h.post("g1", &s, AD).await;
    let profile = h.profile("s").await;
    assert!(profile.auto_tags.contains(&"违规"), "{:?}", profile.auto_tags);
    assert_eq!((profile.violations.total, profile.violations.recent), (1, 1));
    assert_eq!(h.search("违规", Some(&GroupKey::new("qq", "g2"))).await, vec!["s"]);
    h.clock.advance(Duration::days(VIOLATION_DAYS) + Duration::hours(1));
    let profile = h.profile("s").await;
    assert!(!profile.auto_tags.contains(&"违规"), "{:?}", profile.auto_tags);
    assert_eq!((profile.violations.total, profile.violations.recent), (1, 0));
}

#[tokio::test]
async fn search_by_tag_can_be_limited_to_one_group() {
    let h = Harness::new().await;
    let (a, b) = (Member::new("a", "小安"), Member::new("b", "小白"));
    h.join("g1", &a).await;
    h.clock.advance(Duration::days(NEW_DAYS + 1));
    h.join("g2", &a).await;
    h.join("g2", &b).await;
    assert_eq!(h.search("新人", None).await, vec!["a", "b"]);
    assert!(h.search("新人", Some(&GroupKey::new("qq", "g1"))).await.is_empty());
    assert_eq!(h.search("新人", Some(&GroupKey::new("qq", "g2"))).await, vec!["a", "b"]);
    let profile = h.profile("a").await;
    let g1 = profile.group_facts.iter().find(|g| g.group == GroupKey::new("qq", "g1")).unwrap();
    assert!(g1.auto_tags.is_empty(), "{:?}", g1.auto_tags);
}

#[tokio::test]
async fn a_profile_counts_messages_over_seven_and_thirty_local_days() {
    let h = Harness::new().await;
    let a = Member::new("a", "小安");
    h.join("g1", &a).await;
    h.post("g1", &a, "第一天").await;
    h.clock.set(start() + Duration::days(10));
    h.post("g1", &a, "第十天").await;
    h.post("g1", &a, "还是第十天").await;
    h.clock.set(start() + Duration::days(12));
    let act = h.profile("a").await.activity;
    assert_eq!((act.messages_7d, act.messages_30d, act.days_active_30d, act.days_active), (2, 3, 2, 2));
    assert_eq!(act.last_active.unwrap().to_string(), "2026-06-25");
}
