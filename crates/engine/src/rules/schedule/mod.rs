//! Scheduled posts (定时任务) and the group announcement (群公告).
//!
//! Schedules are operational data in the store, created through the API ([`manage`]). The
//! scheduler's [`source`] finds due runs and submits one `Tick` per target group; this rule,
//! on its tick, renders the post for that group and proposes a `Send` (or a
//! `SetAnnouncement`, which the planner turns into a staff task where the platform has no
//! announcements). An operator's `set_announcement` command (an `OperatorCommand` event) is
//! proposed the same way.
//!
//! - [`when`] — recurrences (cron, one-off, holidays) in a timezone.
//! - [`holidays`] — the Chinese holiday calendar shipped in `data/holidays/cn.tsv`.
//! - [`manage`] — create, change, pause, resume, delete and preview schedules.
//! - [`source`] — the scheduler's due-work source for schedules: missed runs, spread.

pub mod holidays;
pub mod manage;
pub mod source;
pub mod when;

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use chrono_tz::Tz;
use qunzhu_core::schedule::{PostKind, Schedule, ScheduleId};
use qunzhu_core::{ActionKind, EventKind, Segment};
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

/// Placeholders a scheduled post or an announcement may use.
pub const PLACEHOLDERS: &[&str] = &["group", "date", "weekday", "holiday"];

/// A run is late — a catch-up after downtime — when it is processed this long after its time.
pub const LATE_AFTER_SECS: i64 = 5 * 60;

/// The job of a schedule's tick: `schedule:<id>` and, when the group's post waits to spread
/// a run over time, `+<seconds>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub schedule: ScheduleId,
    /// How long after the run this group's post waits (the spread).
    pub delay_secs: u64,
}

impl Job {
    pub fn parse(job: &str) -> Option<Self> {
        let rest = job.strip_prefix("schedule:")?;
        let (id, delay) = match rest.split_once('+') {
            Some((id, delay)) => (id, delay.parse().ok()?),
            None => (rest, 0),
        };
        Some(Self { schedule: ScheduleId(id.parse().ok()?), delay_secs: delay })
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.delay_secs {
            0 => write!(f, "schedule:{}", self.schedule),
            delay => write!(f, "schedule:{}+{delay}", self.schedule),
        }
    }
}

/// What operators ask through an `OperatorCommand` event (its `command` is this as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Set the group announcement (群公告) now. The text may use the post placeholders.
    SetAnnouncement { text: String },
}

impl Command {
    pub fn parse(command: &str) -> Option<Self> {
        serde_json::from_str(command).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// # Errors
/// When the schedule cannot be read.
pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    match &cx.event.kind {
        EventKind::Tick { job } => match Job::parse(job) {
            Some(job) => scheduled(cx, job).await,
            None => Ok(Verdict::none()),
        },
        EventKind::OperatorCommand { operator, command } => Ok(match Command::parse(command) {
            Some(Command::SetAnnouncement { text }) => announce(cx, operator, &text),
            None => Verdict::none(),
        }),
        _ => Ok(Verdict::none()),
    }
}

async fn scheduled(cx: &RuleContext<'_>, job: Job) -> Result<Verdict, RuleError> {
    // Read now, not when the run was found due: a schedule deleted or paused since posts
    // nothing more.
    let Some(schedule) = cx.store.get_schedule(job.schedule).await? else {
        return Ok(Verdict::none());
    };
    if schedule.paused {
        return Ok(Verdict::none());
    }
    let tz = schedule.def.timezone.as_deref().and_then(|t| t.parse::<Tz>().ok()).unwrap_or_else(|| cx.settings.timezone());
    let run = cx.event.time;
    let segments = render(&schedule.def.post.text, cx.group_name(), run, tz, cx.locale);
    let kind = match schedule.def.post.kind {
        PostKind::Message => ActionKind::Send { segments },
        PostKind::Announcement => ActionKind::SetAnnouncement { text: plain(&segments) },
    };
    let late = (cx.now - run).num_seconds() > LATE_AFTER_SECS;
    let not_before = (job.delay_secs > 0).then(|| run.max(cx.now) + Duration::seconds(i64::try_from(job.delay_secs).unwrap_or(i64::MAX / 2)));
    Ok(Verdict {
        proposals: vec![Proposal { kind, explanation: explanation(&schedule, run, tz, late, cx.locale), not_before, target: None }],
        ..Verdict::default()
    })
}

fn announce(cx: &RuleContext<'_>, operator: &str, text: &str) -> Verdict {
    let segments = render(text, cx.group_name(), cx.event.time, cx.settings.timezone(), cx.locale);
    let explanation = match cx.locale {
        Locale::ZhCn => format!("{operator} 设置群公告"),
        Locale::En => format!("{operator} set the announcement"),
    };
    Verdict::propose(ActionKind::SetAnnouncement { text: plain(&segments) }, explanation)
}

fn explanation(schedule: &Schedule, run: DateTime<Utc>, tz: Tz, late: bool, locale: Locale) -> String {
    let local = run.with_timezone(&tz).format("%Y-%m-%d %H:%M");
    let what = match schedule.def.post.kind {
        PostKind::Message => locale.pick("定时消息", "scheduled post"),
        PostKind::Announcement => locale.pick("定时群公告", "scheduled announcement"),
    };
    match (locale, late) {
        (Locale::ZhCn, false) => format!("{what}：定时任务 #{}「{}」，{local}（{tz}）", schedule.id, schedule.def.name),
        (Locale::ZhCn, true) => format!("{what}：定时任务 #{}「{}」，原定 {local}（{tz}），停机后补发一次", schedule.id, schedule.def.name),
        (Locale::En, false) => format!("{what}: schedule #{} “{}”, {local} ({tz})", schedule.id, schedule.def.name),
        (Locale::En, true) => format!("{what}: schedule #{} “{}”, due {local} ({tz}), caught up once after downtime", schedule.id, schedule.def.name),
    }
}

/// Renders a post for one group at one run: `{group}`, `{date}`, `{weekday}` and
/// `{holiday}` from the run's local date in `tz`.
pub fn render(text: &str, group: &str, run: DateTime<Utc>, tz: Tz, locale: Locale) -> Vec<Segment> {
    let local = run.with_timezone(&tz);
    let day = local.date_naive();
    template_text::render(text, PLACEHOLDERS, |name| {
        let value = match name {
            "group" => group.to_owned(),
            "date" => match locale {
                Locale::ZhCn => format!("{}年{}月{}日", day.year(), day.month(), day.day()),
                Locale::En => day.format("%Y-%m-%d").to_string(),
            },
            "weekday" => weekday(day.weekday(), locale).to_owned(),
            "holiday" => holidays::on(day).map(|h| locale.pick(h.zh, h.en)).collect::<Vec<_>>().join(locale.pick("、", ", ")),
            _ => String::new(),
        };
        vec![Segment::text(value)]
    })
}

fn weekday(day: Weekday, locale: Locale) -> &'static str {
    let (zh, en) = match day {
        Weekday::Mon => ("星期一", "Monday"),
        Weekday::Tue => ("星期二", "Tuesday"),
        Weekday::Wed => ("星期三", "Wednesday"),
        Weekday::Thu => ("星期四", "Thursday"),
        Weekday::Fri => ("星期五", "Friday"),
        Weekday::Sat => ("星期六", "Saturday"),
        Weekday::Sun => ("星期日", "Sunday"),
    };
    locale.pick(zh, en)
}

fn plain(segments: &[Segment]) -> String {
    qunzhu_core::Message { id: "".into(), segments: segments.to_vec() }.plain_text()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn jobs_round_trip_through_their_text() {
        let plain = Job { schedule: ScheduleId(7), delay_secs: 0 };
        let spread = Job { schedule: ScheduleId(7), delay_secs: 180 };
        assert_eq!(plain.to_string(), "schedule:7");
        assert_eq!(spread.to_string(), "schedule:7+180");
        assert_eq!(Job::parse("schedule:7"), Some(plain));
        assert_eq!(Job::parse("schedule:7+180"), Some(spread));
        assert_eq!(Job::parse("lottery:7"), None);
        assert_eq!(Job::parse("schedule:x"), None);
    }

    #[test]
    fn placeholders_take_the_runs_local_date_weekday_and_holiday() {
        // 2026-02-16 16:00 UTC is midnight of 春节 (Tuesday 2026-02-17) in Shanghai.
        let run = Utc.with_ymd_and_hms(2026, 2, 16, 16, 0, 0).unwrap();
        let zh = render("{group}：{date} {weekday}，{holiday}快乐！", "粉丝1群", run, chrono_tz::Asia::Shanghai, Locale::ZhCn);
        assert_eq!(zh, vec![Segment::text("粉丝1群：2026年2月17日 星期二，春节快乐！")]);
        let en = render("{date} {weekday} {holiday}", "g", run, chrono_tz::Asia::Shanghai, Locale::En);
        assert_eq!(en, vec![Segment::text("2026-02-17 Tuesday Spring Festival")]);
        let new_york = render("{date}", "g", run, chrono_tz::America::New_York, Locale::En);
        assert_eq!(new_york, vec![Segment::text("2026-02-16")]);
    }

    #[test]
    fn commands_are_json_with_a_type() {
        let command = Command::SetAnnouncement { text: "本周六停课".into() };
        assert_eq!(command.to_json(), r#"{"type":"set_announcement","text":"本周六停课"}"#);
        assert_eq!(Command::parse(&command.to_json()), Some(command));
        assert_eq!(Command::parse("ban everyone"), None);
    }
}
