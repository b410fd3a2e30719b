//! The last life stage per group, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

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

stories! {
    any store:
        a_group_keeps_only_its_latest_stage;
    reopened:
}
