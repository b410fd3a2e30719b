//! The scheduler's source for schedules: finds runs that have come, applies the missed-run
//! policy, and submits one tick per target group, spread over time.
//!
//! **Missed runs.** A run processed more than [`LATE_AFTER_SECS`] after its time was missed
//! (qunzhu was down). Of the runs that came since the schedule's stored next run, only the
//! latest can be posted: on time, it is posted and earlier ones are skipped; late, `skip`
//! drops it too while `catch_up_once` posts it once. The audit log records every skipped run
//! and every catch-up.
//!
//! **Spread.** The target groups of each connector are taken in key order; the `k`-th
//! (from 0) waits `floor(k × 60 / groups_per_minute)` seconds after the run (its tick's job
//! says so, the rule sets `not_before`), so at most `groups_per_minute` of them get the post
//! in any minute: 500 groups at 20 a minute take 25 minutes. `0` posts to all at once.
//!
//! **Exactly once.** Each tick's platform event id is `tick:schedule:<id>:<run unix
//! secs>:<group>`, so however often a run is submitted (a scan repeated, two schedulers, a
//! restart between submitting and recording), the inbox takes it once per group. The run is
//! recorded only after every tick is in, and only if the schedule's next run did not move.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::schedule::{MissedRuns, Schedule, ScheduleRun};
use qunzhu_core::{BoxFuture, ConnectorId, NewAuditEntry};
use tracing::warn;

use super::manage::compile_stored;
use super::{Job, LATE_AFTER_SECS};
use crate::locale::Locale;
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// Schedules read per scan; the rest wait for the next one.
const BATCH: u32 = 1000;
/// Missed runs counted at most (a number beyond it is shown as is).
const COUNT_CAP: usize = 10_000;

/// The source function listed in [`crate::scheduler::SOURCES`].
pub fn due(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(run_due(engine, now))
}

async fn run_due(engine: &Engine, now: DateTime<Utc>) -> Result<SourceRun, EngineError> {
    let horizon = now + Duration::seconds(scheduler::INTERVAL_SECS);
    let mut out = SourceRun::default();
    for schedule in engine.store().due_schedules(horizon, BATCH).await? {
        let Some(next) = schedule.next_run else { continue };
        if next > now {
            out.wake_at(next);
            continue;
        }
        match run_schedule(engine, &schedule, next, now).await {
            Ok(ticks) => out.ticks += ticks,
            Err(error) => {
                warn!(schedule = %schedule.id, %error, "scheduled run failed; retried at the next scan");
                out.errors.push(format!("schedule #{}: {error}", schedule.id));
            }
        }
    }
    Ok(out)
}

/// What to do with the runs that came: the run to post (if any) and how many were skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub post: Option<DateTime<Utc>>,
    pub skipped: usize,
    pub late: bool,
}

/// Applies the missed-run policy to the runs from `next` (the stored next run) to `now`.
pub fn decide(recurrence: &super::when::Recurrence, policy: MissedRuns, next: DateTime<Utc>, now: DateTime<Utc>) -> Decision {
    let latest = recurrence.latest_until(now).filter(|latest| *latest >= next).unwrap_or(next);
    let earlier = recurrence.count_between(next, latest, COUNT_CAP);
    let late = (now - latest).num_seconds() > LATE_AFTER_SECS;
    match (policy, late) {
        (MissedRuns::Skip, true) => Decision { post: None, skipped: earlier + 1, late },
        _ => Decision { post: Some(latest), skipped: earlier, late },
    }
}

async fn run_schedule(engine: &Engine, schedule: &Schedule, next: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize, EngineError> {
    let locale = engine.locale();
    let recurrence = match compile_stored(schedule) {
        Ok(recurrence) => recurrence,
        Err(error) => {
            // Saved valid, now refused (e.g. a newer croner): stop it and say why.
            let summary = format!("{}{}", locale.pick("定时任务已停止，定义无法解析：", "schedule stopped, its definition no longer parses: "), error.message);
            let run = ScheduleRun { expected: next, ran: None, next_run: None, audit: vec![row(schedule, "schedule.broken", summary, now)] };
            engine.store().record_schedule_run(schedule.id, &run).await?;
            return Ok(0);
        }
    };
    let decision = decide(&recurrence, schedule.def.missed, next, now);
    let mut audit = Vec::new();
    if decision.skipped > 0 {
        let summary = match locale {
            Locale::ZhCn => format!("停机期间错过 {} 次运行，按策略 {} 跳过", decision.skipped, schedule.def.missed.name()),
            Locale::En => format!("{} run(s) missed while down, skipped per policy {}", decision.skipped, schedule.def.missed.name()),
        };
        audit.push(row(schedule, "schedule.missed", summary, now));
    }
    let mut ticks = 0;
    if let Some(run) = decision.post {
        if decision.late {
            let local = run.with_timezone(&recurrence.timezone()).format("%Y-%m-%d %H:%M");
            let summary = match locale {
                Locale::ZhCn => format!("停机后补发一次（原定 {local}）"),
                Locale::En => format!("caught up once after downtime (due {local})"),
            };
            audit.push(row(schedule, "schedule.catch_up", summary, now));
        }
        let groups = engine.schedule_targets(&schedule.def.target).await?;
        let mut position: HashMap<ConnectorId, u64> = HashMap::new();
        let events = groups
            .iter()
            .map(|group| {
                let k = position.entry(group.connector.clone()).or_default();
                let delay_secs = spread_delay_secs(*k, schedule.def.groups_per_minute);
                *k += 1;
                let job = Job { schedule: schedule.id, delay_secs };
                scheduler::tick(group, &job.to_string(), &format!("schedule:{}:{}", schedule.id, run.timestamp()), run)
            })
            .collect();
        ticks = scheduler::submit_ticks(engine, events).await?;
    }
    let record = ScheduleRun { expected: next, ran: decision.post, next_run: recurrence.next_after(now), audit };
    engine.store().record_schedule_run(schedule.id, &record).await?;
    Ok(ticks)
}

/// How long the `k`-th group (from 0) of a connector waits after the run.
pub fn spread_delay_secs(k: u64, groups_per_minute: u32) -> u64 {
    match groups_per_minute {
        0 => 0,
        rate => k * 60 / u64::from(rate),
    }
}

fn row(schedule: &Schedule, kind: &str, summary: String, now: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry {
        time: now,
        actor: "scheduler".into(),
        kind: kind.into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("schedule".into()),
        summary: format!("定时任务 #{}「{}」：{summary}", schedule.id, schedule.def.name),
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_core::schedule::When;

    use super::super::when::Recurrence;
    use super::*;

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    }

    #[test]
    fn the_spread_keeps_each_minute_within_the_rate() {
        let delays: Vec<u64> = (0..500).map(|k| spread_delay_secs(k, 20)).collect();
        assert_eq!((delays[0], delays[1], delays[20], delays[499]), (0, 3, 60, 1497));
        for minute in 0..25 {
            assert_eq!(delays.iter().filter(|d| **d / 60 == minute).count(), 20);
        }
        assert_eq!(spread_delay_secs(499, 0), 0);
    }

    #[test]
    fn an_on_time_run_is_posted_and_runs_missed_before_it_are_skipped_whatever_the_policy() {
        let daily = Recurrence::compile(&When::Cron { cron: "0 8 * * *".into() }, chrono_tz::UTC).unwrap();
        for policy in [MissedRuns::Skip, MissedRuns::CatchUpOnce] {
            assert_eq!(decide(&daily, policy, utc(22, 8, 0), utc(22, 8, 0)), Decision { post: Some(utc(22, 8, 0)), skipped: 0, late: false });
            assert_eq!(decide(&daily, policy, utc(20, 8, 0), utc(22, 8, 1)), Decision { post: Some(utc(22, 8, 0)), skipped: 2, late: false });
        }
    }

    #[test]
    fn after_downtime_skip_posts_nothing_and_catch_up_posts_the_latest_run_once() {
        let daily = Recurrence::compile(&When::Cron { cron: "0 8 * * *".into() }, chrono_tz::UTC).unwrap();
        let down_since = utc(20, 8, 0);
        let back = utc(22, 10, 0);
        assert_eq!(decide(&daily, MissedRuns::Skip, down_since, back), Decision { post: None, skipped: 3, late: true });
        assert_eq!(decide(&daily, MissedRuns::CatchUpOnce, down_since, back), Decision { post: Some(utc(22, 8, 0)), skipped: 2, late: true });
    }
}
