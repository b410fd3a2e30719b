//! Scheduled-post stories, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::schedule::{
    MissedRuns, NewSchedule, Post, PostKind, ScheduleChange, ScheduleDef, ScheduleId, ScheduleRun, ScheduleUpdate, Target, When,
};
use qunzhu_core::{GroupKey, NewAuditEntry, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn def(name: &str) -> ScheduleDef {
    ScheduleDef {
        name: name.into(),
        when: When::Cron { cron: "0 8 * * *".into() },
        timezone: Some("Asia/Shanghai".into()),
        target: Target::Groups { groups: vec![GroupKey::new("qq", "1"), GroupKey::new("qq", "team/2")] },
        post: Post { kind: PostKind::Message, text: "早上好 {group}！今天是 {date} {weekday}\n含\"引号\"、表情 🎉 和 \0 空字符".into() },
        missed: MissedRuns::CatchUpOnce,
        groups_per_minute: 30,
    }
}

fn new(name: &str, next_run: Option<DateTime<Utc>>, at: DateTime<Utc>) -> NewSchedule {
    NewSchedule { def: def(name), paused: false, next_run, by: "operator:小王".into(), at, detail: Some("{\"why\":\"test\"}".into()) }
}

async fn schedule_rows(store: &Arc<dyn Store>) -> Vec<NewAuditEntry> {
    let mut rows: Vec<NewAuditEntry> =
        store.list_audit(None, 100).await.unwrap().into_iter().map(|a| a.entry).filter(|e| e.kind.starts_with("schedule.")).collect();
    rows.reverse();
    rows
}

async fn a_schedule_round_trips_with_its_text_and_every_change_is_audited(store: Arc<dyn Store>) {
    let created = store.create_schedule(&new("早报", Some(t(3600)), t(0))).await.unwrap();
    assert_eq!(created.id, ScheduleId(1));
    assert_eq!(created.def, def("早报"));
    assert_eq!((created.next_run, created.last_run, created.paused), (Some(t(3600)), None, false));
    assert_eq!((created.created_at, created.updated_at, created.updated_by.as_str()), (t(0), t(0), "operator:小王"));
    assert_eq!(store.get_schedule(created.id).await.unwrap(), Some(created.clone()));
    let second = store.create_schedule(&new("23点截单", None, t(1))).await.unwrap();
    assert_eq!(second.id, ScheduleId(2));

    let mut changed = def("早报（改）");
    changed.when = When::Once { at: "2026-01-01T00:00".into() };
    let update = ScheduleUpdate {
        def: changed.clone(),
        paused: true,
        next_run: None,
        change: ScheduleChange::Pause,
        by: "operator:阿明".into(),
        at: t(10),
        detail: None,
    };
    let updated = store.update_schedule(created.id, &update).await.unwrap();
    assert_eq!((updated.def.clone(), updated.paused, updated.next_run), (changed, true, None));
    assert_eq!((updated.created_at, updated.updated_at, updated.updated_by.as_str()), (t(0), t(10), "operator:阿明"));
    assert_eq!(store.list_schedules().await.unwrap(), vec![updated.clone(), second.clone()]);

    let deleted = store.delete_schedule(second.id, "operator:小王", t(20)).await.unwrap();
    assert_eq!(deleted, second);
    assert_eq!(store.get_schedule(second.id).await.unwrap(), None);
    assert!(matches!(store.delete_schedule(second.id, "x", t(21)).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.update_schedule(ScheduleId(99), &update).await, Err(StoreError::NotFound(_))));

    let rows = schedule_rows(&store).await;
    let seen: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r.kind.as_str(), r.actor.as_str(), r.summary.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            ("schedule.create", "operator:小王", "定时任务 #1「早报」：已创建"),
            ("schedule.create", "operator:小王", "定时任务 #2「23点截单」：已创建"),
            ("schedule.pause", "operator:阿明", "定时任务 #1「早报（改）」：已暂停"),
            ("schedule.delete", "operator:小王", "定时任务 #2「23点截单」：已删除"),
        ]
    );
    assert_eq!(rows[0].detail.as_deref(), Some("{\"why\":\"test\"}"));
    assert_eq!(rows[0].time, t(0));
}

async fn due_schedules_are_the_unpaused_ones_whose_next_run_has_come_soonest_first(store: Arc<dyn Store>) {
    let late = store.create_schedule(&new("late", Some(t(300)), t(0))).await.unwrap();
    let early = store.create_schedule(&new("early", Some(t(100)), t(0))).await.unwrap();
    let tie = store.create_schedule(&new("tie", Some(t(100)), t(0))).await.unwrap();
    let _done = store.create_schedule(&new("done", None, t(0))).await.unwrap();
    let paused = store.create_schedule(&NewSchedule { paused: true, ..new("paused", Some(t(50)), t(0)) }).await.unwrap();
    let ids = |v: Vec<qunzhu_core::schedule::Schedule>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(store.due_schedules(t(99), 10).await.unwrap()), vec![]);
    assert_eq!(ids(store.due_schedules(t(100), 10).await.unwrap()), vec![early.id, tie.id]);
    assert_eq!(ids(store.due_schedules(t(1000), 10).await.unwrap()), vec![early.id, tie.id, late.id]);
    assert_eq!(ids(store.due_schedules(t(1000), 2).await.unwrap()), vec![early.id, tie.id]);
    assert!(paused.paused);
}

async fn a_run_is_recorded_once_and_only_while_the_next_run_is_the_one_found_due(store: Arc<dyn Store>) {
    let schedule = store.create_schedule(&new("早报", Some(t(100)), t(0))).await.unwrap();
    let missed = NewAuditEntry {
        time: t(150),
        actor: "scheduler".into(),
        kind: "schedule.missed".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("schedule".into()),
        summary: "跳过 1 次".into(),
        detail: None,
    };
    let run = ScheduleRun { expected: t(100), ran: Some(t(100)), next_run: Some(t(200)), audit: vec![missed.clone()] };
    assert!(store.record_schedule_run(schedule.id, &run).await.unwrap());
    // A second scheduler that found the same run due comes too late: nothing changes.
    assert!(!store.record_schedule_run(schedule.id, &run).await.unwrap());
    let now = store.get_schedule(schedule.id).await.unwrap().unwrap();
    assert_eq!((now.last_run, now.next_run), (Some(t(100)), Some(t(200))));
    assert_eq!(schedule_rows(&store).await.iter().filter(|r| r.kind == "schedule.missed").count(), 1);

    // A skipped run keeps the last run that was posted; the last run of a one-off leaves none.
    let skipped = ScheduleRun { expected: t(200), ran: None, next_run: None, audit: vec![] };
    assert!(store.record_schedule_run(schedule.id, &skipped).await.unwrap());
    let now = store.get_schedule(schedule.id).await.unwrap().unwrap();
    assert_eq!((now.last_run, now.next_run), (Some(t(100)), None));
    assert!(store.due_schedules(t(10_000), 10).await.unwrap().is_empty());
    assert!(!store.record_schedule_run(ScheduleId(42), &skipped).await.unwrap());
}

async fn schedules_survive_a_restart(backend: Reopenable) {
    let store = backend.open().await;
    let created = store.create_schedule(&new("早报", Some(t(100)), t(0))).await.unwrap();
    store.close().await;
    let store = backend.open().await;
    assert_eq!(store.get_schedule(created.id).await.unwrap(), Some(created.clone()));
    let next = store.create_schedule(&new("晚报", None, t(1))).await.unwrap();
    assert_eq!(next.id, ScheduleId(2), "ids keep counting after a restart");
    store.close().await;
}

stories! {
    any store:
        a_schedule_round_trips_with_its_text_and_every_change_is_audited,
        due_schedules_are_the_unpaused_ones_whose_next_run_has_come_soonest_first,
        a_run_is_recorded_once_and_only_while_the_next_run_is_the_one_found_due;
    reopened:
        schedules_survive_a_restart,
}
