//! The outbox delivery loop: a connector's due actions, in outbox order, handed to the
//! connector; each attempt recorded with an audit row; temporary failures retried with
//! exponential backoff; sends throttled per group. Nothing is dropped: an action not yet
//! delivered when the loop stops stays pending in the store for the next run.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use qunzhu_core::store::{AttemptResult, OutboxEntry};
use qunzhu_core::{
    ActionKind, Clock, Connector, Delivery, DeliveryError, GroupKey, NewAuditEntry, Store,
};
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// How the loop paces itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSettings {
    /// Look for due actions at least this often, even when nothing signals a change
    /// (retries becoming due, `not_before` passing, another process writing the store).
    pub poll: Duration,
    /// First retry delay; doubled with every further failure.
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// After this many failed attempts an action is marked failed.
    pub max_attempts: u32,
    /// Actions fetched per round.
    pub batch: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
            max_attempts: 8,
            batch: 200,
        }
    }
}

impl OutboxSettings {
    /// The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// Runs the loop with [`OutboxSettings::default`] until `shutdown` turns true.
pub async fn run(
    store: Arc<dyn Store>,
    connector: Arc<dyn Connector>,
    clock: Arc<dyn Clock>,
    changes: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
) {
    run_with(
        store,
        connector,
        clock,
        changes,
        shutdown,
        OutboxSettings::default(),
    )
    .await;
}

/// Governor's clock, read from tokio's, so throttling follows paused time in tests.
#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

impl GovernorClock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type GroupLimiter = RateLimiter<GroupKey, DashMapStateStore<GroupKey>, TokioClock>;

/// Why the loop is waiting: until this instant at the latest.
fn until(now: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    now + wait
}

/// See [`run`]; `settings` tune the pacing (tests use short delays).
pub async fn run_with(
    store: Arc<dyn Store>,
    connector: Arc<dyn Connector>,
    clock: Arc<dyn Clock>,
    mut changes: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
    settings: OutboxSettings,
) {
    let id = connector.id().clone();
    let limiter: Option<GroupLimiter> = connector
        .capabilities()
        .sends_per_minute_per_group
        .and_then(NonZeroU32::new)
        .map(|per_minute| {
            RateLimiter::new(
                Quota::per_minute(per_minute),
                DashMapStateStore::default(),
                TokioClock,
            )
        });
    info!(connector = %id, "outbox loop started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Mark the current generation seen before reading, so a commit landing while we
        // deliver wakes the next wait instead of being missed.
        changes.borrow_and_update();
        let mut wake = until(tokio::time::Instant::now(), settings.poll);
        match store.due_actions(&id, clock.now(), settings.batch).await {
            Ok(due) => {
                let mut throttled: HashMap<GroupKey, Duration> = HashMap::new();
                for entry in due {
                    if *shutdown.borrow() {
                        break;
                    }
                    // Keep each group's order: once a group is throttled, its later actions wait too.
                    if throttled.contains_key(&entry.action.group) {
                        continue;
                    }
                    if let Some(limiter) = &limiter
                        && is_send(&entry.action.kind)
                        && let Err(not_until) = limiter.check_key(&entry.action.group)
                    {
                        let wait = not_until.wait_time_from(TokioClock.now());
                        debug!(connector = %id, group = %entry.action.group, wait_ms = wait.as_millis() as u64, "send throttled");
                        throttled.insert(entry.action.group.clone(), wait);
                        continue;
                    }
                    if let Some(retry_at) = attempt(
                        store.as_ref(),
                        connector.as_ref(),
                        clock.as_ref(),
                        &settings,
                        &entry,
                    )
                    .await
                    {
                        let wait = (retry_at - clock.now()).to_std().unwrap_or_default();
                        wake = wake.min(until(tokio::time::Instant::now(), wait));
                    }
                }
                if let Some(shortest) = throttled.values().min() {
                    wake = wake.min(until(tokio::time::Instant::now(), *shortest));
                }
            }
            Err(error) => {
                warn!(connector = %id, %error, "could not read the outbox; trying again shortly")
            }
        }
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    // The engine is gone; keep polling on the timer until shutdown.
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    info!(connector = %id, "outbox loop stopped; undelivered actions stay in the outbox");
}

/// Actions the per-group send limit applies to: messages posted in the group.
fn is_send(kind: &ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Send { .. } | ActionKind::Reply { .. } | ActionKind::SetAnnouncement { .. }
    )
}

/// Stores the staff task for an action the platform refused, with its audit row.
async fn hand_over(
    store: &dyn Store,
    connector: &dyn Connector,
    action: &qunzhu_core::Action,
    now: DateTime<Utc>,
    reason: &str,
    title: String,
    step: String,
) -> Result<(), qunzhu_core::StoreError> {
    let task = qunzhu_core::StaffTask {
        id: qunzhu_core::TaskId::new(format!("task-{}", action.id)),
        group: action.group.clone(),
        title: title.clone(),
        step,
        action: action.clone(),
        status: qunzhu_core::TaskStatus::Open,
        created_at: now,
        updated_at: now,
        updated_by: None,
    };
    let audit = NewAuditEntry {
        time: now,
        actor: format!("outbox:{}", connector.id()),
        kind: "task.handover".into(),
        group: Some(action.group.clone()),
        event_id: action.cause.clone(),
        action_id: Some(action.id.clone()),
        rule: Some(action.rule.clone()),
        summary: format!("平台拒绝执行，已转为待办：{title}"),
        detail: Some(reason.to_owned()),
    };
    if store.hand_over(&task, &audit).await? {
        info!(connector = %connector.id(), action = %action.id, "the platform refused the action; handed to staff as a task");
    }
    Ok(())
}

/// Delivers one action and records the outcome. Returns the retry time when one was set.
async fn attempt(
    store: &dyn Store,
    connector: &dyn Connector,
    clock: &dyn Clock,
    settings: &OutboxSettings,
    entry: &OutboxEntry,
) -> Option<DateTime<Utc>> {
    let action = &entry.action;
    let outcome = connector.deliver(action).await;
    let now = clock.now();
    // What the platform refuses but a person can do becomes a staff task (once: the task id
    // follows the action id) before the action is marked failed; if the task cannot be
    // stored, the action is tried again later.
    let outcome = match outcome {
        Err(DeliveryError::NeedsStaff {
            reason,
            title,
            step,
        }) => match hand_over(store, connector, action, now, &reason, title, step).await {
            Ok(()) => Err(DeliveryError::Permanent(format!("{reason}（已转为待办）"))),
            Err(error) => Err(DeliveryError::Temporary {
                message: format!("{reason}; the staff task could not be stored ({error})"),
                retry_after_secs: None,
            }),
        },
        other => other,
    };
    let failures = entry.attempts + 1;
    let (result, summary) = match outcome {
        Ok(Delivery::Done) => (
            AttemptResult::Delivered,
            format!("已送达：{}", action.kind.name()),
        ),
        Ok(Delivery::AwaitingPeer) => (
            AttemptResult::AwaitingPeer,
            format!("已交给对端执行：{}", action.kind.name()),
        ),
        Err(DeliveryError::Permanent(error) | DeliveryError::NeedsStaff { reason: error, .. }) => (
            AttemptResult::Failed {
                error: error.clone(),
            },
            format!("执行失败，不再重试：{}（{error}）", action.kind.name()),
        ),
        Err(DeliveryError::Temporary { message, .. }) if failures >= settings.max_attempts => (
            AttemptResult::Failed {
                error: message.clone(),
            },
            format!(
                "已尝试 {failures} 次仍失败，不再重试：{}（{message}）",
                action.kind.name()
            ),
        ),
        Err(DeliveryError::Temporary {
            message,
            retry_after_secs,
        }) => {
            let mut delay = settings.backoff(failures);
            if let Some(secs) = retry_after_secs {
                delay = delay.max(Duration::from_secs(secs));
            }
            let next_attempt_at =
                now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            let summary = format!(
                "第 {failures} 次执行失败，{} 秒后重试：{}（{message}）",
                delay.as_secs(),
                action.kind.name()
            );
            (
                AttemptResult::Retry {
                    next_attempt_at,
                    error: message,
                },
                summary,
            )
        }
    };
    let audit = NewAuditEntry {
        time: now,
        actor: format!("outbox:{}", connector.id()),
        kind: "action.result".into(),
        group: Some(action.group.clone()),
        event_id: action.cause.clone(),
        action_id: Some(action.id.clone()),
        rule: Some(action.rule.clone()),
        summary,
        detail: None,
    };
    match &result {
        AttemptResult::Failed { error } => {
            warn!(connector = %connector.id(), action = %action.id, %error, "action failed for good")
        }
        AttemptResult::Retry { error, .. } => {
            warn!(connector = %connector.id(), action = %action.id, %error, attempt = failures, "action failed; will retry")
        }
        _ => debug!(connector = %connector.id(), action = %action.id, "action delivered"),
    }
    if let Err(error) = store
        .record_attempt(&action.id, &result, now, Some(&audit))
        .await
    {
        // The action stays pending in the store and is tried again: at-least-once delivery.
        warn!(connector = %connector.id(), action = %action.id, %error, "could not record the delivery attempt");
    }
    match result {
        AttemptResult::Retry {
            next_attempt_at, ..
        } => Some(next_attempt_at),
        _ => None,
    }
}
