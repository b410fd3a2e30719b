//! The dashboard overview's batched reads (every group's day rows, first days and member
//! counts in one read each), told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::insight::{Counts, InsightWrite, Tally, day_bucket};
use qunzhu_core::moderation::{MemberChange, MemberUpdate};
use qunzhu_core::store::Commit;
use qunzhu_core::{GroupKey, MemberId, StateWrite, Store};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
}

fn tally(id: &str, group: &GroupKey, member: &str, on: NaiveDate, messages: i64) -> StateWrite {
    StateWrite::Insight(InsightWrite::Tally(Box::new(Tally {
        id: id.into(),
        group: group.clone(),
        member: Some(MemberId::new(member)),
        at: t(0),
        day: on,
        counts: Counts { messages, ..Counts::default() },
        question: None,
    })))
}

fn update(group: &GroupKey, member: &str, change: MemberChange) -> MemberUpdate {
    MemberUpdate { group: group.clone(), member: MemberId::new(member), name: None, at: t(0), change }
}

async fn every_groups_rows_first_day_and_members_come_in_one_read_each(store: Arc<dyn Store>) {
    let (a, b, c) = (GroupKey::new("qq", "a"), GroupKey::new("qq", "b"), GroupKey::new("tg", "c"));
    let writes = vec![
        tally("e1", &a, "m1", day(1), 1),
        tally("e2", &a, "m2", day(10), 2),
        tally("e3", &b, "m1", day(12), 3),
        tally("e4", &c, "m9", day(5), 4),
    ];
    store.commit(&Commit { writes, ..Commit::default() }).await.unwrap();
    let members = vec![
        update(&a, "m1", MemberChange::Joined),
        update(&a, "m2", MemberChange::Joined),
        update(&b, "m1", MemberChange::Joined),
        update(&b, "m3", MemberChange::Joined),
        update(&b, "m3", MemberChange::Left),
    ];
    store.commit(&Commit { members, ..Commit::default() }).await.unwrap();

    let rows = store.insight_group_days(day_bucket(day(5)), day_bucket(day(13))).await.unwrap();
    let figures: Vec<_> = rows.iter().map(|r| (r.group.to_string(), r.member.is_none(), r.bucket, r.counts.messages)).collect();
    assert_eq!(
        figures,
        vec![
            ("qq/a".to_owned(), true, day_bucket(day(10)), 2),
            ("qq/b".to_owned(), true, day_bucket(day(12)), 3),
            ("tg/c".to_owned(), true, day_bucket(day(5)), 4),
        ],
        "only the groups' own rows in the range, by group"
    );
    let first: Vec<_> = store.insight_first_days().await.unwrap().into_iter().map(|(g, d)| (g.to_string(), d)).collect();
    assert_eq!(first, vec![("qq/a".to_owned(), day_bucket(day(1))), ("qq/b".to_owned(), day_bucket(day(12))), ("tg/c".to_owned(), day_bucket(day(5)))]);
    let counts: Vec<_> = store.member_counts().await.unwrap().into_iter().map(|(g, n)| (g.to_string(), n)).collect();
    assert_eq!(counts, vec![("qq/a".to_owned(), 2), ("qq/b".to_owned(), 1)], "members who left are not counted");
    assert_eq!(store.count_members(&b).await.unwrap(), 1, "the same figure as one group's count");
}

stories! {
    any store:
        every_groups_rows_first_day_and_members_come_in_one_read_each;
    reopened:
}
