//! The cooling alert (社群冷却预警): once a day per group, a tick compares the group's life
//! stage ([`crate::insight::life_stage`], judged on complete weeks: [`settled_stage`]) with the stage last recorded for it
//! ([`qunzhu_core::life_stage::StageRecord`]) and commits the stage now with the tick. A
//! **transition into cooling** — the stage now is `cooling` and the record is another stage
//! (or there is none yet: the first check to see it) — alerts staff (NotifyStaff) with the
//! figures. The record is committed with the tick's event, and the tick's id names the local
//! day, so a restart, a second scan or a second scheduler alerts nothing twice; leaving
//! cooling and entering it again alerts again.
//!
//! The [`source`] submits the day's tick for a group from its local `check_hour` on, when the
//! record was not yet checked that day and the group was first seen at least
//! [`NEW_GROUP_DAYS`] ago (a group seen later — e.g. an imported history — is checked from
//! then on).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use qunzhu_core::life_stage::StageRecord;
use qunzhu_core::{ActionKind, BoxFuture, EventKind, StateWrite};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::insight::{LifeStage, WeekRow};
use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::{Proposal, RuleContext, RuleError, Verdict};
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// The job of the daily life-stage tick.
pub const JOB: &str = "life_stage";

/// Days a group must have been seen before its stage is checked (a younger one is `new`).
pub const NEW_GROUP_DAYS: i64 = 14;

/// The `life_stage` settings of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LifeStageSettings {
    /// Check the group's life stage daily and alert staff when it turns to cooling (冷却期).
    pub alert_cooling: bool,
    /// The local hour (0–23) from which the day's check runs.
    pub check_hour: u32,
}

impl Default for LifeStageSettings {
    fn default() -> Self {
        Self { alert_cooling: true, check_hour: 9 }
    }
}

pub fn validate(settings: &LifeStageSettings, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if settings.check_hour > 23 {
        let mut at = path.to_vec();
        at.push("check_hour");
        problems.push(Problem::at(&at, "must be an hour of the day from 0 to 23"));
    }
    problems
}

/// The staff alert of a group entering cooling, from the weeks it was judged on.
pub fn cooling_alert(locale: Locale, group_name: &str, weeks: &[WeekRow]) -> String {
    let n = weeks.len();
    let sum = |from: usize, to: usize| weeks.get(from..to).map_or(0, |w| w.iter().map(|r| r.messages).sum::<i64>());
    let recent = sum(n.saturating_sub(2), n);
    let before = sum(n.saturating_sub(4), n.saturating_sub(2));
    let drop = if before > 0 { (before - recent) * 100 / before } else { 0 };
    match locale {
        Locale::ZhCn => format!(
            "📉 群「{group_name}」进入冷却期：近两周消息 {recent} 条，之前两周 {before} 条（下降 {drop}%）。\n\
             建议：发起一个大家关心的话题或活动，请核心成员带动讨论，私聊沉默成员了解原因。"
        ),
        Locale::En => format!(
            "📉 Group “{group_name}” is cooling: {recent} messages in the last two weeks against {before} in the two before (down {drop}%).\n\
             Try a topic or event members care about, ask the core members to lead, and check in privately with silent members."
        ),
    }
}

/// The life stage judged on the four **complete** weeks before the week of `today` (as of
/// last Sunday): the analytics' stage counts the current, partial week, so it dips every
/// Monday morning; judged on complete weeks, the stage changes at most once a week and a
/// quiet Monday is no transition.
///
/// # Errors
/// When the store fails.
pub async fn settled_stage(store: &dyn qunzhu_core::Store, group: &qunzhu_core::GroupKey, today: NaiveDate) -> Result<(LifeStage, Vec<WeekRow>), qunzhu_core::StoreError> {
    crate::insight::group_life_stage(store, group, crate::insight::week_start(today) - Duration::days(1)).await
}

/// The rule's part: the daily tick records the stage and alerts on a transition into cooling.
pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    if !matches!(&cx.event.kind, EventKind::Tick { job } if job == JOB) || !cx.settings.life_stage.alert_cooling {
        return Ok(Verdict::none());
    }
    let today = cx.event.time.with_timezone(&cx.settings.timezone()).date_naive();
    let previous = cx.store.life_stage_record(&cx.group.key).await?;
    if previous.as_ref().is_some_and(|p| p.checked_on >= today) {
        return Ok(Verdict::none());
    }
    let (stage, weeks) = settled_stage(cx.store, &cx.group.key, today).await?;
    let unchanged = previous.as_ref().filter(|p| p.stage == stage.name());
    let record = StageRecord {
        group: cx.group.key.clone(),
        stage: stage.name().to_owned(),
        checked_on: today,
        since: unchanged.map_or(cx.event.time, |p| p.since),
    };
    let mut verdict = Verdict::none();
    verdict.writes.push(StateWrite::LifeStage(record));
    if stage == LifeStage::Cooling && unchanged.is_none() {
        let from = previous.as_ref().map_or("—", |p| p.stage.as_str());
        let explanation = match cx.locale {
            Locale::ZhCn => format!("群的生命周期从 {from} 变为 cooling（冷却期），提醒管理员"),
            Locale::En => format!("The group's life stage went from {from} to cooling: staff alerted"),
        };
        let text = cooling_alert(cx.locale, cx.group_name(), &weeks);
        verdict.proposals.push(Proposal { kind: ActionKind::NotifyStaff { text }, explanation, not_before: None, target: None });
    }
    Ok(verdict)
}

/// The local day's check time of a group, in UTC.
fn check_time(day: NaiveDate, hour: u32, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let local = day.and_hms_opt(hour, 0, 0)?;
    tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
}

/// The scheduler's source (listed in [`crate::scheduler::SOURCES`]): for every group whose
/// stage was not checked on its local today, once its `check_hour` has come, a tick
/// `life-stage:<day>`.
pub fn source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let rulebook = engine.rulebook();
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        for group in engine.store().list_groups().await? {
            // A group seen for less than NEW_GROUP_DAYS is `new` whatever its figures: nothing
            // to check yet (and no tick for it).
            if now - group.first_seen < Duration::days(NEW_GROUP_DAYS) {
                continue;
            }
            let resolved = rulebook.settings_for(&group.key);
            let settings = &resolved.settings.life_stage;
            if !settings.alert_cooling {
                continue;
            }
            let tz = resolved.timezone();
            let local = now.with_timezone(&tz);
            let today = local.date_naive();
            if local.hour() < settings.check_hour {
                if let Some(at) = check_time(today, settings.check_hour, tz) {
                    run.wake_at(at);
                }
                continue;
            }
            let record = engine.store().life_stage_record(&group.key).await?;
            if record.is_some_and(|r| r.checked_on >= today) {
                if let Some(at) = check_time(today + Duration::days(1), settings.check_hour, tz) {
                    run.wake_at(at);
                }
                continue;
            }
            ticks.push(scheduler::tick(&group.key, JOB, &format!("life-stage:{today}"), now));
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}
