//! Daily digest (群精华) stories — a group's events over a time range, a digest kept once with
//! its tick — told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::insight::DigestRecord;
use qunzhu_core::store::Commit;
use qunzhu_core::{Event, EventKind, GroupKey, Member, Message, Origin, StateWrite, Store};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn message(id: &str, group: &GroupKey, text: &str, at: i64) -> Event {
    Event {
        origin: Origin { connector: group.connector.clone(), group: group.group.clone(), event_id: qunzhu_core::PlatformEventId::new(id) },
        group_name: None,
        time: t(at),
        kind: EventKind::MessagePosted { author: Member::new("m1", "小王"), message: Message::text(id, text) },
    }
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.kind {
            EventKind::MessagePosted { message, .. } => message.plain_text(),
            other => other.name().to_owned(),
        })
        .collect()
}

async fn a_groups_events_are_read_for_a_time_range_in_time_order(store: Arc<dyn Store>) {
    let class = GroupKey::new("qq", "class");
    let other = GroupKey::new("qq", "other");
    // Arrival order differs from time order; one event at the range's end is outside it.
    for event in [
        message("e2", &class, "second", 20),
        message("e1", &class, "first", 10),
        message("e3", &class, "same time, arrived later", 20),
        message("x1", &other, "another group", 15),
        message("e0", &class, "before", 9),
        message("e4", &class, "at the end", 30),
    ] {
        store.accept_event(&event).await.unwrap();
    }
    let events = store.group_events(&class, t(10), t(30)).await.unwrap();
    assert_eq!(texts(&events), ["first", "second", "same time, arrived later"]);
    assert!(store.group_events(&class, t(100), t(200)).await.unwrap().is_empty());
}

fn record(day: NaiveDate, text: &str) -> DigestRecord {
    DigestRecord { group: GroupKey::new("qq", "class"), day, created_at: t(0), body: "{}".into(), text: text.into() }
}

async fn a_digest_committed_with_its_tick_is_kept_once_per_day(store: Arc<dyn Store>) {
    let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let commit = |text: &str| Commit { writes: vec![StateWrite::Digest(record(day, text))], ..Commit::default() };
    store.commit(&commit("first")).await.unwrap();
    store.commit(&commit("again")).await.unwrap();
    let kept = store.digest(&GroupKey::new("qq", "class"), day).await.unwrap().unwrap();
    assert_eq!(kept.text, "first");
    // The API's save replaces (an operator regenerating a digest).
    store.save_digest(&record(day, "replaced")).await.unwrap();
    assert_eq!(store.digest(&GroupKey::new("qq", "class"), day).await.unwrap().unwrap().text, "replaced");
}

stories! {
    any store:
        a_groups_events_are_read_for_a_time_range_in_time_order,
        a_digest_committed_with_its_tick_is_kept_once_per_day;
    reopened:
}
