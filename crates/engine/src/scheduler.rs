//! Time-based work through the normal pipeline.
//!
//! Nothing happens "by itself": time-based work becomes `EventKind::Tick { job }` events,
//! one per target group, submitted like any platform event. So a scheduled post is decided
//! by a rule, planned against the connector's capabilities, committed with its audit rows
//! and delivered by the outbox like everything else — and each tick's platform event id is
//! deterministic, so the inbox takes every run once per group however often it is
//! submitted (a repeated scan, two schedulers, a restart in between).
//!
//! # Sources: the extension point
//! [`SOURCES`] lists the kinds of due work, one function each. A source is called with the
//! time of the scan, finds what has come due, submits its ticks with [`tick`] and
//! [`submit_ticks`], records that it did (only after every tick is in, so a crash in between
//! re-submits, and the inbox drops the duplicates), and tells when it next has work
//! ([`SourceRun::wake_at`]) so the loop can wake for it. To add one (lottery draws, sign-up
//! lists closing):
//! 1. write `pub fn due(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>>`
//!    in the feature's module;
//! 2. give its ticks a job the feature's rule recognises (`lottery:<id>`) and an id part
//!    unique per run (`lottery:<id>:<draw unix secs>`);
//! 3. list it in [`SOURCES`].
//!
//! The server drives [`run`] (every [`INTERVAL_SECS`] seconds at most, sooner when a
//! source's work is due sooner or when [`Engine::wake_scheduler`] is called); tests call
//! [`Engine::run_due`] with a `ManualClock`.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use qunzhu_core::{BoxFuture, Event, EventKind, GroupKey, Origin, PlatformEventId};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::{Engine, EngineError};

/// One kind of due work (see the module documentation).
pub type Source = for<'a> fn(&'a Engine, DateTime<Utc>) -> BoxFuture<'a, Result<SourceRun, EngineError>>;

/// Every source, by name, in the order a scan runs them.
pub const SOURCES: &[(&str, Source)] = &[
    ("schedule", crate::rules::schedule::source::due),
    ("signup", crate::giveaways::signup_source),
    ("lottery", crate::giveaways::lottery_source),
    ("welcome", crate::rules::welcome::source::due),
    ("referral", crate::growth::referral_source),
    ("gate", crate::rules::admission::gate::source),
    ("care", crate::rules::care::source),
    ("life_stage", crate::life_stage::source),
    ("digest", crate::rules::digest::source),
];

/// The longest the loop sleeps between scans.
pub const INTERVAL_SECS: i64 = 10;

/// Ticks submitted at once; more wait for a free slot.
const IN_FLIGHT: usize = 32;

/// What one source did in one scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceRun {
    /// Ticks the inbox took (duplicates of an earlier submission not counted).
    pub ticks: usize,
    /// The earliest time this source next has work, if it knows one within the interval.
    pub wake_at: Option<DateTime<Utc>>,
    /// Items that failed (retried at the next scan), in words for the log.
    pub errors: Vec<String>,
}

impl SourceRun {
    /// Asks to be woken at `at` (the earliest asked for wins).
    pub fn wake_at(&mut self, at: DateTime<Utc>) {
        self.wake_at = Some(self.wake_at.map_or(at, |earlier| earlier.min(at)));
    }
}

/// What a scan did, over every source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DueReport {
    pub ticks: usize,
    pub wake_at: Option<DateTime<Utc>>,
    /// `(source, what failed)`.
    pub errors: Vec<(&'static str, String)>,
}

impl Engine {
    /// Runs every source once for `now`: due work becomes ticks in the inbox, processed by
    /// the pipeline (with the engine's clock). A failing source is reported and the others
    /// go on.
    pub async fn run_due(&self, now: DateTime<Utc>) -> DueReport {
        let mut report = DueReport::default();
        for (name, source) in SOURCES {
            match source(self, now).await {
                Ok(run) => {
                    report.ticks += run.ticks;
                    if let Some(at) = run.wake_at {
                        report.wake_at = Some(report.wake_at.map_or(at, |earlier| earlier.min(at)));
                    }
                    report.errors.extend(run.errors.into_iter().map(|e| (*name, e)));
                }
                Err(error) => {
                    warn!(source = name, %error, "scheduler source failed; retried at the next scan");
                    report.errors.push((name, error.to_string()));
                }
            }
        }
        report
    }

    /// Wakes the scheduler loop now (a schedule was created or changed).
    pub fn wake_scheduler(&self) {
        self.core.scheduler_wake.send_modify(|generation| *generation += 1);
    }

    /// Changes whenever [`Engine::wake_scheduler`] is called.
    pub fn scheduler_wakeups(&self) -> watch::Receiver<u64> {
        self.core.scheduler_wake.subscribe()
    }
}

/// A tick for `group`: `job` tells the rule what to do, `run_id` (unique per run, e.g.
/// `schedule:3:1767225600`) makes the platform event id `tick:<run_id>:<group>`, which the
/// inbox takes once.
pub fn tick(group: &GroupKey, job: &str, run_id: &str, time: DateTime<Utc>) -> Event {
    Event {
        origin: Origin {
            connector: group.connector.clone(),
            group: group.group.clone(),
            event_id: PlatformEventId::new(format!("tick:{run_id}:{}", group.group)),
        },
        group_name: None,
        time,
        kind: EventKind::Tick { job: job.to_owned() },
    }
}

/// Submits ticks (several at once, each group still in its own order) and waits for them.
/// Returns how many were new to the inbox.
///
/// # Errors
/// The first failure (after every tick was tried); the caller must not record the run as
/// done, so the next scan submits again and the inbox keeps what already went in.
pub async fn submit_ticks(engine: &Engine, ticks: Vec<Event>) -> Result<usize, EngineError> {
    let mut running = JoinSet::new();
    let mut new = 0;
    let mut first_error: Option<EngineError> = None;
    let mut collect = |joined: Result<Result<crate::Processed, EngineError>, tokio::task::JoinError>| match joined {
        Ok(Ok(processed)) => new += usize::from(!processed.duplicate),
        Ok(Err(error)) => {
            first_error.get_or_insert(error);
        }
        Err(error) => {
            warn!(%error, "a tick submission ended abnormally");
            first_error.get_or_insert(EngineError::ShuttingDown);
        }
    };
    for tick in ticks {
        while running.len() >= IN_FLIGHT {
            if let Some(joined) = running.join_next().await {
                collect(joined);
            }
        }
        let engine = engine.clone();
        running.spawn(async move { engine.submit(tick).await });
    }
    while let Some(joined) = running.join_next().await {
        collect(joined);
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(new),
    }
}

/// The scheduler loop: scans, then sleeps until the next known work, at most
/// [`INTERVAL_SECS`], or until woken; returns once `stop` is `true` (between scans, so a
/// run in progress is finished and recorded).
pub async fn run(engine: Engine, mut stop: watch::Receiver<bool>) {
    let mut wakeups = engine.scheduler_wakeups();
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        let report = engine.run_due(engine.clock().now()).await;
        if report.ticks > 0 {
            info!(ticks = report.ticks, "scheduled work submitted");
        }
        let interval = StdDuration::from_secs(INTERVAL_SECS.unsigned_abs());
        let pause = report
            .wake_at
            .map_or(interval, |at| (at - engine.clock().now()).to_std().unwrap_or_default().min(interval))
            .max(StdDuration::from_millis(20));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            changed = wakeups.changed() => {
                if changed.is_err() {
                    // The engine is gone: nothing left to schedule.
                    return;
                }
            }
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
