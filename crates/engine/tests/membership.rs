//! Joins attributed to channels (渠道活码) and leaves recorded, end to end through the engine
//! over the in-memory store with a controllable clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::membership::{membership_audit, Channel, LeaveReason};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, MemberId, Message, Origin, Store};
use qunzhu_engine::{Engine, EngineConfig};

const QQ: &str = "qq";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

struct Chat {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: u32,
}

impl Chat {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new(QQ), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        let chat = Self { engine, store, clock, next: 0 };
        let channel = Channel {
            id: "gzh".into(),
            name: "公众号菜单".into(),
            tier: "strong".into(),
            tags: vec!["粉丝".into()],
            pool: None,
            code: "K7X2QP".into(),
            archived: false,
            created_at: start(),
            updated_at: start(),
            updated_by: "operator:小王".into(),
        };
        chat.store.create_channel(&channel, &membership_audit("channel.create", "operator:小王", start(), "建渠道".into(), None)).await.unwrap();
        chat
    }

    fn now(&self) -> DateTime<Utc> {
        qunzhu_core::Clock::now(self.clock.as_ref())
    }

    async fn submit(&mut self, kind: EventKind) {
        self.next += 1;
        let event = Event {
            origin: Origin { connector: QQ.into(), group: "g1".into(), event_id: format!("e{}", self.next).as_str().into() },
            group_name: Some("粉丝一群".into()),
            time: self.now(),
            kind,
        };
        self.engine.submit(event).await.unwrap();
    }

    async fn join(&mut self, who: &str, code: Option<&str>) {
        self.submit(EventKind::MemberJoined { member: Member::new(who, who), inviter: None, invite_code: code.map(str::to_owned), join_scene: None }).await;
    }

    async fn say(&mut self, who: &str, text: &str) {
        let id = format!("m{}", self.next);
        self.submit(EventKind::MessagePosted { author: Member::new(who, who), message: Message::text(id.as_str(), text) }).await;
    }

    async fn channel_of(&self, who: &str) -> Option<(String, String)> {
        let join = self.store.latest_join(&GroupKey::new(QQ, "g1"), &MemberId::new(who)).await.unwrap()?;
        join.channel.map(|c| (c.id, c.tier))
    }
}

fn gzh() -> Option<(String, String)> {
    Some(("gzh".into(), "strong".into()))
}

#[tokio::test]
async fn a_join_with_a_channels_invite_code_is_attributed_to_that_channel_and_its_tier() {
    let mut chat = Chat::new().await;
    chat.join("u1", Some("k7x2qp")).await;
    assert_eq!(chat.channel_of("u1").await, gzh());
    let profile = chat.store.member_profile(&QQ.into(), &MemberId::new("u1")).await.unwrap().unwrap();
    assert_eq!((profile.channel.as_deref(), profile.tier.as_deref(), profile.tags), (Some("gzh"), Some("strong"), vec!["粉丝".to_owned()]));
    let counts = chat.store.join_counts(None, None).await.unwrap();
    assert_eq!((counts.by_tier[0].key.as_deref(), counts.by_tier[0].joins), (Some("strong"), 1));
}

#[tokio::test]
async fn an_unknown_invite_code_is_ignored_and_the_join_still_counts() {
    let mut chat = Chat::new().await;
    chat.join("u1", Some("ZZZZ99")).await;
    assert_eq!(chat.channel_of("u1").await, None);
    let counts = chat.store.join_counts(None, None).await.unwrap();
    assert_eq!((counts.by_channel[0].key.clone(), counts.by_channel[0].joins), (None, 1));
}

#[tokio::test]
async fn a_code_in_the_join_request_comment_attributes_the_join_that_follows() {
    let mut chat = Chat::new().await;
    chat.submit(EventKind::JoinRequested {
        member: Member::new("u1", "u1"),
        request_id: "r1".into(),
        comment: Some("公众号看到的，渠道码 K7X2QP".into()),
    })
    .await;
    chat.join("u1", None).await;
    assert_eq!(chat.channel_of("u1").await, gzh());
}

#[tokio::test]
async fn a_code_in_an_early_message_attributes_the_join_but_not_after_the_window() {
    let mut chat = Chat::new().await;
    chat.join("u1", None).await;
    chat.join("u2", None).await;
    chat.clock.advance(Duration::minutes(5));
    chat.say("u1", "我的邀请码是k7x2qp").await;
    assert_eq!(chat.channel_of("u1").await, gzh());
    chat.clock.advance(Duration::minutes(40));
    chat.say("u2", "K7X2QP").await;
    assert_eq!(chat.channel_of("u2").await, None, "too late to count");
}

#[tokio::test]
async fn a_kick_and_a_leave_are_recorded_with_reason_and_tenure() {
    let mut chat = Chat::new().await;
    chat.join("u1", Some("K7X2QP")).await;
    chat.join("u2", None).await;
    chat.clock.advance(Duration::hours(2));
    chat.submit(EventKind::MemberLeft { member: Member::new("u1", "u1"), removed_by: Some(Member::new("admin", "管理员")) }).await;
    chat.clock.advance(Duration::hours(1));
    chat.submit(EventKind::MemberLeft { member: Member::new("u2", "u2"), removed_by: None }).await;
    let churn = chat.store.churn(&GroupKey::new(QQ, "g1"), 10).await.unwrap();
    let rows: Vec<(&str, LeaveReason, Option<i64>, Option<&str>)> =
        churn.iter().map(|l| (l.member.as_str(), l.reason, l.tenure_secs, l.tier.as_deref())).collect();
    assert_eq!(rows, vec![("u2", LeaveReason::Left, Some(3 * 3600), None), ("u1", LeaveReason::Removed, Some(2 * 3600), Some("strong"))]);
    let counts = chat.store.join_counts(None, None).await.unwrap();
    assert!(counts.by_channel.iter().all(|c| c.stays == 0), "{counts:?}");
}
