//! The daily digest (群精华) through the engine: a realistic day of a parents' group
//! (`crates/text/data/digest/parents_day.txt`) replayed on a ManualClock over the in-memory store, the
//! scheduler firing at 21:00 group time, the digest kept once and posted when asked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{
    ActionKind, Capabilities, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Role, Segment, Store,
};
use qunzhu_engine::rulebook::{DEFAULT_TEMPLATE, TemplateSettings};
use qunzhu_engine::{Engine, EngineConfig};

const FIXTURE: &str = include_str!("../../text/data/digest/parents_day.txt");

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 12).unwrap()
}

/// Local (Asia/Shanghai) time of the fixture's day.
fn local(hms: &str) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(hms, "%H:%M:%S").unwrap();
    chrono_tz::Asia::Shanghai.from_local_datetime(&day().and_time(time)).unwrap().with_timezone(&Utc)
}

fn group() -> GroupKey {
    GroupKey::new("qq", "class32")
}

/// The fixture's lines as events, in order.
fn fixture_events() -> Vec<Event> {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut events = Vec::new();
    for line in FIXTURE.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.splitn(7, '|').collect();
        let [time, id, kind, member, name, role, text] = fields[..] else { panic!("bad fixture line: {line}") };
        names.insert(member.to_owned(), name.to_owned());
        let role = match role {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            _ => Role::Member,
        };
        let who = Member { id: member.into(), name: Some(name.to_owned()), role };
        let kind = match kind {
            "msg" => EventKind::MessagePosted { author: who, message: Message { id: id.into(), segments: segments(text, &names) } },
            "join" => EventKind::MemberJoined { member: who, inviter: None, invite_code: None, join_scene: None },
            "leave" => EventKind::MemberLeft { member: who, removed_by: None },
            "react" => EventKind::ReactionAdded { member: who, message_id: text.into(), reaction: "👍".into() },
            other => panic!("unknown kind {other}"),
        };
        events.push(Event {
            origin: Origin { connector: "qq".into(), group: "class32".into(), event_id: format!("ev-{id}").into() },
            group_name: Some("三年二班家长群".into()),
            time: local(time),
            kind,
        });
    }
    events
}

/// `>m012 ` quote-replies, `@p03` mentions, `@all` mentions everyone.
fn segments(text: &str, names: &HashMap<String, String>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    if let Some(after) = rest.strip_prefix('>') {
        let (target, tail) = after.split_once(' ').unwrap();
        out.push(Segment::Reply { message_id: target.into() });
        rest = tail;
    }
    let mut plain = String::new();
    for (i, piece) in rest.split('@').enumerate() {
        if i == 0 {
            plain.push_str(piece);
            continue;
        }
        let end = piece.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(piece.len());
        let (who, tail) = piece.split_at(end);
        if !plain.is_empty() {
            out.push(Segment::text(std::mem::take(&mut plain)));
        }
        if who == "all" {
            out.push(Segment::MentionAll);
        } else {
            out.push(Segment::Mention { member: who.into(), name: names.get(who).cloned() });
        }
        plain.push_str(tail);
    }
    if !plain.is_empty() {
        out.push(Segment::text(plain));
    }
    out
}

struct World {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

impl World {
    async fn start(change: impl FnOnce(&mut TemplateSettings)) -> Self {
        Self::start_with(qunzhu_engine::locale::Locale::ZhCn, change).await
    }

    async fn start_with(locale: qunzhu_engine::locale::Locale, change: impl FnOnce(&mut TemplateSettings)) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(local("06:00:00")));
        let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig { locale, ..EngineConfig::default() }).await.unwrap();
        let mut book = engine.rulebook().rulebook.clone();
        change(book.templates.get_mut(DEFAULT_TEMPLATE).unwrap());
        engine.save_rulebook(book, "test", "digest").await.unwrap();
        Self { engine, store, clock }
    }

    /// Replays the fixture, each event at its time.
    async fn replay(&self) {
        for event in fixture_events() {
            self.clock.set(event.time);
            self.engine.submit(event).await.unwrap();
        }
    }

    /// Moves the clock to `at` and runs the digest source once: the digest ticks submitted.
    async fn scan_at(&self, at: DateTime<Utc>) -> usize {
        self.clock.set(at);
        qunzhu_engine::rules::digest::source(&self.engine, at).await.unwrap().ticks
    }

    /// A whole scheduler scan (every source) at `at`.
    async fn run_due(&self, at: DateTime<Utc>) {
        self.clock.set(at);
        let report = self.engine.run_due(at).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    async fn digest(&self) -> Option<(String, serde_json::Value)> {
        let record = self.store.digest(&group(), day()).await.unwrap()?;
        Some((record.text, serde_json::from_str(&record.body).unwrap()))
    }

    async fn digest_posts(&self) -> Vec<String> {
        self.store
            .due_actions(&ConnectorId::new("qq"), Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap(), 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.rule == "digest")
            .map(|e| match e.action.kind {
                ActionKind::Send { segments } => Message { id: "x".into(), segments }.plain_text(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
}

#[tokio::test]
async fn a_day_of_a_parents_group_becomes_its_digest_at_nine_in_the_evening() {
    let world = World::start(|_| {}).await;
    world.replay().await;
    assert_eq!(world.scan_at(local("20:59:00")).await, 0, "not before 21:00");
    assert!(world.digest().await.is_none());

    world.run_due(local("21:00:05")).await;
    let (text, body) = world.digest().await.expect("a digest of the day");

    // The main topic's keyword leads.
    assert_eq!(body["keywords"][0], "春游", "{text}");
    assert_eq!(body["threads"][0]["keywords"][0], "春游", "{text}");
    // An answered question appears with its answer.
    let questions = body["questions"].as_array().unwrap();
    let asked = |needle: &str| questions.iter().find(|q| q["question"]["text"].as_str().unwrap().contains(needle)).unwrap().clone();
    let rain = asked("要是下雨春游还去吗");
    assert!(rain["answers"][0]["text"].as_str().unwrap().contains("顺延到下周一"), "{rain}");
    assert!(text.contains("要是下雨春游还去吗？\n  ↳ 陈老师：如果周五下大雨，春游顺延到下周一"), "{text}");
    // The unanswered one is marked 未回复.
    assert_eq!(asked("校服可以先试穿")["answers"], serde_json::json!([]));
    assert!(text.contains("校服可以先试穿再决定尺码吗？怕买了不合适 【未回复】"), "{text}");
    // Spam deleted by moderation is not in the digest; its author is no newcomer.
    let spam = world.store.list_violations(Some(&group()), None, 10).await.unwrap();
    assert_eq!(spam.len(), 1, "moderation caught the ad");
    assert!(!text.contains("刷单") && !body.to_string().contains("刷单"), "{text}");
    // Newcomers, the announcement, the day's numbers.
    assert_eq!(body["newcomers"], serde_json::json!(["小美妈妈", "乐乐爸爸"]));
    assert!(text.contains("👋 新成员：小美妈妈、乐乐爸爸"), "{text}");
    assert!(body["announcements"][0]["text"].as_str().unwrap().starts_with("【春游通知】"), "{body}");
    assert_eq!(body["numbers"]["messages"], 135, "the ad included: the rollups count deleted spam");
    assert_eq!(body["numbers"]["joins"], 3);
    // Kept, not posted (post is off by default).
    assert!(world.digest_posts().await.is_empty());

    insta::assert_snapshot!("parents_day_text", text);
    insta::assert_json_snapshot!("parents_day_json", body);
}

#[tokio::test]
async fn the_digest_is_made_once_however_often_the_scheduler_scans() {
    let world = World::start(|s| s.insight.digest.post = true).await;
    world.replay().await;
    assert_eq!(world.scan_at(local("21:00:05")).await, 1);
    let first = world.digest().await.unwrap();
    assert_eq!(world.scan_at(local("21:00:20")).await, 0);
    assert_eq!(world.scan_at(local("23:30:00")).await, 0);
    // The next morning: yesterday's is there, today has no messages yet.
    assert_eq!(world.scan_at(local("21:00:00") + chrono::Duration::hours(11)).await, 0);
    assert_eq!(world.digest().await.unwrap(), first);
    let posts = world.digest_posts().await;
    assert_eq!(posts.len(), 1, "posted once");
    assert_eq!(posts[0], first.0);
}

#[tokio::test]
async fn a_group_that_was_silent_all_day_gets_no_digest_and_no_post() {
    let world = World::start(|s| s.insight.digest.post = true).await;
    // Only a join: no message to digest.
    let join = fixture_events().into_iter().find(|e| matches!(e.kind, EventKind::MemberJoined { .. })).unwrap();
    world.clock.set(join.time);
    world.engine.submit(join).await.unwrap();
    assert_eq!(world.scan_at(local("21:00:05")).await, 0);
    assert!(world.digest().await.is_none());
    assert!(world.digest_posts().await.is_empty());
}

#[tokio::test]
async fn a_digest_time_set_in_the_rulebook_moves_the_digest() {
    let world = World::start(|s| s.insight.digest.time = "12:00".into()).await;
    for event in fixture_events().into_iter().filter(|e| e.time < local("12:00:00")) {
        world.clock.set(event.time);
        world.engine.submit(event).await.unwrap();
    }
    assert_eq!(world.scan_at(local("11:59:00")).await, 0);
    assert_eq!(world.scan_at(local("12:00:01")).await, 1);
    let (_, body) = world.digest().await.unwrap();
    assert_eq!(body["keywords"][0], "春游");
    assert!(!body.to_string().contains("夏季校服"), "evening talk is not in a noon digest");
}

#[tokio::test]
async fn a_disabled_digest_makes_nothing() {
    let world = World::start(|s| s.insight.digest.enabled = false).await;
    world.replay().await;
    assert_eq!(world.scan_at(local("21:00:05")).await, 0);
    assert!(world.digest().await.is_none());
}

#[tokio::test]
async fn an_english_engine_writes_the_digest_in_english() {
    let world = World::start_with(qunzhu_engine::locale::Locale::En, |_| {}).await;
    world.replay().await;
    assert_eq!(world.scan_at(local("21:00:05")).await, 1);
    let (text, _) = world.digest().await.unwrap();
    assert!(text.starts_with("📋 三年二班家长群 daily digest · 2026-05-12\nToday: 135 messages"), "{text}");
    assert!(text.contains("[unanswered]") && text.contains("👋 Newcomers: 小美妈妈, 乐乐爸爸"), "{text}");
}
