//! The last life stage per group, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::care::{CareLine, CareWrite};
use qunzhu_core::life_stage::StageRecord;
use qunzhu_core::store::Commit;
use qunzhu_core::{GroupKey, StateWrite, Store};

mod support;
use support::*;

fn record(group: &str, stage: &str, day: u32, since_secs: i64) -> StageRecord {
    StageRecord {
        group: GroupKey::new("qq", group),
        stage: stage.into(),
        checked_on: NaiveDate::from_ymd_opt(2026, 7, day).unwrap(),
        since: DateTime::<Utc>::from_timestamp(1_750_000_000 + since_secs, 123_000).unwrap(),
    }
}

fn commit(r: StageRecord) -> Commit {
    Commit { writes: vec![StateWrite::LifeStage(r)], ..Commit::default() }
}

async fn a_group_keeps_only_its_latest_stage(store: Arc<dyn Store>) {
    let g1 = GroupKey::new("qq", "g1");
    assert_eq!(store.life_stage_record(&g1).await.unwrap(), None);
    store.commit(&commit(record("g1", "mature", 1, 0))).await.unwrap();
    store.commit(&commit(record("g2", "new", 1, 5))).await.unwrap();
    store.commit(&commit(record("g1", "cooling", 2, 86_400))).await.unwrap();
    assert_eq!(store.life_stage_record(&g1).await.unwrap(), Some(record("g1", "cooling", 2, 86_400)));
    assert_eq!(store.life_stage_record(&GroupKey::new("qq", "g2")).await.unwrap(), Some(record("g2", "new", 1, 5)));
    assert_eq!(store.life_stage_record(&GroupKey::new("wecom", "g1")).await.unwrap(), None, "groups are per connector");
}

fn line(group: &str, id: &str, secs: i64, negative: bool) -> CareLine {
    CareLine {
        id: id.into(),
        group: GroupKey::new("qq", group),
        message_id: id.into(),
        member: "parent1".into(),
        name: "小王".into(),
        at: DateTime::<Utc>::from_timestamp(1_750_000_000 + secs, 0).unwrap(),
        text: "太坑了".into(),
        negative,
        score: if negative { -0.8 } else { 0.1 },
    }
}

async fn care_lines_are_counted_with_their_negatives_in_a_half_open_range(store: Arc<dyn Store>) {
    let lines = [line("g1", "l1", 0, true), line("g1", "l2", 10, false), line("g1", "l3", 20, true), line("g1", "l4", 30, true), line("g2", "l5", 10, true)];
    let writes = lines.into_iter().map(|l| StateWrite::Care(CareWrite::Line(l))).collect();
    store.commit(&Commit { writes, ..Commit::default() }).await.unwrap();
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(1_750_000_000 + secs, 0).unwrap();
    let g1 = GroupKey::new("qq", "g1");
    assert_eq!(store.care_line_counts(&g1, at(0), at(30)).await.unwrap(), (3, 2));
    assert_eq!(store.care_line_counts(&g1, at(10), at(31)).await.unwrap(), (3, 2));
    assert_eq!(store.care_line_counts(&g1, at(100), at(200)).await.unwrap(), (0, 0));
}

stories! {
    any store:
        a_group_keeps_only_its_latest_stage,
        care_lines_are_counted_with_their_negatives_in_a_half_open_range;
    reopened:
}
