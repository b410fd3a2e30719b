//! Insight (数据管理): what each event adds to the activity rollups, the rebuild from the
//! stored events, and the group analytics computed from the rollups.
//!
//! ## What is counted
//! Every event with an actor in a group gives one [`Tally`] (rule `insight`, last in
//! [`crate::rules::Rule::ALL`], kept even when an earlier rule suppressed the others):
//! - **messages**: every posted message, deleted spam included;
//! - **violations**: a moderation verdict acted on for the event (dry runs excluded), marked by
//!   the pipeline from moderation's verdict ([`complete`]);
//! - **check-ins**: the check-ins the points rule recorded with the event (make-ups included;
//!   none when moderation suppressed it);
//! - **joins**, **leaves**: `member_joined`, `member_left`;
//! - **questions**: messages for which `qunzhu_text::question::is_question` holds;
//! - **answers**: a message by someone other than the asker that replies to a question message
//!   (a `reply` segment to a message counted as a question), or that mentions a member who asked
//!   a question in the group within the hour before ([`ANSWER_WINDOW_SECS`]).
//!
//! Hour rows are UTC hours; day rows are the group's local days (rulebook `timezone`).
//! `qunzhu rollup --rebuild` ([`rebuild`]) forgets the rollups and replays every processed
//! event through the same [`tally`], reading the violation (by its deterministic id) and the
//! check-ins (by member and event time) the event's commit stored, so it gives the live
//! figures (with the *current* rulebook's timezones).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
pub use chrono_tz::Tz;
use qunzhu_core::insight::{Counts, Granularity, InsightWrite, Rollup, Tally, bucket_day, bucket_hour, day_bucket, hour_bucket};
use qunzhu_core::moderation::Violation;
use qunzhu_core::store::Commit;
use qunzhu_core::{Event, EventKind, GroupKey, MemberId, Segment, StateWrite, Store, StoreError};
use serde::Serialize;

use crate::rulebook::CompiledRulebook;

/// How long after a question a mention of its asker counts as an answer, in seconds.
pub const ANSWER_WINDOW_SECS: i64 = 3600;

/// What `event` adds to the rollups; `None` for events without an actor in the group.
///
/// # Errors
/// When the remembered questions cannot be read.
pub async fn tally(store: &dyn Store, event: &Event, tz: Tz) -> Result<Option<Tally>, StoreError> {
    let group = event.group_key();
    let mut counts = Counts::default();
    let mut question = None;
    let member = match &event.kind {
        EventKind::MessagePosted { author, message } => {
            counts.messages = 1;
            if qunzhu_text::question::is_question(&message.plain_text()) {
                counts.questions = 1;
                question = Some(message.id.clone());
            }
            if answers(store, &group, &author.id, &message.segments, event.time).await? {
                counts.answers = 1;
            }
            author.id.clone()
        }
        EventKind::MemberJoined { member, .. } => {
            counts.joins = 1;
            member.id.clone()
        }
        EventKind::MemberLeft { member, .. } => {
            counts.leaves = 1;
            member.id.clone()
        }
        _ => return Ok(None),
    };
    Ok(Some(Tally {
        id: format!("{}/{}/insight", event.origin.connector, event.origin.event_id),
        group,
        member: Some(member),
        at: event.time,
        day: event.time.with_timezone(&tz).date_naive(),
        counts,
        question,
    }))
}

async fn answers(
    store: &dyn Store,
    group: &GroupKey,
    author: &MemberId,
    segments: &[Segment],
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    for segment in segments {
        if let Segment::Reply { message_id } = segment
            && let Some(asker) = store.insight_question_asker(group, message_id).await?
            && &asker != author
        {
            return Ok(true);
        }
    }
    for segment in segments {
        if let Segment::Mention { member, .. } = segment
            && member != author
            && store.insight_asked_between(group, member, at - Duration::seconds(ANSWER_WINDOW_SECS), at).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Completes the event's tally with what other rules decided: its check-ins and whether a
/// violation was acted on.
pub(crate) fn complete<'a>(writes: &mut [StateWrite], violations: impl Iterator<Item = &'a Violation>) {
    let violations = violations.filter(|v| !v.dry_run).count() as i64;
    let check_ins = writes.iter().filter(|w| matches!(w, StateWrite::CheckIn(_))).count() as i64;
    for write in writes.iter_mut() {
        if let StateWrite::Insight(InsightWrite::Tally(tally)) = write {
            tally.counts.violations = violations.min(1);
            tally.counts.check_ins = check_ins;
        }
    }
}

/// What a rebuild did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub events: u64,
    pub tallies: u64,
}

/// Forgets the rollups and recomputes them from the stored (processed) events.
///
/// # Errors
/// When the store fails.
pub async fn rebuild(store: &dyn Store, rulebook: &CompiledRulebook) -> Result<RebuildReport, StoreError> {
    store.insight_reset().await?;
    let mut report = RebuildReport::default();
    let mut after = 0;
    loop {
        let batch = store.processed_events(after, 500).await?;
        let Some((last, _)) = batch.last() else { break };
        after = *last;
        for (_, event) in &batch {
            report.events += 1;
            let tz = rulebook.settings_for(&event.group_key()).timezone();
            let Some(mut tally) = tally(store, event, tz).await? else { continue };
            stored_facts(store, event, tz, &mut tally).await?;
            let commit = Commit { writes: vec![StateWrite::Insight(InsightWrite::Tally(Box::new(tally)))], ..Commit::default() };
            store.commit(&commit).await?;
            report.tallies += 1;
        }
    }
    Ok(report)
}

/// The violation and check-ins the event's own commit stored.
async fn stored_facts(store: &dyn Store, event: &Event, tz: Tz, tally: &mut Tally) -> Result<(), StoreError> {
    let violation_id = format!("v-{}-{}", event.origin.connector, event.origin.event_id);
    if store.get_violation(&violation_id).await?.is_some_and(|v| !v.dry_run) {
        tally.counts.violations = 1;
    }
    if let (EventKind::MessagePosted { .. }, Some(member)) = (&event.kind, &tally.member) {
        let today = event.time.with_timezone(&tz).date_naive();
        for day in [today, today - Duration::days(1)] {
            if store.check_in_on(&tally.group, member, day).await?.is_some_and(|c| c.time == event.time) {
                tally.counts.check_ins += 1;
            }
        }
    }
    Ok(())
}

// --- analytics ---

/// The Monday starting the week of `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

fn pct_change(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| round1((now - before) as f64 * 100.0 / before as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One week of the weekly activity table (周活跃表).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeekRow {
    /// The Monday (group time) the week starts.
    pub week_start: NaiveDate,
    /// Members at the end of the week: members on record now, less the joins and plus the
    /// leaves counted after the week.
    pub members: i64,
    /// Distinct members who posted in the week.
    pub active: i64,
    /// `(members − active) / members`, in percent (one decimal); 0 for an empty group.
    pub silent_pct: f64,
    pub messages: i64,
    pub joins: i64,
    pub leaves: i64,
    pub check_ins: i64,
    pub violations: i64,
    pub questions: i64,
    pub answers: i64,
    /// Messages against the week before, in percent; none when that week had none.
    pub messages_change_pct: Option<f64>,
    /// Active members against the week before, in percent.
    pub active_change_pct: Option<f64>,
}

/// The weekly activity table of the `weeks` weeks ending with the week of `today`, oldest
/// first, from the group's day rows (group and member rows) from the first of those weeks on.
pub fn weekly(day_rows: &[Rollup], members_now: i64, today: NaiveDate, weeks: u32) -> Vec<WeekRow> {
    let current = week_start(today);
    let mut rows: Vec<WeekRow> = Vec::new();
    for back in (0..i64::from(weeks)).rev() {
        let start = current - Duration::weeks(back);
        let (from, until) = (day_bucket(start), day_bucket(start + Duration::days(7)));
        let mut counts = Counts::default();
        let mut speakers = BTreeSet::new();
        let mut later_net = 0;
        for row in day_rows {
            match &row.member {
                None if row.bucket >= from && row.bucket < until => counts.add(&row.counts),
                None if row.bucket >= until => later_net += row.counts.joins - row.counts.leaves,
                Some(m) if row.bucket >= from && row.bucket < until && row.counts.messages > 0 => {
                    speakers.insert(m.clone());
                }
                _ => {}
            }
        }
        let members = (members_now - later_net).max(0);
        let active = speakers.len() as i64;
        let silent_pct = if members > 0 { round1((members - active).max(0) as f64 * 100.0 / members as f64) } else { 0.0 };
        let previous = rows.last();
        rows.push(WeekRow {
            week_start: start,
            members,
            active,
            silent_pct,
            messages: counts.messages,
            joins: counts.joins,
            leaves: counts.leaves,
            check_ins: counts.check_ins,
            violations: counts.violations,
            questions: counts.questions,
            answers: counts.answers,
            messages_change_pct: previous.and_then(|p| pct_change(counts.messages, p.messages)),
            active_change_pct: previous.and_then(|p| pct_change(active, p.active)),
        });
    }
    rows
}

/// The weekly table of a group, read from the store.
///
/// # Errors
/// When the store fails.
pub async fn weekly_table(store: &dyn Store, group: &GroupKey, today: NaiveDate, weeks: u32) -> Result<Vec<WeekRow>, StoreError> {
    let first = week_start(today) - Duration::weeks(i64::from(weeks.saturating_sub(1)));
    let rows = store.insight_rollups(group, Granularity::Day, day_bucket(first), i64::MAX).await?;
    let members = i64::from(store.count_members(group).await?);
    Ok(weekly(&rows, members, today, weeks))
}

/// A member's engagement over a window of days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Engagement {
    pub member: MemberId,
    /// `messages + 5 × days_active + 3 × answers + check_ins`.
    pub score: i64,
    pub messages: i64,
    pub days_active: i64,
    pub answers: i64,
    pub questions: i64,
    pub check_ins: i64,
    /// The last local day they posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active: Option<NaiveDate>,
}

/// Engagement per member from member day rows, highest score first (then member id).
pub fn engagement(day_rows: &[Rollup]) -> Vec<Engagement> {
    let mut by_member: BTreeMap<MemberId, Engagement> = BTreeMap::new();
    for row in day_rows {
        let Some(member) = &row.member else { continue };
        let e = by_member.entry(member.clone()).or_insert_with(|| Engagement {
            member: member.clone(),
            score: 0,
            messages: 0,
            days_active: 0,
            answers: 0,
            questions: 0,
            check_ins: 0,
            last_active: None,
        });
        e.messages += row.counts.messages;
        e.answers += row.counts.answers;
        e.questions += row.counts.questions;
        e.check_ins += row.counts.check_ins;
        if row.counts.messages > 0 {
            e.days_active += 1;
            let day = bucket_day(row.bucket);
            e.last_active = Some(e.last_active.map_or(day, |d| d.max(day)));
        }
    }
    let mut all: Vec<Engagement> = by_member
        .into_values()
        .map(|mut e| {
            e.score = e.messages + 5 * e.days_active + 3 * e.answers + e.check_ins;
            e
        })
        .collect();
    all.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.member.cmp(&b.member)));
    all
}

/// The members who carry the group (核心成员): by [`engagement`] score, the top 7 with a
/// score of at least a quarter of the top score, but at least the top 3 (of those with any
/// score).
pub fn core_members(day_rows: &[Rollup]) -> Vec<Engagement> {
    let all: Vec<Engagement> = engagement(day_rows).into_iter().filter(|e| e.score > 0).collect();
    let top = all.first().map_or(0, |e| e.score);
    all.into_iter().enumerate().filter(|(i, e)| *i < 3 || e.score * 4 >= top).map(|(_, e)| e).take(7).collect()
}

/// Weekday (Monday = 0) × local hour grid of messages from the group's hour rows.
pub fn peak_hours(hour_rows: &[Rollup], tz: Tz) -> [[i64; 24]; 7] {
    let mut grid = [[0i64; 24]; 7];
    for row in hour_rows.iter().filter(|r| r.member.is_none()) {
        let local = bucket_hour(row.bucket).with_timezone(&tz);
        let (day, hour) = (local.weekday().num_days_from_monday() as usize, local.hour() as usize);
        if let Some(cell) = grid.get_mut(day).and_then(|d| d.get_mut(hour)) {
            *cell += row.counts.messages;
        }
    }
    grid
}

/// The hour bucket range of the `days` days before `now`.
pub fn hour_range(now: DateTime<Utc>, days: u32) -> (i64, i64) {
    (hour_bucket(now - Duration::days(i64::from(days))), hour_bucket(now) + 1)
}

/// A group's life stage (生命周期).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeStage {
    New,
    Growing,
    Mature,
    Cooling,
    Dormant,
}

impl LifeStage {
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Growing => "growing",
            Self::Mature => "mature",
            Self::Cooling => "cooling",
            Self::Dormant => "dormant",
        }
    }
}

/// The life stage by this rule, over the weekly table (oldest first, the current week last)
/// and the group's first active day; "recent" is the last two weeks, "before" the two weeks
/// before them (messages):
/// 1. **new** — its first recorded day is less than 14 days before `today`;
/// 2. **dormant** — no message recently;
/// 3. **cooling** — before had at least 20 messages and recent has less than 60 % of it;
/// 4. **growing** — recent has at least 120 % of before (or before had none), or more joins
///    than leaves recently with the members up;
/// 5. **mature** — otherwise.
pub fn life_stage(weeks: &[WeekRow], first_day: Option<NaiveDate>, today: NaiveDate) -> LifeStage {
    if first_day.is_none_or(|d| (today - d).num_days() < 14) {
        return LifeStage::New;
    }
    let n = weeks.len();
    let sum = |from: usize, to: usize| weeks.get(from..to).map_or(0, |w| w.iter().map(|r| r.messages).sum::<i64>());
    let recent = sum(n.saturating_sub(2), n);
    let before = sum(n.saturating_sub(4), n.saturating_sub(2));
    let net: i64 = weeks.iter().skip(n.saturating_sub(2)).map(|r| r.joins - r.leaves).sum();
    if recent == 0 {
        LifeStage::Dormant
    } else if before >= 20 && recent * 10 < before * 6 {
        LifeStage::Cooling
    } else if recent * 10 >= before * 12 || net > 0 {
        LifeStage::Growing
    } else {
        LifeStage::Mature
    }
}

/// A group's life stage now, with the figures it was judged on.
///
/// # Errors
/// When the store fails.
pub async fn group_life_stage(store: &dyn Store, group: &GroupKey, today: NaiveDate) -> Result<(LifeStage, Vec<WeekRow>), StoreError> {
    let weeks = weekly_table(store, group, today, 4).await?;
    let first = store.insight_rollups(group, Granularity::Day, i64::MIN, i64::MAX).await?.first().map(|r| bucket_day(r.bucket));
    Ok((life_stage(&weeks, first, today), weeks))
}
