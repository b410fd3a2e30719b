//! Insight stories (rollups, remembered questions, conversions, digests), told to every
//! backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::insight::{Conversion, Counts, DigestRecord, Granularity, InsightWrite, Tally, day_bucket, hour_bucket};
use qunzhu_core::store::Commit;
use qunzhu_core::{ConnectorId, GroupKey, MemberId, MessageId, StateWrite, Store};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 16).unwrap()
}

fn tally(id: &str, member: &str, at: i64, counts: Counts, question: Option<&str>) -> StateWrite {
    StateWrite::Insight(InsightWrite::Tally(Box::new(Tally {
        id: id.into(),
        group: qq("g1"),
        member: Some(MemberId::new(member)),
        at: t(at),
        day: day(),
        counts,
        question: question.map(MessageId::new),
    })))
}

fn message(questions: i64) -> Counts {
    Counts { messages: 1, questions, ..Counts::default() }
}

async fn commit(store: &Arc<dyn Store>, writes: Vec<StateWrite>) {
    store.commit(&Commit { writes, ..Commit::default() }).await.unwrap();
}

async fn tallies_add_up_per_member_and_group_and_a_repeated_one_counts_once(store: Arc<dyn Store>) {
    commit(&store, vec![tally("e1", "a", 0, message(1), Some("m1"))]).await;
    commit(&store, vec![tally("e2", "b", 60, Counts { messages: 1, answers: 1, ..Counts::default() }, None)]).await;
    commit(&store, vec![tally("e2", "b", 60, Counts { messages: 1, answers: 1, ..Counts::default() }, None)]).await;
    commit(&store, vec![tally("e3", "a", 4000, Counts { joins: 1, ..Counts::default() }, None)]).await;
    let days = store.insight_rollups(&qq("g1"), Granularity::Day, day_bucket(day()), day_bucket(day()) + 1).await.unwrap();
    let figures: Vec<_> = days.iter().map(|r| (r.member.clone().map(|m| m.to_string()), r.counts.messages, r.counts.answers, r.counts.joins)).collect();
    assert_eq!(figures, vec![(None, 2, 1, 1), (Some("a".into()), 1, 0, 1), (Some("b".into()), 1, 1, 0)]);
    let hours = store.insight_rollups(&qq("g1"), Granularity::Hour, hour_bucket(t(0)), hour_bucket(t(0)) + 1).await.unwrap();
    assert_eq!(hours[0].counts.messages, 2, "{hours:?}");
    assert!(store.insight_rollups(&qq("g2"), Granularity::Day, i64::MIN, i64::MAX).await.unwrap().is_empty());
    assert_eq!(store.insight_member_days(&ConnectorId::new("qq"), &MemberId::new("a")).await.unwrap().len(), 1);

    assert_eq!(store.insight_question_asker(&qq("g1"), &MessageId::new("m1")).await.unwrap(), Some(MemberId::new("a")));
    assert!(store.insight_asked_between(&qq("g1"), &MemberId::new("a"), t(0), t(1)).await.unwrap());
    assert!(!store.insight_asked_between(&qq("g1"), &MemberId::new("a"), t(1), t(100)).await.unwrap());

    store.insight_reset().await.unwrap();
    assert!(store.insight_rollups(&qq("g1"), Granularity::Day, i64::MIN, i64::MAX).await.unwrap().is_empty());
    assert_eq!(store.insight_question_asker(&qq("g1"), &MessageId::new("m1")).await.unwrap(), None);
    commit(&store, vec![tally("e2", "b", 60, message(0), None)]).await;
    assert_eq!(store.insight_rollups(&qq("g1"), Granularity::Day, i64::MIN, i64::MAX).await.unwrap()[0].counts.messages, 1, "a reset forgets tally ids");
}

async fn a_conversion_is_kept_once_per_key_and_digests_are_replaced_per_day(store: Arc<dyn Store>) {
    let conversion = Conversion {
        id: "order-1".into(),
        connector: ConnectorId::new("qq"),
        member: MemberId::new("a"),
        amount_cents: 19_900,
        product: "暑期班".into(),
        at: t(0),
        group: Some(qq("g1")),
        channel: Some("poster".into()),
        tier: Some("strong".into()),
    };
    assert_eq!(store.record_conversion(&conversion).await.unwrap(), (conversion.clone(), true));
    let again = Conversion { amount_cents: 1, ..conversion.clone() };
    assert_eq!(store.record_conversion(&again).await.unwrap(), (conversion.clone(), false));
    assert_eq!(store.list_conversions().await.unwrap(), vec![conversion]);

    let digest = |d: u32, text: &str| DigestRecord {
        group: qq("g1"),
        day: NaiveDate::from_ymd_opt(2025, 6, d).unwrap(),
        created_at: t(i64::from(d)),
        body: "{}".into(),
        text: text.into(),
    };
    store.save_digest(&digest(16, "first")).await.unwrap();
    store.save_digest(&digest(16, "again")).await.unwrap();
    store.save_digest(&digest(17, "next")).await.unwrap();
    assert_eq!(store.digest(&qq("g1"), day()).await.unwrap().unwrap().text, "again");
    let listed: Vec<_> = store.list_digests(&qq("g1"), 10).await.unwrap().into_iter().map(|d| d.text).collect();
    assert_eq!(listed, vec!["next", "again"]);
    assert!(store.list_digests(&qq("g2"), 10).await.unwrap().is_empty());
}

stories! {
    any store:
        tallies_add_up_per_member_and_group_and_a_repeated_one_counts_once,
        a_conversion_is_kept_once_per_key_and_digests_are_replaced_per_day;
    reopened:
}
