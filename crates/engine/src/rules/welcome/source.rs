//! The scheduler's source for batched welcomes (listed in [`crate::scheduler::SOURCES`]):
//! for every group with joins still owed a welcome, one tick at its oldest such join +
//! `batch_window_secs`. The tick's run id is `welcome:<oldest join, unix µs>`, so however
//! often a scan submits it the inbox takes it once, and once it is processed those joins
//! are no longer owed (a later batch has a later oldest join, hence a new tick).

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::BoxFuture;

use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// Groups read per scan; the rest wait for the next one.
const BATCH: u32 = 500;

pub fn due(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let rulebook = engine.rulebook();
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        for (group, first) in engine.store().due_welcomes(BATCH).await? {
            let window = rulebook.settings_for(&group).settings.welcome.batch_window_secs;
            let due_at = first + Duration::seconds(i64::try_from(window).unwrap_or(i64::MAX / 1_000_000).min(86_400));
            if due_at > now {
                run.wake_at(due_at);
                continue;
            }
            let run_id = format!("{}:{}", super::JOB, first.timestamp_micros());
            ticks.push(scheduler::tick(&group, super::JOB, &run_id, now));
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}
