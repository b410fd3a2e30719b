//! Staff-alert routing (`staff_alerts`): a staff alert (here: an unanswered question, raised by
//! the scheduler's care tick) also goes to every configured destination, as ordinary actions
//! committed to the outbox with the alert.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Action, ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, ManualClock, Member, Message, Origin, Segment, Store};
use qunzhu_engine::staff_alerts::{StaffAlertSettings, StaffDestination, validate};
use qunzhu_engine::{Engine, EngineConfig};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

fn to_group(connector: &str, group: &str) -> StaffDestination {
    StaffDestination { connector: Some(connector.into()), group: Some(group.into()), ..StaffDestination::default() }
}

fn to_user(connector: &str, user: &str) -> StaffDestination {
    StaffDestination { connector: Some(connector.into()), user: Some(user.into()), ..StaffDestination::default() }
}

fn to_webhook(url: &str) -> StaffDestination {
    StaffDestination { webhook: Some(url.into()), ..StaffDestination::default() }
}

async fn outbox(store: &MemoryStore, connector: &str) -> Vec<Action> {
    let entries = store.actions_after(&ConnectorId::new(connector), 0, start() + Duration::days(100), 1000).await.unwrap();
    entries.into_iter().map(|e| e.action).filter(|a| a.rule == "care").collect()
}

#[tokio::test]
async fn an_unanswered_question_alert_also_goes_to_the_staff_group_a_direct_message_and_a_webhook() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(start()));
    let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all()), (ConnectorId::new("tg"), Capabilities::all())]);
    let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
    let mut rulebook = engine.rulebook().rulebook.clone();
    rulebook.templates.get_mut("default").unwrap().staff_alerts.destinations = vec![
        to_group("tg", "staff-room"),
        to_user("tg", "boss"),
        to_webhook("https://hooks.example.com/qunzhu"),
        to_group("nowhere", "x"),
    ];
    engine.save_rulebook(rulebook, "test", "route staff alerts").await.unwrap();

    let event = Event {
        origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: "e1".into() },
        group_name: Some("家长群".into()),
        time: clock.now(),
        kind: EventKind::MessagePosted {
            author: Member::new("p2", "小明妈妈"),
            message: Message { id: "m1".into(), segments: vec![Segment::text("明天几点放学？")] },
        },
    };
    engine.submit(event).await.unwrap();
    assert!(outbox(&store, "tg").await.is_empty(), "a question alone alerts no one");
    clock.advance(Duration::minutes(11));
    let report = engine.run_due(clock.now()).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);

    let own = outbox(&store, "qq").await;
    let [alert] = own.as_slice() else { panic!("{own:#?}") };
    let ActionKind::NotifyStaff { text } = &alert.kind else { panic!("{alert:#?}") };
    assert!(text.contains("明天几点放学"), "{text}");

    let tg = outbox(&store, "tg").await;
    assert_eq!(tg.len(), 2, "{tg:#?}");
    let send = tg.iter().find(|a| a.group.group.as_str() == "staff-room").unwrap();
    assert_eq!(send.kind, ActionKind::Send { segments: vec![Segment::text(text.as_str())] });
    let dm = tg.iter().find(|a| matches!(a.kind, ActionKind::DirectMessage { .. })).unwrap();
    let ActionKind::DirectMessage { member, segments } = &dm.kind else { unreachable!() };
    assert_eq!((member.as_str(), segments.as_slice()), ("boss", [Segment::text(text.as_str())].as_slice()));

    let hooks = outbox(&store, "webhook").await;
    let [hook] = hooks.as_slice() else { panic!("{hooks:#?}") };
    assert_eq!(hook.kind, ActionKind::Webhook { url: "https://hooks.example.com/qunzhu".into(), text: text.clone() });
    assert!(hook.group.group.as_str().contains("g1"), "{:?}", hook.group);
    assert!(outbox(&store, "nowhere").await.is_empty(), "an unconfigured connector is skipped");
}

#[test]
fn destinations_that_are_not_exactly_one_kind_or_not_urls_are_reported_with_their_key_paths() {
    let settings = StaffAlertSettings {
        destinations: vec![
            to_group("tg", "staff"),
            to_webhook("ftp://example.com"),
            StaffDestination { connector: Some("qq".into()), group: Some("1".into()), user: Some("2".into()), ..StaffDestination::default() },
            to_group("webhook", "x"),
        ],
    };
    let problems = validate(&settings, &["templates", "default", "staff_alerts"]);
    let paths: Vec<String> = problems.iter().map(|p| p.path.join(".")).collect();
    assert_eq!(
        paths,
        [
            "templates.default.staff_alerts.destinations.1.webhook",
            "templates.default.staff_alerts.destinations.2",
            "templates.default.staff_alerts.destinations.3.connector",
        ]
    );
    assert!(validate(&StaffAlertSettings::default(), &["staff_alerts"]).is_empty());
}
