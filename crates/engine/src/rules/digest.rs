//! The `digest` rule (群精华) and its scheduler source.
//!
//! The [`source`] submits, once per group and local day, a tick `digest:<YYYY-MM-DD>` when
//! the day's digest time (`insight.digest.time`, group timezone) has passed, the day had
//! messages (its day rollup) and no digest of it is stored; it also catches up yesterday's
//! once (a server that was down at the time). The tick's platform event id names the day, so
//! the inbox takes it once per group however often it is submitted.
//!
//! On the tick the rule reads the window (see [`crate::digest`]), builds the digest and
//! returns it as a `StateWrite::Digest` committed with the tick (the first digest of a day is
//! kept: exactly once across restarts), plus a `Send` of its text when `insight.digest.post`
//! is on (the planner makes it a staff task where the platform cannot post). An empty day
//! gives nothing.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use qunzhu_core::insight::{DigestRecord, Granularity, day_bucket};
use qunzhu_core::{ActionKind, BoxFuture, EventKind, Segment, StateWrite};

use super::{Proposal, RuleContext, RuleError, Verdict};
use crate::digest::{Day, Staff, build, due_at};
use crate::locale::Locale;
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// The job prefix of digest ticks (`digest:<day>`).
pub const JOB: &str = "digest:";

/// The window of a local day's digest: midnight up to the digest time.
pub fn window(day: NaiveDate, time: NaiveTime, tz: chrono_tz::Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (due_at(day, NaiveTime::MIN, tz), due_at(day, time, tz))
}

/// # Errors
/// When the day cannot be read.
pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.insight.digest;
    let EventKind::Tick { job } = &cx.event.kind else {
        return Ok(Verdict::none());
    };
    let Some(day) = job.strip_prefix(JOB).and_then(|d| d.parse::<NaiveDate>().ok()) else {
        return Ok(Verdict::none());
    };
    if !settings.enabled || cx.store.digest(&cx.group.key, day).await?.is_some() {
        return Ok(Verdict::none());
    }
    let tz = cx.settings.timezone();
    let (from, until) = window(day, settings.time_of_day(), tz);
    let read = Day::read(cx.store, &cx.group.key, day, from, until).await?;
    let Some(digest) = build(&cx.group.key, cx.group_name(), day, (from, until), &read, &Staff(&cx.settings.care.staff_members), settings, tz)
    else {
        return Ok(Verdict::none());
    };
    let text = digest.render(cx.locale);
    let body = serde_json::to_string(&digest).unwrap_or_default();
    let mut verdict = Verdict::none();
    verdict.writes.push(StateWrite::Digest(DigestRecord { group: cx.group.key.clone(), day, created_at: cx.event.time, body, text: text.clone() }));
    if settings.post {
        let explanation = match cx.locale {
            Locale::ZhCn => format!("{day} 的群精华"),
            Locale::En => format!("The daily digest of {day}"),
        };
        verdict.proposals.push(Proposal { kind: ActionKind::Send { segments: vec![Segment::text(text)] }, explanation, not_before: None, target: None });
    }
    Ok(verdict)
}

/// The scheduler's source (listed in [`crate::scheduler::SOURCES`]; see the module docs).
pub fn source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let rulebook = engine.rulebook();
        let store = engine.store();
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        for group in store.list_groups().await? {
            let resolved = rulebook.settings_for(&group.key);
            let settings = &resolved.settings.insight.digest;
            if !settings.enabled {
                continue;
            }
            let tz = resolved.settings.timezone();
            let today = now.with_timezone(&tz).date_naive();
            for day in [today - Duration::days(1), today] {
                let due = due_at(day, settings.time_of_day(), tz);
                if due > now {
                    run.wake_at(due);
                    continue;
                }
                let bucket = day_bucket(day);
                let talked = store
                    .insight_rollups(&group.key, Granularity::Day, bucket, bucket + 1)
                    .await?
                    .iter()
                    .any(|r| r.member.is_none() && r.counts.messages > 0);
                if talked && store.digest(&group.key, day).await?.is_none() {
                    ticks.push(scheduler::tick(&group.key, &format!("{JOB}{day}"), &format!("{JOB}{day}"), now));
                }
            }
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}
